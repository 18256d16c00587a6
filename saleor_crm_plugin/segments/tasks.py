"""Celery tasks of the segments: thin wrappers around the services."""

from celery import shared_task
from django.db import OperationalError

from ..host import get_host
from .services import recompute_rfm


@shared_task(
    name="saleor_crm.recompute_rfm",
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_kwargs={"max_retries": 5},
)
def recompute_rfm_task() -> dict:
    """Rescore every customer (idempotent: unchanged scores are not written)."""
    host = get_host()
    with host.database_access():
        report = recompute_rfm(host.config().zone)
    return {"scored": report.scored, "written": report.written, "removed": report.removed}

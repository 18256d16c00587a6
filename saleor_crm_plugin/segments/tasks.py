"""Celery tasks of the segments: thin wrappers around the services."""

from celery import shared_task
from django.db import OperationalError

from ..customers.metadata import sync_customer_metadata
from ..host import get_host
from .rule_services import evaluate_all
from .services import recompute_rfm

METADATA_BATCH = 500


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
        changed = report.changed_profiles
        metadata_written = sum(
            sync_customer_metadata(host, changed[start : start + METADATA_BATCH])
            for start in range(0, len(changed), METADATA_BATCH)
        )
    return {
        "scored": report.scored,
        "written": report.written,
        "removed": report.removed,
        "metadata_written": metadata_written,
    }


@shared_task(
    name="saleor_crm.evaluate_segments",
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_kwargs={"max_retries": 5},
)
def evaluate_segments_task() -> dict:
    """Recount the built-in and every saved rule segment, recording their sizes."""
    host = get_host()
    with host.database_access():
        return evaluate_all(host.config())

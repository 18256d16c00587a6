"""Celery tasks of the customers: thin wrappers around the services."""

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..task_options import RETRY
from .duplicate_search import find_duplicates


@shared_task(name="saleor_crm.find_duplicates", **RETRY)
def find_duplicates_task() -> dict:
    """Find the duplicate candidate pairs and replace the stored list (idempotent: a second
    run over the same customers stores the same pairs)."""
    host = get_host()
    with host.database_access():
        return find_duplicates(host, host.config(), timezone.now()).as_dict()

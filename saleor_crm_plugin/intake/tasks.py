"""Celery tasks of the intake: the drain and the sweep on beat, and the per-event tasks of
earlier versions, kept so that tasks they queued before an upgrade are still recorded.

Arguments are ids and strings only; every task is idempotent.
"""

import logging
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..task_options import RETRY
from .drain import drain
from .pipeline import Changes, apply
from .sweep import sweep

logger = logging.getLogger(__name__)


@shared_task(name="saleor_crm.drain_changes")
def drain_changes_task() -> dict:
    """Record the changes waiting in the outbox, batch by batch (beat runs it every few
    seconds; several at once share the work). Not retried: the next run is seconds away."""
    host = get_host()
    with host.database_access():
        config = host.config()
        if not _recording(host, config):
            return {"skipped": "the plugin is off, or recording is"}
        return drain(host, config).as_dict()


@shared_task(name="saleor_crm.sweep_changes", **RETRY)
def sweep_changes_task() -> dict:
    """Queue the orders and customers the store changed that no hook reported."""
    host = get_host()
    with host.database_access():
        if not _recording(host, host.config()):
            # The watermark stays: switched on again, the sweep catches up what it missed.
            return {"skipped": "the plugin is off, or recording is"}
        return sweep(host, timezone.now()).as_dict()


def _recording(host, config) -> bool:
    """Events are recorded while the plugin is on and its 'Record orders and customers' is."""
    return config.ingestion_enabled and host.plugin_active()


def _apply(changes: Changes) -> dict:
    host = get_host()
    with host.database_access():
        return apply(host, host.config(), changes, timezone.now()).as_dict()


# --- the tasks hooks of earlier versions queued (one per event) ------------------------


@shared_task(name="saleor_crm.ingest_orders", **RETRY)
def ingest_orders_task(order_ids: list[str]) -> dict:
    """Record the current state of these orders, and what follows (the pipeline)."""
    return _apply(Changes(orders=[str(order_id) for order_id in order_ids]))


@shared_task(name="saleor_crm.ingest_customer", **RETRY)
def ingest_customer_task(user_id: str) -> dict:
    """Record the current state of a registered customer (and adopt their guest orders)."""
    return _apply(Changes(customers=[str(user_id)]))


@shared_task(name="saleor_crm.erase_customer", **RETRY)
def erase_customer_task(user_id: str, deleted_at: str) -> dict:
    """Remove a deleted customer's personal data from the ledger; keep anonymous aggregates."""
    return _apply(Changes(deletions=[(str(user_id), datetime.fromisoformat(deleted_at))]))

"""Celery tasks of the customer ledger: thin wrappers that read from the host and ingest.

Arguments are ids and strings only. Each task is idempotent: it reads the current state
from the store, and ingestion keeps the newest state it has seen.
"""

import logging
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..loyalty.orders import settle_loyalty
from ..segments.services import rescore_profiles
from ..subscriptions.orders import start_subscriptions
from ..task_options import RETRY
from .ingest import IngestResult, ingest_customers, ingest_orders
from .metadata import sync_customer_metadata
from .snapshots import CustomerSnapshot

logger = logging.getLogger(__name__)


def _summary(result: IngestResult, metadata_written: int) -> dict:
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "metadata_written": metadata_written,
    }


@shared_task(name="saleor_crm.ingest_orders", **RETRY)
def ingest_orders_task(order_ids: list[str]) -> dict:
    """Record the current state of these orders in the ledger."""
    host = get_host()
    with host.database_access():
        snapshots = []
        for order_id in order_ids:
            snapshot = host.order_snapshot(str(order_id))
            if snapshot is None:
                logger.info("CRM: order %s is not in the store any more; not recorded", order_id)
                continue
            snapshots.append(snapshot)
        result = ingest_orders(snapshots)
        config = host.config()
        rescore_profiles(result.profile_ids, config.zone, segments=config.segment_map)
        loyalty = settle_loyalty(
            config,
            host,
            result.profile_ids,
            timezone.now(),
            order_ids=[snapshot.order_id for snapshot in snapshots],
        )
        started = start_subscriptions(host, config, snapshots, timezone.now())
        summary = _summary(result, sync_customer_metadata(host, result.profile_ids))
        return {
            **summary,
            "points_entries": loyalty.entries,
            "rank_changes": loyalty.rank_changes,
            "subscriptions_started": started,
        }


@shared_task(name="saleor_crm.ingest_customer", **RETRY)
def ingest_customer_task(user_id: str) -> dict:
    """Record the current state of a registered customer (and adopt their guest orders)."""
    host = get_host()
    with host.database_access():
        snapshot = host.customer_snapshot(str(user_id))
        if snapshot is None:
            logger.info("CRM: user %s is not a customer (gone, or staff); not recorded", user_id)
            return _summary(IngestResult(), 0)
        result = ingest_customers([snapshot])
        # Guest orders the customer adopted by registering earn now.
        settle_loyalty(host.config(), host, result.profile_ids, timezone.now())
        return _summary(result, sync_customer_metadata(host, result.profile_ids))


@shared_task(name="saleor_crm.erase_customer", **RETRY)
def erase_customer_task(user_id: str, deleted_at: str) -> dict:
    """Remove a deleted customer's personal data from the ledger; keep anonymous aggregates."""
    snapshot = CustomerSnapshot(
        user_id=str(user_id), updated_at=datetime.fromisoformat(deleted_at), deleted=True
    )
    with get_host().database_access():
        result = ingest_customers([snapshot])
    return _summary(result, 0)

"""Backfill: load a store's existing customers and orders into the ledger.

Batched and resumable: each batch is ingested and its cursor saved in one transaction, so an
interrupted run resumes after the last saved batch. A finished run starts over next time and,
through idempotent ingestion, changes nothing that is already current.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ..customers.ingest import IngestResult, ingest_customers, ingest_orders
from ..customers.models import BackfillCheckpoint
from ..host import Host
from ..metadata import sync_all_customer_metadata
from ..segments.services import recompute_rfm

logger = logging.getLogger(__name__)

__all__ = ["BackfillReport", "run_backfill"]

Progress = Callable[[str, int, int | None], None]


@dataclass
class BackfillReport:
    customers: IngestResult = field(default_factory=IngestResult)
    orders: IngestResult = field(default_factory=IngestResult)
    # (kind, store id, reason) of records that could not be read as snapshots.
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    resumed: bool = False
    # Customers scored by the RFM recompute that follows the load.
    scored: int = 0
    # Customers whose `crm.*` private metadata in the store was (re)written.
    metadata_written: int = 0


def _checkpoint(name: str, restart: bool) -> tuple[BackfillCheckpoint, bool]:
    checkpoint, _ = BackfillCheckpoint.objects.get_or_create(name=name)
    resumed = bool(checkpoint.cursor) and checkpoint.finished_at is None and not restart
    if not resumed:
        checkpoint.cursor = ""
        checkpoint.processed = 0
        checkpoint.finished_at = None
        checkpoint.save()
    return checkpoint, resumed


def _run(name, batches, ingest, report, restart, progress, total) -> bool:
    result = getattr(report, name)
    checkpoint, resumed = _checkpoint(name, restart)
    for batch in batches(checkpoint.cursor):
        for store_id, reason in batch.skipped:
            logger.warning("CRM backfill: %s %s skipped: %s", name, store_id, reason)
            report.skipped.append((name, store_id, reason))
        with transaction.atomic():
            result += ingest(batch.snapshots)
            checkpoint.cursor = batch.cursor
            checkpoint.processed += len(batch.snapshots) + len(batch.skipped)
            checkpoint.save(update_fields=["cursor", "processed", "updated_at"])
        if progress:
            progress(name, checkpoint.processed, total)
    checkpoint.finished_at = timezone.now()
    checkpoint.save(update_fields=["finished_at", "updated_at"])
    return resumed


def run_backfill(
    host: Host, batch_size: int = 500, restart: bool = False, progress: Progress | None = None
) -> BackfillReport:
    """Ingest every registered customer, then every order; score everyone (RFM), so that a
    store's segments show at once rather than after the next hourly recompute; then write the
    `crm.*` metadata."""
    if batch_size < 1:
        raise ValueError(f"batch_size: must be at least 1, not {batch_size}")
    report = BackfillReport()
    resumed_customers = _run(
        "customers",
        lambda cursor: host.customer_batches(cursor, batch_size),
        ingest_customers,
        report,
        restart,
        progress,
        None,
    )
    resumed_orders = _run(
        "orders",
        lambda cursor: host.order_batches(cursor, batch_size),
        ingest_orders,
        report,
        restart,
        progress,
        host.order_count(),
    )
    report.resumed = resumed_customers or resumed_orders
    config = host.config()
    report.scored = recompute_rfm(config.zone, segments=config.segment_map).scored
    report.metadata_written = sync_all_customer_metadata(host, batch_size)
    return report

"""Backfill: load a store's existing customers and orders into the ledger.

Three stages, each batched and checkpointed: the customers and the orders (each order written to
the profile of its user or guest email), both unsettled, then every profile settled once (the ownership rule
and the figures, `settle_profiles`). Settling once at the end is the same as settling after
each batch (the rule derives everything from the stored rows) and saves reading each busy
profile's orders once per batch that touches it.

Resumable: each batch is written and its cursor saved in one transaction, so an interrupted
run resumes after the last saved batch of the stage it was in, skipping the stages it
finished. A finished run starts over next time and, through idempotent ingestion, changes
nothing that is already current.
"""

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import Max, Min
from django.utils import timezone

from ..customers.ingest import IngestResult, ingest_customers, ingest_orders, settle_profiles
from ..customers.models import BackfillCheckpoint, CustomerProfile
from ..host import Host
from ..host.protocol import split_keys
from ..metadata import sync_all_customer_metadata
from ..segments.services import score_recompute_chunk, start_recompute
from ..task_options import chunk_size

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
    # Wall time of each stage this run, in seconds ("customers", "orders", "profiles",
    # "scoring", "metadata").
    seconds: dict[str, float] = field(default_factory=dict)


STAGES = ("customers", "orders", "profiles")
# Profiles settled per transaction in the last stage.
SETTLE_BATCH = 2000
# How often the parent of worker processes reports their progress, in seconds.
PROGRESS_INTERVAL = 2.0


def _checkpoints(restart: bool) -> tuple[dict[str, BackfillCheckpoint], bool]:
    """Return each stage's checkpoint and whether an interrupted run is resumed.

    A run is resumed when it started (a stage has a cursor or finished) and its last stage did
    not finish; otherwise every checkpoint starts over and the parts of an earlier run go.
    """
    checkpoints = {name: BackfillCheckpoint.objects.get_or_create(name=name)[0] for name in STAGES}
    parts = BackfillCheckpoint.objects.filter(name__regex=rf"^({'|'.join(STAGES)})\.")
    started = parts.exists() or any(c.cursor or c.finished_at for c in checkpoints.values())
    resumed = started and checkpoints[STAGES[-1]].finished_at is None and not restart
    if not resumed:
        parts.delete()
        for checkpoint in checkpoints.values():
            checkpoint.cursor = ""
            checkpoint.processed = 0
            checkpoint.finished_at = None
            checkpoint.save()
    return checkpoints, resumed


def _run(checkpoint, batches, ingest, result, report, progress, total) -> None:
    if checkpoint.finished_at is not None:
        return
    for batch in batches(checkpoint.cursor):
        for store_id, reason in batch.skipped:
            logger.warning("CRM backfill: %s %s skipped: %s", checkpoint.name, store_id, reason)
            report.skipped.append((checkpoint.name, store_id, reason))
        with transaction.atomic():
            result += ingest(batch.snapshots)
            checkpoint.cursor = batch.cursor
            checkpoint.processed += len(batch.snapshots) + len(batch.skipped)
            checkpoint.save(update_fields=["cursor", "processed", "updated_at"])
        if progress:
            progress(checkpoint.name, checkpoint.processed, total)
    checkpoint.finished_at = timezone.now()
    checkpoint.save(update_fields=["finished_at", "updated_at"])


def _settle(checkpoint, progress, total) -> None:
    if checkpoint.finished_at is not None:
        return
    until = int(checkpoint.until) if checkpoint.until else None
    while settled := settle_profiles(int(checkpoint.cursor or 0), SETTLE_BATCH, until):
        # Saved after its batch committed: a crash in between settles that batch again.
        checkpoint.cursor = str(settled[-1])
        checkpoint.processed += len(settled)
        checkpoint.save(update_fields=["cursor", "processed", "updated_at"])
        if progress:
            progress(checkpoint.name, checkpoint.processed, total)
    checkpoint.finished_at = timezone.now()
    checkpoint.save(update_fields=["finished_at", "updated_at"])


# The host of the run, for its worker processes (forked: they find it in their copy of memory).
_host: Host | None = None


def _ingest(checkpoint, batch_size: int, report, progress, total) -> None:
    """Run the customers or orders stage (or one part of it: up to its `until`)."""
    stage = checkpoint.name.partition(".")[0]
    if stage == "customers":
        batches, ingest = _host.customer_batches, ingest_customers
    else:
        batches, ingest = _host.order_batches, ingest_orders
    _run(
        checkpoint,
        lambda cursor: batches(cursor, batch_size, checkpoint.until),
        lambda snapshots: ingest(snapshots, settle=False),
        getattr(report, stage),
        report,
        progress,
        total,
    )


def _ingest_part(name: str, batch_size: int) -> tuple[IngestResult, list]:
    """Backfill one part of the customers or orders (in a worker process); return its counts
    and skips."""
    report = BackfillReport()
    with _host.database_access():
        _ingest(BackfillCheckpoint.objects.get(name=name), batch_size, report, None, None)
    return getattr(report, name.partition(".")[0]), report.skipped


def _profiles_part(name: str, batch_size: int) -> tuple[IngestResult, list]:
    """Settle one part of the profiles (in a worker process)."""
    with _host.database_access():
        _settle(BackfillCheckpoint.objects.get(name=name), None, None)
    return IngestResult(), []


def _parts(stage: str, bounds: Callable[[], list[tuple[str, str]]]) -> list[BackfillCheckpoint]:
    """Return the stage's unfinished parts, made from `bounds` the first time."""
    parts = BackfillCheckpoint.objects.filter(name__startswith=f"{stage}.").order_by("name")
    if not parts.exists():
        BackfillCheckpoint.objects.bulk_create(
            BackfillCheckpoint(name=f"{stage}.{index:03d}", cursor=start, until=end)
            for index, (start, end) in enumerate(bounds(), start=1)
        )
    return list(parts.filter(finished_at__isnull=True))


def _forked(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes forked from this one (they find `_host` in memory).

    The children open their own connections: none may be shared across the fork, so every
    connection is closed here, and the caller runs no query between this and its first
    submit (the query would open one again, for the children to inherit).
    """
    connections.close_all()
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def _in_processes(stage, bounds, work, workers, batch_size, report, progress, total):
    """Run a stage as parts in `workers` processes; report their progress; sum their counts."""
    checkpoint = BackfillCheckpoint.objects.get(name=stage)
    if checkpoint.finished_at is not None:
        return
    names = [part.name for part in _parts(stage, bounds)]
    result = getattr(report, stage, IngestResult())
    all_parts = BackfillCheckpoint.objects.filter(name__startswith=f"{stage}.")
    with _forked(workers) as pool:
        pending = {pool.submit(work, name, batch_size) for name in names}
        while pending:
            done, pending = wait(pending, timeout=PROGRESS_INTERVAL)
            for future in done:
                counts, skipped = future.result()
                result += counts
                report.skipped += skipped
            if progress:
                progress(stage, sum(all_parts.values_list("processed", flat=True)), total)
    checkpoint.processed = sum(all_parts.values_list("processed", flat=True))
    checkpoint.finished_at = timezone.now()
    checkpoint.save(update_fields=["processed", "finished_at", "updated_at"])


def _metadata_part(bounds: tuple[str, str], batch_size: int) -> int:
    """Write the summaries of one part of the customers (in a worker process)."""
    after, until = bounds
    with _host.database_access():
        return sync_all_customer_metadata(_host, batch_size, int(after or 0), int(until))


def _metadata_in_processes(workers: int, batch_size: int) -> int:
    """Write every registered customer's summary in `workers` processes, a part of the ids each
    (no checkpoint: a rerun writes only what differs)."""
    parts = _profile_bounds(workers)
    with _forked(workers) as pool:
        return sum(pool.map(_metadata_part, parts, [batch_size] * len(parts)))


def _score_chunk(chunk_id: int) -> int:
    """Score one chunk of the recompute (in a worker process)."""
    with _host.database_access():
        config = _host.config()
        return score_recompute_chunk(chunk_id, config.zone, config.segment_map).scored


def _score_everyone(workers: int) -> int:
    """Score every customer (RFM) as the hourly recompute's Celery tasks do: fit once, then
    score chunks of profile ids, here or in `workers` processes; return how many were scored.

    Chunked, so no process holds every customer's scores at once (about 1 GB at 1M customers
    in one `recompute_rfm`). The backfill writes the metadata itself afterwards.
    """
    config = _host.config()
    run = start_recompute(config.zone, chunk_size(), bins=config.rfm_bins)
    chunk_ids = list(run.chunk_set.order_by("low").values_list("pk", flat=True))
    if workers == 1:
        for chunk_id in chunk_ids:
            _score_chunk(chunk_id)
        return run.scored
    with _forked(workers) as pool:
        list(pool.map(_score_chunk, chunk_ids))
    return run.scored


def _profile_bounds(parts: int) -> list[tuple[str, str]]:
    bounds = CustomerProfile.objects.aggregate(low=Min("pk"), high=Max("pk"))
    return split_keys(bounds["low"], bounds["high"], parts)


def run_backfill(
    host: Host,
    batch_size: int = 500,
    restart: bool = False,
    progress: Progress | None = None,
    workers: int = 1,
) -> BackfillReport:
    """Ingest every registered customer, then every order, then settle every profile; score
    everyone (RFM), so that a store's segments show at once rather than after the next hourly
    recompute; then write the `crm.*` metadata.

    With `workers` above 1 each stage runs in that many processes (forked from this one), each
    over its own part of the keys with its own checkpoint.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be at least 1, not {batch_size}")
    if workers < 1:
        raise ValueError(f"workers: must be at least 1, not {workers}")
    global _host
    _host = host
    report = BackfillReport()
    checkpoints, report.resumed = _checkpoints(restart)
    started = time.monotonic()

    def timed(stage: str) -> None:
        nonlocal started
        now = time.monotonic()
        report.seconds[stage] = now - started
        started = now

    for stage, parts, total in (
        ("customers", host.customer_parts, None),
        ("orders", host.order_parts, host.order_count()),
    ):
        if workers == 1:
            _ingest(checkpoints[stage], batch_size, report, progress, total)
        else:
            _in_processes(
                stage,
                lambda parts=parts: parts(workers),
                _ingest_part,
                workers,
                batch_size,
                report,
                progress,
                total,
            )
        timed(stage)
    total = CustomerProfile.objects.count()
    if workers == 1:
        _settle(checkpoints["profiles"], progress, total)
    else:
        _in_processes(
            "profiles",
            lambda: _profile_bounds(workers),
            _profiles_part,
            workers,
            SETTLE_BATCH,
            report,
            progress,
            total,
        )
    timed("profiles")
    report.scored = _score_everyone(workers)
    timed("scoring")
    if workers == 1:
        report.metadata_written = sync_all_customer_metadata(host, batch_size)
    else:
        report.metadata_written = _metadata_in_processes(workers, batch_size)
    timed("metadata")
    return report

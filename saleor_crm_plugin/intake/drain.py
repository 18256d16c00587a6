"""The drain: claim waiting changes in batches and run the pipeline on each batch.

Safe on several workers at once (claims skip rows another drain holds). A crash anywhere
leaves the claimed rows to come back when their lease ends; a batch that raises is split,
each change tried alone, and only the ones that fail again wait for a backoff, so one bad
order never holds the others up.
"""

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..conf import CRMConfig
from ..host import Host
from . import outbox
from .models import PendingChange
from .pipeline import Changes, PipelineReport, apply

logger = logging.getLogger(__name__)

__all__ = ["DrainReport", "drain", "drain_settings"]


@dataclass(frozen=True)
class DrainSettings:
    batch_size: int
    lease: timedelta
    budget: float  # seconds one drain run works before it leaves the rest to the next


def drain_settings() -> DrainSettings:
    """The drain's Django settings: CRM_DRAIN_BATCH_SIZE (100), CRM_DRAIN_LEASE_SECONDS (120),
    CRM_DRAIN_BUDGET_SECONDS (25)."""
    return DrainSettings(
        batch_size=int(getattr(settings, "CRM_DRAIN_BATCH_SIZE", 100)),
        lease=timedelta(seconds=int(getattr(settings, "CRM_DRAIN_LEASE_SECONDS", 120))),
        budget=float(getattr(settings, "CRM_DRAIN_BUDGET_SECONDS", 25)),
    )


@dataclass
class DrainReport:
    batches: int = 0
    changes: int = 0
    failed: int = 0
    # Rows a hook touched while they were being drained: left for another round.
    again: int = 0
    orders: int = 0
    customers: int = 0
    points_entries: int = 0
    metadata_written: int = 0

    def add(self, result: PipelineReport) -> None:
        self.orders += result.orders.created + result.orders.updated
        self.customers += result.customers.created + result.customers.updated
        self.points_entries += result.points_entries
        self.metadata_written += result.metadata_written

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _changes(rows: list[outbox.Claimed]) -> Changes:
    changes = Changes()
    for row in rows:
        if row.kind == PendingChange.ORDER:
            changes.orders.append(row.object_id)
        elif row.kind == PendingChange.CUSTOMER:
            changes.customers.append(row.object_id)
        else:
            changes.deletions.append((row.object_id, row.noticed_at))
    return changes


def _run(host, config, token, rows, report: DrainReport) -> None:
    """Apply a batch; when it raises, apply each change alone and give back those that fail."""
    try:
        report.add(apply(host, config, _changes(rows), timezone.now()))
    except Exception:
        if len(rows) == 1:
            logger.exception("CRM: recording %s %s failed", rows[0].kind, rows[0].object_id)
            outbox.fail(token, rows[0], _error_text())
            report.failed += 1
            return
        logger.warning("CRM: a batch of %d changes failed; trying each alone", len(rows))
        for row in rows:
            _run(host, config, token, [row], report)
        return
    deleted = outbox.finish(token, rows)
    report.again += len(rows) - deleted


def _error_text() -> str:
    return traceback.format_exc(limit=5)


def drain(host: Host, config: CRMConfig, options: DrainSettings | None = None) -> DrainReport:
    """Record waiting changes batch by batch until none wait or the time budget is spent."""
    options = options or drain_settings()
    report = DrainReport()
    deadline = time.monotonic() + options.budget
    while time.monotonic() < deadline:
        token, rows = outbox.claim(options.batch_size, options.lease, timezone.now())
        if not rows:
            break
        report.batches += 1
        report.changes += len(rows)
        _run(host, config, token, rows, report)
    return report

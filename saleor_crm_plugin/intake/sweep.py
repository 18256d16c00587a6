"""The catch-up sweep: find what the store changed and no hook reported, and queue it.

An event can be lost before it reaches the outbox (a process killed between Saleor's commit
and our insert, a path in Saleor that fires no hook). Every sweep reads the orders and
customers whose `updated_at` is past the last sweep's watermark (less an overlap, for
transactions that committed late), keeps those the ledger has not seen in that state, and
records them as changes for the drain. On a store with no changes it costs one indexed query
per kind (orders, customers).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from ..customers.models import BackfillCheckpoint, CustomerProfile, OrderRecord
from ..host import Host
from .models import PendingChange
from .outbox import record_changes

__all__ = ["SweepReport", "sweep"]

CHECKPOINT = "sweep"
PAGE = 1000


def overlap() -> timedelta:
    """How far before the watermark a sweep reads again: CRM_SWEEP_OVERLAP_SECONDS (600)."""
    return timedelta(seconds=int(getattr(settings, "CRM_SWEEP_OVERLAP_SECONDS", 600)))


@dataclass
class SweepReport:
    since: datetime
    orders_read: int = 0
    orders_queued: int = 0
    customers_read: int = 0
    customers_queued: int = 0

    def as_dict(self) -> dict:
        return {**self.__dict__, "since": self.since.isoformat()}


def _unseen_orders(page: list[tuple[datetime, str]]) -> list[str]:
    seen = dict(
        OrderRecord.objects.filter(order_id__in=[i for _, i in page]).values_list(
            "order_id", "source_updated_at"
        )
    )
    return [i for at, i in page if seen.get(i) is None or seen[i] < at]


def _unseen_customers(page: list[tuple[datetime, str]]) -> list[str]:
    seen = {
        user_id: (updated_at, anonymized_at)
        for user_id, updated_at, anonymized_at in CustomerProfile.objects.filter(
            user_id__in=[i for _, i in page]
        ).values_list("user_id", "source_updated_at", "anonymized_at")
    }
    unseen = []
    for at, user_id in page:
        updated_at, anonymized_at = seen.get(user_id, (None, None))
        if anonymized_at is None and (updated_at is None or updated_at < at):
            unseen.append(user_id)
    return unseen


def _queue(host: Host, kind: str, unseen, since: datetime) -> tuple[int, int]:
    """Queue the unseen objects of one kind changed since `since`: (read, queued)."""
    read = queued = 0
    after = None
    while True:
        page = host.changed_since(kind, since, after, PAGE)
        unseen_ids = unseen(page)
        record_changes(kind, unseen_ids)
        read, queued = read + len(page), queued + len(unseen_ids)
        if len(page) < PAGE:
            return read, queued
        since, after = page[-1]


def sweep(host: Host, now: datetime) -> SweepReport:
    """Queue the store's changes since the last sweep that the ledger has not recorded."""
    checkpoint, _ = BackfillCheckpoint.objects.get_or_create(name=CHECKPOINT)
    mark = datetime.fromisoformat(checkpoint.cursor) if checkpoint.cursor else now
    report = SweepReport(since=mark - overlap())
    report.orders_read, report.orders_queued = _queue(
        host, PendingChange.ORDER, _unseen_orders, report.since
    )
    report.customers_read, report.customers_queued = _queue(
        host, PendingChange.CUSTOMER, _unseen_customers, report.since
    )
    checkpoint.cursor = now.isoformat()
    checkpoint.processed += report.orders_queued + report.customers_queued
    checkpoint.finished_at = now
    checkpoint.save(update_fields=["cursor", "processed", "finished_at", "updated_at"])
    return report

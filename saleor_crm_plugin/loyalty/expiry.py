"""The daily expiry of points, set by set: each run writes one `expire:<lot key>` entry per lot.

Two models (the store's setting `points-expiry`):
- after earning: a lot expires on its own `expires_at` (it cannot be spent from then on);
- without activity: every lot of an account whose last earning or spending is older than N
  months.

An expiry entry is written at the run's time, so it always comes after everything the account
has applied, and it does what `lots.Ledger` does with one: empty what the lot has left. So the
run needs no replay: per range of account ids it locks the accounts with due lots, inserts the
entries, empties the lots and moves the accounts' totals, in a handful of statements.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Min, Q

from ..conf import CRMConfig
from .config import ExpiryKind
from .lots import Kind
from .models import PointsAccount, PointsEntry, PointsLot
from .ranks import add_months

__all__ = ["ExpiryReport", "expire_points"]

BATCH = 2_000


@dataclass
class ExpiryReport:
    accounts: int = 0
    lots: int = 0
    points: int = 0
    profile_ids: list[int] | None = None


def _due(config: CRMConfig, now: datetime) -> Q | None:
    """Which lots (with points left) are due, as a filter on `PointsLot`; None: none ever."""
    expiry = config.loyalty.expiry
    if expiry.kind is ExpiryKind.LOT:
        return Q(expires_at__lte=now)
    if expiry.kind is ExpiryKind.INACTIVITY:
        return Q(account__last_activity_at__lt=add_months(now, -expiry.months))
    return None


def _expire_batch(low: int, high: int, due: Q, now: datetime, report: ExpiryReport) -> None:
    """Expire the due lots of the accounts with ids in [low, high)."""
    in_range = {"account_id__gte": low, "account_id__lt": high}
    with transaction.atomic():
        lots = list(
            PointsLot.objects.filter(due, remaining__gt=0, **in_range)
            .order_by("account_id", "earned_at", "key")
            .values_list("pk", "account_id", "key", "remaining")
        )
        if not lots:
            return
        accounts = {
            account.pk: account
            for account in PointsAccount.objects.select_for_update()
            .filter(pk__in={account_id for _pk, account_id, *_ in lots})
            .order_by("pk")
        }
        # Read again under the locks: a writer may have spent from them meanwhile.
        lots = list(
            PointsLot.objects.filter(due, remaining__gt=0, account_id__in=list(accounts))
            .order_by("account_id", "earned_at", "key")
            .values_list("pk", "account_id", "key", "remaining")
        )
        # An account with entries after `now` (written by a clock ahead of ours) is left to
        # the next run: its expiry entries would not come last.
        late = {
            pk
            for pk, account in accounts.items()
            if account.applied_at and account.applied_at > now
        }
        lots = [lot for lot in lots if lot[1] not in late]
        if not lots:
            return
        PointsEntry.objects.bulk_create(
            [
                PointsEntry(
                    account_id=account_id,
                    key=f"expire:{key}",
                    kind=Kind.EXPIRE.value,
                    points=-remaining,
                    at=now,
                    lot=key,
                    reason="expired",
                )
                for _pk, account_id, key, remaining in lots
            ],
            batch_size=5_000,
        )
        PointsLot.objects.filter(pk__in=[pk for pk, *_ in lots]).update(remaining=0)
        taken: dict[int, int] = defaultdict(int)
        last_key: dict[int, str] = {}
        for _pk, account_id, key, remaining in lots:
            taken[account_id] += remaining
            last_key[account_id] = max(last_key.get(account_id, ""), f"expire:{key}")
        changed = []
        for account_id, points in taken.items():
            account = accounts[account_id]
            account.total -= points
            account.remaining -= points
            if account.applied_at is None or (now, last_key[account_id]) > (
                account.applied_at,
                account.applied_key,
            ):
                account.applied_at, account.applied_key = now, last_key[account_id]
            changed.append(account)
        PointsAccount.objects.bulk_update(
            changed, ["total", "remaining", "applied_at", "applied_key"], batch_size=5_000
        )
        report.accounts += len(changed)
        report.lots += len(lots)
        report.points += sum(taken.values())
        report.profile_ids.extend(account.profile_id for account in changed)


def expire_points(config: CRMConfig, now: datetime, batch: int = BATCH) -> ExpiryReport:
    """Expire every lot that is due at `now`; return what was expired (and whose)."""
    report = ExpiryReport(profile_ids=[])
    due = _due(config, now)
    if due is None or not config.loyalty.enabled:
        return report
    bounds = PointsAccount.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return report
    for low in range(bounds["low"], bounds["high"] + 1, batch):
        _expire_batch(low, low + batch, due, now, report)
    return report

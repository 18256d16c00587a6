"""The hourly expiry of points, set by set: each run writes one `expire:<lot key>` entry per lot.

Two models (the store's setting `points-expiry`):
- after earning: a lot expires on its own `expires_at` (it cannot be spent from then on);
- without activity: every free lot of an account whose last earning or spending is older than
  N months (`lots.lapses_with_inactivity`: paid points, bought with money, are kept).

A lot's own `expires_at` applies whatever its funding: paid points issued here have none, an
imported paid lot may carry the expiry its old system sold it with.

An expiry entry is written at the run's time, so it always comes after everything the account
has applied, and it does what `lots.Ledger` does with one: empty what the lot has left. So the
run needs no replay. Per range of account ids it locks the accounts with due lots, then three
statements do the rest inside the database: insert the entries, move the accounts' totals
(and their last applied entry), empty the lots.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q

from ..conf import CRMConfig
from ..dates import add_months
from .config import ExpiryKind
from .lots import FREE, Kind
from .models import PointsAccount, PointsEntry, PointsLot

__all__ = ["ExpiryReport", "expire_points"]

BATCH = 5_000

_ENTRIES, _LOTS, _ACCOUNTS = (
    PointsEntry._meta.db_table,
    PointsLot._meta.db_table,
    PointsAccount._meta.db_table,
)
# The due lots of the locked accounts: `{due}` is the model's condition on l (lot) and a
# (account); parameters: the run's time, then the ids.
_DUE = """
FROM {lots} l JOIN {accounts} a ON a.id = l.account_id
WHERE l.account_id IN ({ids}) AND l.remaining > 0 AND {due}
"""
_SUMMARY = (
    """
SELECT l.account_id, a.profile_id, count(*), sum(l.remaining), max('expire:' || l.key)
"""
    + _DUE
    + " GROUP BY l.account_id, a.profile_id"
)
_INSERT = (
    f"""
INSERT INTO {_ENTRIES} (account_id, key, kind, points, at, lot, available_at, expires_at, held,
    currency, order_id, reference, reason, actor, created_at)
SELECT l.account_id, 'expire:' || l.key, '{Kind.EXPIRE.value}', -l.remaining, %s, l.key, NULL,
    NULL, %s, '', '', '', 'expired', '', %s
"""
    + _DUE
)
_MOVE = (
    f"""
UPDATE {_ACCOUNTS} AS acc SET total = acc.total - s.taken, remaining = acc.remaining - s.taken,
    applied_key = CASE WHEN acc.applied_at = %s AND acc.applied_key > s.last_key
                       THEN acc.applied_key ELSE s.last_key END,
    applied_at = %s
FROM (SELECT l.account_id, sum(l.remaining) AS taken, max('expire:' || l.key) AS last_key
"""
    + _DUE
    + " GROUP BY l.account_id) AS s WHERE acc.id = s.account_id"
)
_EMPTY = f"UPDATE {_LOTS} SET remaining = 0 WHERE id IN (SELECT l.id " + _DUE + ")"


@dataclass
class ExpiryReport:
    accounts: int = 0
    lots: int = 0
    points: int = 0
    profile_ids: list[int] = field(default_factory=list)


def _due(config: CRMConfig, now: datetime) -> tuple[Q, str, list] | None:
    """Which lots are due: a filter on `PointsLot`, the same in SQL and its parameters."""
    expiry = config.loyalty.expiry
    if expiry.kind is ExpiryKind.LOT:
        return Q(expires_at__lte=now), "l.expires_at <= %s", [now]
    if expiry.kind is ExpiryKind.INACTIVITY:
        quiet_since = add_months(now, -expiry.months)
        # Only free lots (`lots.lapses_with_inactivity`): paid points are kept.
        return (
            Q(account__last_activity_at__lt=quiet_since, funding=FREE),
            "a.last_activity_at < %s AND l.funding = %s",
            [quiet_since, FREE],
        )
    return None


def _expire_range(low: int, high: int, due, now: datetime, report: ExpiryReport) -> None:
    """Expire the due lots of the accounts with ids in [low, high)."""
    condition, sql, params = due
    lots = PointsLot.objects.filter(condition, account=OuterRef("pk"), remaining__gt=0)
    with transaction.atomic():
        # Locked, then read: a writer may have spent from them until now. An account with
        # entries after `now` (a clock ahead of ours) waits for the next run, so that the
        # expiry entries come last.
        ids = list(
            PointsAccount.objects.select_for_update()
            .filter(Exists(lots), pk__gte=low, pk__lt=high)
            .filter(Q(applied_at__isnull=True) | Q(applied_at__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return
        places = ", ".join(["%s"] * len(ids))
        due_params = [*ids, *params]

        def statement(template: str) -> str:
            return template.format(lots=_LOTS, accounts=_ACCOUNTS, ids=places, due=sql)

        with connection.cursor() as cursor:
            cursor.execute(statement(_SUMMARY), due_params)
            summary = cursor.fetchall()
            cursor.execute(statement(_MOVE), [now, now, *due_params])
            cursor.execute(statement(_INSERT), [now, False, now, *due_params])
            cursor.execute(statement(_EMPTY), due_params)
        for _account_id, profile_id, count, points, _last_key in summary:
            report.accounts += 1
            report.lots += count
            report.points += points
            report.profile_ids.append(profile_id)


def expire_points(config: CRMConfig, now: datetime, batch: int = BATCH) -> ExpiryReport:
    """Expire every lot that is due at `now`; return what was expired (and whose)."""
    report = ExpiryReport()
    due = _due(config, now)
    if due is None or not config.loyalty.enabled:
        return report
    bounds = PointsAccount.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return report
    for low in range(bounds["low"], bounds["high"] + 1, batch):
        _expire_range(low, low + batch, due, now, report)
    return report

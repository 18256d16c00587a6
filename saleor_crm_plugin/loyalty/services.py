"""The points ledger's only writer: idempotent entries, lots kept current, no overdrawing.

Every write locks the customer's account row (`select_for_update`), so concurrent writers for
one customer take turns: a redemption sees every entry committed before it, and two
redemptions can never both spend the same points.

The lots (`PointsLot`) and the account's debt and loss are the replay of the entries
(`lots.Ledger`), kept with each write: an entry that comes after the last one applied is
applied to the saved lots; one that comes before it (an order's earning read late) makes
the account replay all its entries. A balance is then one read of the lots with points left.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from ..audit import services as audit
from ..audit.models import AuditEvent
from ..customers.models import CustomerSpend
from ..dates import add_months
from ..errors import FieldError
from ..expressions import AnyOf
from ..money import parse_amount, validate_currency
from ..rows import add_rows, update_rows
from .config import ExpiryKind
from .lots import PAID, Balance, Entry, Kind, Ledger, Lot, inactivity_expiries
from .models import PointsAccount, PointsEntry, PointsLot

__all__ = [
    "PointsError",
    "Written",
    "adjust",
    "balance",
    "balances",
    "customer_currencies",
    "entries_of",
    "expiring",
    "issue_paid_points",
    "liability",
    "rebuild_accounts",
    "record",
    "record_many",
    "record_opening",
    "redeem",
]

# Entries that count as the customer's activity (for expiry after inactivity).
_ACTIVITY = (Kind.EARN, Kind.REDEEM)


class PointsError(FieldError):
    """Points cannot be spent as asked; `field` names the input."""


@dataclass(frozen=True)
class Written:
    """One entry to write with what the ledger keeps beside it.

    `funding` and `paid_amount`, when given, are set on the entry (`Entry.funding`): paid
    points need the currency their `paid_amount` is in.
    """

    entry: Entry
    reason: str = ""
    actor: str = ""
    currency: str = ""
    order_id: str = ""
    funding: str | None = None
    paid_amount: Decimal | None = None

    def __post_init__(self):
        if self.funding is not None or self.paid_amount is not None:
            funding = self.funding if self.funding is not None else self.entry.funding
            entry = replace(self.entry, funding=funding, paid_amount=self.paid_amount)
            object.__setattr__(self, "entry", entry)
        if self.entry.funding == PAID and not self.currency:
            raise ValueError(f"{self.entry.key}: paid points need the currency they were paid in")


def _locked_account(profile_id: int) -> PointsAccount:
    PointsAccount.objects.get_or_create(profile_id=profile_id)
    return PointsAccount.objects.select_for_update().get(profile_id=profile_id)


def _entry(row: PointsEntry) -> Entry:
    return Entry(
        row.key,
        Kind(row.kind),
        row.points,
        row.at,
        lot=row.lot,
        available_at=row.available_at,
        expires_at=row.expires_at,
        held=row.held,
        funding=row.funding,
        paid_amount=row.paid_amount,
    )


def entries_of(profile_id: int) -> list[Entry]:
    """Every entry of the customer's account, in replay order."""
    rows = PointsEntry.objects.filter(account__profile_id=profile_id).order_by("at", "key")
    return [_entry(row) for row in rows]


def _lot(row: PointsLot) -> Lot:
    return Lot(
        row.key,
        row.earned_at,
        row.points,
        row.remaining,
        row.available_at,
        row.expires_at,
        row.funding,
        row.paid_amount,
    )


def _live_lots(account: PointsAccount) -> list[Lot]:
    rows = PointsLot.objects.filter(account=account, remaining__gt=0).order_by("earned_at", "key")
    return [_lot(row) for row in rows]


def _saved_ledger(account: PointsAccount, allow_negative: bool) -> Ledger:
    return Ledger(_live_lots(account), account.debt, account.lost, allow_negative)


def _save_lots(account: PointsAccount, lots, currencies: dict[str, str]) -> None:
    PointsLot.objects.bulk_create(
        [
            PointsLot(
                account=account,
                key=lot.key,
                earned_at=lot.earned_at,
                points=lot.points,
                remaining=lot.remaining,
                available_at=lot.available_at,
                expires_at=lot.expires_at,
                currency=currencies.get(lot.key, ""),
                funding=lot.funding,
                paid_amount=lot.paid_amount,
            )
            for lot in lots
        ],
        update_conflicts=True,
        unique_fields=["account", "key"],
        update_fields=["remaining", "available_at"],
    )


def _write(account: PointsAccount, items: list[Written], allow_negative: bool) -> list[Written]:
    """Append the items whose keys are new and bring the lots up to date; return those."""
    keys = [item.entry.key for item in items]
    known = set(PointsEntry.objects.filter(AnyOf("key", keys)).values_list("key", flat=True))
    fresh, seen = [], set()
    for item in items:
        if item.entry.key not in known and item.entry.key not in seen:
            fresh.append(item)
            seen.add(item.entry.key)
    if not fresh:
        return []
    PointsEntry.objects.bulk_create(
        [
            PointsEntry(
                account=account,
                key=item.entry.key,
                kind=item.entry.kind.value,
                points=item.entry.points,
                at=item.entry.at,
                lot=item.entry.lot,
                available_at=item.entry.available_at,
                expires_at=item.entry.expires_at,
                held=item.entry.held,
                currency=item.currency,
                funding=item.entry.funding,
                paid_amount=item.entry.paid_amount,
                order_id=item.order_id,
                reason=item.reason[:255],
                actor=item.actor[:255],
            )
            for item in fresh
        ]
    )
    new = sorted((item.entry for item in fresh), key=lambda entry: entry.position)
    currencies = {item.entry.key: item.currency for item in fresh if item.currency}
    applied = (account.applied_at, account.applied_key)
    if account.applied_at is None or new[0].position > applied:
        ledger = _saved_ledger(account, allow_negative)
        for entry in new:
            ledger.apply(entry)
        _save_lots(account, ledger.changed.values(), currencies)
        last = new[-1]
        # the saved ledger holds every lot with points left, so this is the whole account's
        remaining = sum(lot.remaining for lot in ledger.earned)
    else:  # an entry from before the last one applied: replay them all
        ledger = Ledger(allow_negative=allow_negative)
        everything = entries_of(account.profile_id)
        for entry in everything:
            ledger.apply(entry)
        currencies = (
            dict(PointsLot.objects.filter(account=account).values_list("key", "currency"))
            | currencies
        )
        PointsLot.objects.filter(account=account).delete()
        _save_lots(account, ledger.earned, currencies)
        last = everything[-1]
        remaining = sum(lot.remaining for lot in ledger.earned)
    activity = [entry.at for entry in new if entry.kind in _ACTIVITY]
    if account.last_activity_at is not None:
        activity.append(account.last_activity_at)
    account.total += sum(entry.points for entry in new)
    account.remaining = remaining
    account.debt, account.lost = ledger.debt, ledger.lost
    account.applied_at, account.applied_key = last.at, last.key
    account.last_activity_at = max(activity, default=None)
    account.save(
        update_fields=[
            "total",
            "remaining",
            "debt",
            "lost",
            "applied_at",
            "applied_key",
            "last_activity_at",
            "updated_at",
        ]
    )
    return fresh


def record(
    profile_id: int,
    entry: Entry,
    reason: str = "",
    actor: str = "",
    *,
    allow_negative: bool = True,
    currency: str = "",
    order_id: str = "",
    funding: str | None = None,
    paid_amount: Decimal | None = None,
) -> bool:
    """Append an entry (an earning, a reversal, a release, an expiry, an adjustment) once.

    Returns False when an entry with the same key exists (the event was delivered twice).
    `funding` and `paid_amount` (paid points) are set on the entry (see `Written`).
    """
    item = Written(entry, reason, actor, currency, order_id, funding, paid_amount)
    return bool(record_many(profile_id, [item], allow_negative=allow_negative))


def record_many(profile_id: int, items: list[Written], *, allow_negative: bool = True) -> list:
    """Append several entries of one customer in one transaction; return those that were new."""
    with transaction.atomic():
        return _write(_locked_account(profile_id), list(items), allow_negative)


def record_opening(items: dict[int, list[Written]]) -> int:
    """Append the entries of many customers at once (an import's opening lots); return how
    many were new.

    Idempotent by key, as `record_many`: an entry whose key is written is skipped. Lots
    (points above 0, not held) given to an account that owes nothing and has never spent or
    lost points (no entry below 0 but expiries, which empty one lot each) are written in bulk:
    such lots never touch one another, so each is its entry (what `lots.Ledger` would
    replay, whatever their dates). Any other account goes through `record_many`. One
    transaction; the accounts are locked in id order.
    """
    keys = [item.entry.key for listed in items.values() for item in listed]
    if not keys:
        return 0
    with transaction.atomic():
        known = set(PointsEntry.objects.filter(AnyOf("key", keys)).values_list("key", flat=True))
        fresh: dict[int, list[Written]] = {}
        for profile_id, listed in items.items():
            for item in listed:
                if item.entry.key not in known:
                    known.add(item.entry.key)
                    fresh.setdefault(profile_id, []).append(item)
        if not fresh:
            return 0
        now = timezone.now()
        add_rows(
            PointsAccount,
            [
                "profile",
                "total",
                "remaining",
                "debt",
                "lost",
                "applied_key",
                "created_at",
                "updated_at",
            ],
            [(profile_id, 0, 0, 0, 0, "", now, now) for profile_id in sorted(fresh)],
            unique=["profile"],
            update=[],
        )
        accounts = list(
            PointsAccount.objects.select_for_update()
            .filter(AnyOf("profile_id", sorted(fresh)))
            .order_by("pk")
        )
        spent = set(
            PointsEntry.objects.filter(
                account__in=[account.pk for account in accounts if account.applied_at], points__lt=0
            )
            .exclude(kind=Kind.EXPIRE.value)
            .values_list("account_id", flat=True)
            .distinct()
        )
        entry_rows, lot_rows, opened, slow = [], [], [], []
        for account in accounts:
            listed = fresh[account.profile_id]
            if (
                account.debt
                or account.pk in spent
                or any(item.entry.points <= 0 or item.entry.held for item in listed)
            ):
                slow.append(account.profile_id)
                continue
            for item in listed:
                entry = item.entry
                entry_rows.append(
                    (
                        account.pk,
                        entry.key,
                        entry.kind.value,
                        entry.points,
                        entry.at,
                        entry.lot,
                        entry.available_at,
                        entry.expires_at,
                        False,
                        item.currency,
                        item.order_id,
                        "",
                        item.reason[:255],
                        item.actor[:255],
                        now,
                        entry.funding,
                        entry.paid_amount,
                    )
                )
                lot_rows.append(
                    (
                        account.pk,
                        entry.key,
                        entry.at,
                        entry.points,
                        entry.points,
                        entry.available_at or entry.at,
                        entry.expires_at,
                        item.currency,
                        entry.funding,
                        entry.paid_amount,
                    )
                )
            last = max((item.entry for item in listed), key=lambda entry: entry.position)
            if account.applied_at is None or last.position > (
                account.applied_at,
                account.applied_key,
            ):
                account.applied_at, account.applied_key = last.at, last.key
            activity = [item.entry.at for item in listed if item.entry.kind in _ACTIVITY]
            if account.last_activity_at is not None:
                activity.append(account.last_activity_at)
            added = sum(item.entry.points for item in listed)
            account.total += added
            account.remaining += added
            account.last_activity_at = max(activity, default=None)
            account.updated_at = now
            opened.append(account)
        add_rows(
            PointsEntry,
            [
                "account",
                "key",
                "kind",
                "points",
                "at",
                "lot",
                "available_at",
                "expires_at",
                "held",
                "currency",
                "order_id",
                "reference",
                "reason",
                "actor",
                "created_at",
                "funding",
                "paid_amount",
            ],
            entry_rows,
        )
        add_rows(
            PointsLot,
            [
                "account",
                "key",
                "earned_at",
                "points",
                "remaining",
                "available_at",
                "expires_at",
                "currency",
                "funding",
                "paid_amount",
            ],
            lot_rows,
        )
        update_rows(
            PointsAccount,
            ["total", "remaining", "applied_at", "applied_key", "last_activity_at", "updated_at"],
            opened,
        )
        written = len(entry_rows)
        for profile_id in slow:
            written += len(record_many(profile_id, fresh[profile_id]))
    return written


def rebuild_accounts(profile_ids, *, allow_negative: bool = True) -> None:
    """Replay each of these customers' entries into their lots, debt and totals, under the
    account's row lock: what a merge or its undoing needs after moving entries (and the lots
    they earned) between accounts; an entry's key is unique in the table, so it moves as it
    is."""
    for profile_id in sorted({int(pk) for pk in profile_ids}):
        account = _locked_account(profile_id)
        rows = list(PointsEntry.objects.filter(account=account).order_by("at", "key"))
        ledger = Ledger(allow_negative=allow_negative)
        for row in rows:
            ledger.apply(_entry(row))
        currencies = {row.key: row.currency for row in rows if row.currency}
        # Only the lots the replay changes are written (a merge moves a thousand lots as they
        # are, `PointsLot.key` being an earning's key, unique like it).
        saved = {
            row.key: (row.earned_at, row.points, row.remaining, row.available_at, row.expires_at)
            for row in PointsLot.objects.filter(account=account)
        }
        changed = [
            lot
            for lot in ledger.earned
            if saved.get(lot.key)
            != (lot.earned_at, lot.points, lot.remaining, lot.available_at, lot.expires_at)
        ]
        gone = set(saved) - {lot.key for lot in ledger.earned}
        stale = gone | {lot.key for lot in changed if lot.key in saved}
        if stale:
            PointsLot.objects.filter(account=account, key__in=stale).delete()
        _save_lots(account, changed, currencies)
        activity = [row.at for row in rows if Kind(row.kind) in _ACTIVITY]
        account.total = sum(row.points for row in rows)
        account.remaining = sum(lot.remaining for lot in ledger.earned)
        account.debt, account.lost = ledger.debt, ledger.lost
        account.applied_at = rows[-1].at if rows else None
        account.applied_key = rows[-1].key if rows else ""
        account.last_activity_at = max(activity, default=None)
        account.save(
            update_fields=[
                "total",
                "remaining",
                "debt",
                "lost",
                "applied_at",
                "applied_key",
                "last_activity_at",
                "updated_at",
            ]
        )


_BALANCES = """
SELECT a.profile_id, a.remaining, a.debt, a.lost,
       COALESCE((SELECT sum(l.remaining) FROM {lots} l WHERE l.account_id = a.id
                 AND l.remaining > 0 AND l.available_at IS NULL), 0)
     + COALESCE((SELECT sum(l.remaining) FROM {lots} l WHERE l.account_id = a.id
                 AND l.remaining > 0 AND l.available_at > %s), 0),
       COALESCE((SELECT sum(l.remaining) FROM {lots} l WHERE l.account_id = a.id
                 AND l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= %s
                 AND l.available_at <= %s), 0)
FROM {accounts} a WHERE a.profile_id IN ({ids})
"""


def balances(profile_ids, as_of: datetime) -> dict[int, Balance]:
    """The balance of each of these customers that has a points account, in one query.

    Every lot with points left is usable, pending, or expired and not yet written off
    (`Lot.usable`, `Lot.pending`). The account keeps the sum of them all (`remaining`), so the
    database sums only the few held, not-yet-available and expired lots (index range reads
    of `points_lot_pending` and `points_lot_expired`), whatever the number of lots. Plain SQL:
    this is the storefront's hot path, and building the same query through the ORM cost
    more than running it. `Balance.lots` is left empty.
    """
    ids = [int(pk) for pk in profile_ids]
    if not ids:
        return {}
    sql = _BALANCES.format(
        lots=PointsLot._meta.db_table,
        accounts=PointsAccount._meta.db_table,
        ids=", ".join(["%s"] * len(ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of, as_of, as_of, *ids])
        rows = cursor.fetchall()
    return {
        profile_id: Balance(remaining - pending - expired, pending, debt, lost, ())
        for profile_id, remaining, debt, lost, pending, expired in rows
    }


def balance(profile_id: int | None, as_of: datetime) -> Balance:
    """The customer's points now (`as_of`: the current time; no account: all zero).

    Read from the saved lots, so `as_of` decides what is pending or expired, not which entries
    count: for the state at a past moment, replay `entries_of` with `lots.replay`.
    """
    if profile_id is None:
        return Ledger().balance(as_of)
    return balances([profile_id], as_of).get(profile_id) or Ledger().balance(as_of)


def expiring(
    profile_id: int, now: datetime, until: datetime, expiry=None
) -> list[tuple[int, datetime]]:
    """(points, when) of what expires between now and `until`, soonest first.

    Lots with their own expiry are grouped by their time; with expiry after inactivity
    (`expiry` of kind INACTIVITY) the free points are due at the last activity + N months
    (paid points are kept: `lots.inactivity_expiries`).
    """
    account = PointsAccount.objects.filter(profile_id=profile_id).first()
    if account is None:
        return []
    lots = _live_lots(account)
    if expiry is not None and expiry.kind is ExpiryKind.INACTIVITY:
        if account.last_activity_at is None:
            return []
        due = add_months(account.last_activity_at, expiry.months)
        points = sum(points for _key, points in inactivity_expiries(lots))
        return [(points, due)] if points and now < due <= until else []
    due: dict[datetime, int] = {}
    for lot in lots:
        if lot.expires_at is not None and now < lot.expires_at <= until:
            due[lot.expires_at] = due.get(lot.expires_at, 0) + lot.remaining
    return sorted(((points, at) for at, points in due.items()), key=lambda item: item[1])


# The currency a lot is valued in: its own; for a lot without one (written before every point
# had a currency and left so by migration 0040), the customer's only currency, else the store's
# default (`LoyaltyConfig.default_currency`); "" only when none of them names one.
LOT_CURRENCY = """COALESCE(NULLIF({row}.currency, ''),
    (SELECT CASE WHEN count(*) = 1 THEN min(c.currency) END FROM (
        SELECT s.currency FROM {spends} s WHERE s.profile_id = a.profile_id
        UNION SELECT o.currency FROM {lots} o WHERE o.account_id = a.id AND o.currency <> ''
    ) c),
    NULLIF(%s, ''), '')"""

_LIABILITY = """
SELECT {currency} AS currency,
       COALESCE(sum(l.remaining) FILTER (WHERE l.available_at <= %s
           AND (l.expires_at IS NULL OR l.expires_at > %s)), 0),
       COALESCE(sum(l.remaining) FILTER (WHERE l.available_at IS NULL OR l.available_at > %s), 0)
FROM {lots} l JOIN {accounts} a ON a.id = l.account_id
WHERE l.remaining > 0
GROUP BY 1 ORDER BY 1
"""


def lot_currency_sql(row: str = "l") -> str:
    """`LOT_CURRENCY` for rows `row` (lots, or their earning entries) of accounts `a`; one
    parameter: the store's default currency."""
    return LOT_CURRENCY.format(
        row=row, spends=CustomerSpend._meta.db_table, lots=PointsLot._meta.db_table
    )


def liability(as_of: datetime, default_currency: str = "") -> list[tuple[str, int, int]]:
    """(currency, available, pending) of the points every customer holds, per currency.

    Every lot is valued in a currency (`LOT_CURRENCY`): its own, else the customer's only one,
    else `default_currency` (the store's); "" is left only when none names one. One aggregate
    query: `Lot.usable` and `Lot.pending` in SQL.
    """
    sql = _LIABILITY.format(
        currency=lot_currency_sql(),
        lots=PointsLot._meta.db_table,
        accounts=PointsAccount._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [default_currency, as_of, as_of, as_of])
        return [(currency, available, pending) for currency, available, pending in cursor]


def customer_currencies(profile_id: int) -> list[str]:
    """The currencies the customer has: of their orders (spend rows) and of their points."""
    spent = CustomerSpend.objects.filter(profile_id=profile_id).values_list("currency", flat=True)
    held = (
        PointsLot.objects.filter(account__profile_id=profile_id)
        .exclude(currency="")
        .values_list("currency", flat=True)
    )
    return sorted(set(spent) | set(held))


def _points_currency(profile_id: int, currency: str | None) -> str:
    """The given currency (checked), or the customer's only one; `PointsError` otherwise."""
    if currency is not None and str(currency).strip():
        try:
            return validate_currency(currency)
        except ValueError as error:
            raise PointsError("currency", str(error)) from error
    known = customer_currencies(profile_id)
    if len(known) == 1:
        return known[0]
    if not known:
        raise PointsError("currency", "is required: the customer has no currency of their own")
    raise PointsError(
        "currency", f"is required: the customer has several currencies ({', '.join(known)})"
    )


def _check_staff_write(reason: str, actor: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PointsError("reason", "is required: say why, for the audit trail")
    if len(reason) > 255:
        raise PointsError("reason", "is longer than 255 characters")
    if not actor:
        raise PointsError("actor", "is required: who made the adjustment")
    return reason


def adjust(
    profile_id: int,
    points: int,
    key: str,
    as_of: datetime,
    *,
    reason: str,
    actor: str,
    expires_at: datetime | None = None,
    allow_negative: bool = True,
    currency: str | None = None,
) -> Balance:
    """A staff adjustment of `points` (added as a lot available at once, or taken FIFO), once
    per `key`, audited with who and why. Raises `PointsError` naming the input; a deduction
    larger than what the customer can spend is refused.

    `currency`: what the points are worth in; None or "": the customer's only currency (a
    customer with none or several must be given one).
    """
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise PointsError("points", f"must be a whole number other than 0, not {points!r}")
    reason = _check_staff_write(reason, actor)
    with transaction.atomic():
        account = _locked_account(profile_id)
        if not PointsEntry.objects.filter(key=key).exists():
            currency = _points_currency(profile_id, currency)
            before = _saved_ledger(account, allow_negative).balance(as_of)
            if points < 0 and before.balance < -points:
                raise PointsError(
                    "points",
                    f"takes {-points}, the customer has {max(before.balance, 0)} to take",
                )
            entry = Entry(
                key, Kind.ADJUST, points, as_of, expires_at=expires_at if points > 0 else None
            )
            _write(account, [Written(entry, reason, actor, currency)], allow_negative)
            audit.record(
                AuditEvent.POINTS_ADJUSTED,
                actor,
                as_of,
                profile_id=profile_id,
                points=points,
                reason=reason,
                detail={"request": key, "currency": currency},
            )
        return Ledger(_live_lots(account), account.debt, account.lost).balance(as_of)


def issue_paid_points(
    profile_id: int,
    points: int,
    amount,
    currency: str,
    key: str,
    as_of: datetime,
    *,
    reason: str,
    actor: str,
    allow_negative: bool = True,
) -> Balance:
    """Issue `points` paid points (有償ポイント: sold, e.g. as a point card) for `amount` paid
    in `currency`, once per `key`, audited with who and why. They are a lot available at once
    that never expires by date, spent like any other in turn (`loyalty.lots`).

    Raises `PointsError` naming the input (`points`, `amount`, `currency`, `reason`).
    """
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise PointsError("points", f"must be a whole number above 0, not {points!r}")
    try:
        currency = validate_currency(currency)
    except ValueError as error:
        raise PointsError("currency", str(error)) from error
    try:
        paid = parse_amount(amount, currency)
    except ValueError as error:
        raise PointsError("amount", str(error)) from error
    reason = _check_staff_write(reason, actor)
    with transaction.atomic():
        account = _locked_account(profile_id)
        if not PointsEntry.objects.filter(key=key).exists():
            entry = Entry(key, Kind.EARN, points, as_of, funding=PAID, paid_amount=paid)
            _write(account, [Written(entry, reason, actor, currency)], allow_negative)
            audit.record(
                AuditEvent.PAID_POINTS_ISSUED,
                actor,
                as_of,
                profile_id=profile_id,
                points=points,
                reason=reason,
                detail={"request": key, "amount": str(paid), "currency": currency},
            )
        return Ledger(_live_lots(account), account.debt, account.lost).balance(as_of)


def redeem(
    profile_id: int,
    points: int,
    key: str,
    as_of: datetime,
    reason: str = "",
    actor: str = "",
    *,
    allow_negative: bool = True,
) -> Balance:
    """Spend `points` of the customer's available points once per `key`; return the balance.

    Raises `PointsError` (field `points`) when fewer are available, or the customer owes
    points; nothing is written then. A repeated `key` spends nothing again.
    """
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise PointsError("points", f"must be a whole number above 0, not {points!r}")
    with transaction.atomic():
        account = _locked_account(profile_id)
        if not PointsEntry.objects.filter(key=key).exists():
            before = _saved_ledger(account, allow_negative).balance(as_of)
            if before.balance < points:
                raise PointsError(
                    "points", f"{points} asked, {max(before.balance, 0)} available to spend"
                )
            spent = Entry(key, Kind.REDEEM, -points, as_of)
            _write(account, [Written(spent, reason, actor)], allow_negative)
        return Ledger(_live_lots(account), account.debt, account.lost).balance(as_of)

"""The points ledger's only writer: idempotent entries, redemptions that never overdraw.

Every write locks the customer's account row (`select_for_update`), so concurrent writers for
one customer take turns: a redemption sees every entry committed before it, and two
redemptions can never both spend the same points.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from ..errors import FieldError
from .lots import Balance, Entry, Kind, replay
from .models import PointsAccount, PointsEntry

__all__ = ["PointsError", "balance", "record", "redeem"]


class PointsError(FieldError):
    """Points cannot be spent as asked; `field` names the input."""


def _locked_account(profile_id: int) -> PointsAccount:
    PointsAccount.objects.get_or_create(profile_id=profile_id)
    return PointsAccount.objects.select_for_update().get(profile_id=profile_id)


def _entries(account: PointsAccount) -> list[Entry]:
    return [
        Entry(
            row.key,
            Kind(row.kind),
            row.points,
            row.at,
            lot=row.lot,
            available_at=row.available_at,
            expires_at=row.expires_at,
        )
        for row in account.entries.all()
    ]


def _write(account: PointsAccount, entry: Entry, reason: str, actor: str) -> bool:
    """Append `entry` unless its key exists already; True when it was appended."""
    try:
        with transaction.atomic():
            PointsEntry.objects.create(
                account=account,
                key=entry.key,
                kind=entry.kind.value,
                points=entry.points,
                at=entry.at,
                lot=entry.lot,
                available_at=entry.available_at,
                expires_at=entry.expires_at,
                reason=reason,
                actor=actor,
            )
    except IntegrityError:
        if PointsEntry.objects.filter(key=entry.key).exists():
            return False  # delivered before: nothing to do
        raise
    PointsAccount.objects.filter(pk=account.pk).update(total=F("total") + entry.points)
    return True


def record(profile_id: int, entry: Entry, reason: str = "", actor: str = "") -> bool:
    """Append an entry (an earning, a reversal, an expiry, an adjustment) once.

    Returns False when an entry with the same key exists (the event was delivered twice).
    """
    with transaction.atomic():
        return _write(_locked_account(profile_id), entry, reason, actor)


def balance(profile_id: int, as_of: datetime, allow_negative: bool = True) -> Balance:
    """The customer's points at `as_of` (no entries: all zero)."""
    account = PointsAccount.objects.filter(profile_id=profile_id).first()
    entries = _entries(account) if account is not None else []
    return replay(entries, as_of, allow_negative)


def redeem(
    profile_id: int, points: int, key: str, as_of: datetime, reason: str = "", actor: str = ""
) -> Balance:
    """Spend `points` of the customer's available points once per `key`; return the balance.

    Raises `PointsError` (field `points`) when fewer are available, or the customer owes
    points; nothing is written then. A repeated `key` spends nothing again.
    """
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise PointsError("points", f"must be a whole number above 0, not {points!r}")
    with transaction.atomic():
        account = _locked_account(profile_id)
        entries = _entries(account)
        before = replay(entries, as_of)
        if any(entry.key == key for entry in entries):
            return before
        if before.balance < points:
            raise PointsError(
                "points", f"{points} asked, {max(before.balance, 0)} available to spend"
            )
        spent = Entry(key, Kind.REDEEM, -points, as_of)
        _write(account, spent, reason, actor)
        return replay([*entries, spent], as_of)

"""A customer's points ledger replayed into lots: what is available, pending, owed, expiring.

Pure: no Django. The ledger is append-only (DESIGN section 4); this module says what its entries
mean. Every earning (an order's points, a positive adjustment) is a *lot*: pending until its
`available_at`, then spendable until its `expires_at` (None: never). Spending (a redemption, a
negative adjustment) consumes the oldest available lots first (FIFO by the time they were earned).
A reversal (a refund or cancellation) takes points back from the lot of the order it reverses;
what that lot no longer has (the customer spent it) becomes *debt* that the next earnings repay
first, or, with `allow_negative=False`, is recorded as *lost* (the store absorbs it). An
expiry entry empties what is left of one lot.

Entries are replayed in the order of (`at`, `key`), so the same entries give the same state
whatever order they are passed in.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

__all__ = ["Balance", "Entry", "Kind", "Lot", "due_expiries", "replay"]


class Kind(Enum):
    EARN = "earn"  # + points, a lot
    ADJUST = "adjust"  # + a lot, or - spent FIFO
    REDEEM = "redeem"  # - spent FIFO
    REVERSE = "reverse"  # - from `lot`
    EXPIRE = "expire"  # - what `lot` has left


@dataclass(frozen=True)
class Entry:
    key: str  # the idempotency key: earn:order:<id>, reverse:order:<id>:<n>, redeem:<request>
    kind: Kind
    points: int  # signed: > 0 for EARN and positive ADJUST, < 0 otherwise
    at: datetime
    lot: str | None = None  # REVERSE, EXPIRE: the key of the earning
    available_at: datetime | None = None  # a lot: pending until then (None: at once)
    expires_at: datetime | None = None  # a lot: expires then (None: never)

    def __post_init__(self):
        adds = self.kind is Kind.EARN or (self.kind is Kind.ADJUST and self.points > 0)
        if self.kind is Kind.EARN and self.points <= 0:
            raise ValueError(f"{self.key}: an earning adds points, not {self.points}")
        if self.kind in (Kind.REDEEM, Kind.REVERSE, Kind.EXPIRE) and self.points >= 0:
            raise ValueError(f"{self.key}: a {self.kind.value} takes points, not {self.points}")
        if self.kind is Kind.ADJUST and self.points == 0:
            raise ValueError(f"{self.key}: an adjustment of 0 points")
        if self.kind in (Kind.REVERSE, Kind.EXPIRE) and not self.lot:
            raise ValueError(f"{self.key}: a {self.kind.value} names the lot it takes from")
        if not adds and (self.available_at or self.expires_at):
            raise ValueError(f"{self.key}: only a lot has available_at and expires_at")


@dataclass
class Lot:
    key: str
    earned_at: datetime
    points: int
    remaining: int
    available_at: datetime
    expires_at: datetime | None

    def usable(self, at: datetime) -> bool:
        return self.available_at <= at and (self.expires_at is None or at < self.expires_at)


@dataclass(frozen=True)
class Balance:
    """A customer's points at a moment. `balance` = available - debt (negative when owed)."""

    available: int
    pending: int
    debt: int
    lost: int
    lots: tuple[Lot, ...]

    @property
    def balance(self) -> int:
        return self.available - self.debt


def replay(entries: Iterable[Entry], as_of: datetime, allow_negative: bool = True) -> Balance:
    """Replay a customer's entries up to `as_of` (later ones are ignored) into a `Balance`.

    Linear in the entries (after sorting them): lots are kept in the order they were earned,
    and spending starts from the oldest lot that can still give points.
    """
    lots: dict[str, Lot] = {}
    earned: list[Lot] = []  # in the order earned, which is the order spent
    first = 0  # earned[:first] can never give points again (empty or expired)
    debt = lost = 0
    for entry in sorted(entries, key=lambda e: (e.at, e.key)):
        if entry.at > as_of:
            break
        if entry.points > 0:  # an earning or a positive adjustment: a new lot
            lot = Lot(
                entry.key,
                entry.at,
                entry.points,
                entry.points,
                entry.available_at or entry.at,
                entry.expires_at,
            )
            repaid = min(debt, lot.remaining)
            lot.remaining -= repaid
            debt -= repaid
            lots[entry.key] = lot
            earned.append(lot)
            continue
        wanted = -entry.points
        if entry.kind is Kind.EXPIRE:
            lot = lots.get(entry.lot)
            if lot is not None:
                lot.remaining = 0
            continue
        if entry.kind is Kind.REVERSE:
            lot = lots.get(entry.lot)
            taken = min(wanted, lot.remaining) if lot is not None else 0
            if lot is not None:
                lot.remaining -= taken
            wanted -= taken
        else:  # spent: the oldest usable lots first
            position = first
            while wanted and position < len(earned):
                lot = earned[position]
                spent = lot.remaining == 0 or (
                    lot.expires_at is not None and lot.expires_at <= entry.at
                )
                if spent and position == first:
                    first += 1  # entries come in time order: it stays unusable
                elif not spent and lot.available_at <= entry.at:
                    taken = min(wanted, lot.remaining)
                    lot.remaining -= taken
                    wanted -= taken
                position += 1
        if allow_negative:
            debt += wanted
        else:
            lost += wanted
    available = sum(lot.remaining for lot in earned if lot.usable(as_of))
    pending = sum(lot.remaining for lot in earned if lot.available_at > as_of)
    return Balance(available, pending, debt, lost, tuple(earned))


def due_expiries(entries: Iterable[Entry], as_of: datetime) -> list[tuple[str, int]]:
    """The lots whose expiry has come by `as_of` with points left: (lot key, points), oldest first.

    The expiry task writes an EXPIRE entry (`expire:<lot key>`) for each.
    """
    entries = list(entries)
    expired = {entry.lot for entry in entries if entry.kind is Kind.EXPIRE}
    state = replay(entries, as_of)
    return [
        (lot.key, lot.remaining)
        for lot in sorted(state.lots, key=lambda lot: (lot.expires_at, lot.key))
        if lot.expires_at is not None
        and lot.expires_at <= as_of
        and lot.remaining > 0
        and lot.key not in expired
    ]

"""A customer's points ledger replayed into lots: what is available, pending, owed, expiring.

Pure: no Django. The ledger is append-only (DESIGN section 4); this module says what its entries
mean. Every earning (an order's points, a positive adjustment) is a *lot*: pending until its
`available_at`, then spendable until its `expires_at` (None: never). Spending (a redemption, a
negative adjustment) consumes the oldest available lots first (FIFO by the time they were earned).
A reversal (a refund or cancellation) takes points back from the lot of the order it reverses;
what that lot no longer has (the customer spent it) becomes *debt* that the next earnings repay
first, or, with `allow_negative=False`, is recorded as *lost* (the store absorbs it). An
expiry entry empties what is left of one lot. An order's lot is *held* (pending, with no date yet)
until a release entry gives it the day it becomes available (fulfilment plus the return window).

Entries are replayed in the order of (`at`, `key`), so the same entries give the same state
whatever order they are passed in.

A lot is *free* (earned, adjusted, imported: 無償) or *paid* (bought by the customer: 有償, with
the `paid_amount` they paid for its points). The funding goes from the earning into its lot;
spending takes the oldest lots whatever their funding, so a redemption may use both.

Expiry: a lot with its own `expires_at` expires then, free or paid (an imported paid lot may
carry the expiry its old system sold it with; paid points issued here have none). Expiry after
inactivity takes only free lots (`lapses_with_inactivity`): paid points are a prepaid payment
instrument under the Payment Services Act (資金決済法), bought with money, and a customer who
stops buying keeps them.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

__all__ = [
    "FREE",
    "FUNDINGS",
    "PAID",
    "Balance",
    "Entry",
    "Kind",
    "Ledger",
    "Lot",
    "due_expiries",
    "inactivity_expiries",
    "lapses_with_inactivity",
    "replay",
]

FREE, PAID = "free", "paid"
FUNDINGS = (FREE, PAID)


class Kind(Enum):
    EARN = "earn"  # + points, a lot
    ADJUST = "adjust"  # + a lot, or - spent FIFO
    REDEEM = "redeem"  # - spent FIFO
    REVERSE = "reverse"  # - from `lot`
    EXPIRE = "expire"  # - what `lot` has left
    RELEASE = "release"  # 0: a held `lot` becomes available at `available_at`


@dataclass(frozen=True)
class Entry:
    key: str  # the idempotency key: earn:order:<id>, reverse:order:<id>:<n>, redeem:<request>
    kind: Kind
    points: int  # signed: > 0 for EARN and positive ADJUST, < 0 otherwise, 0 for RELEASE
    at: datetime
    lot: str | None = None  # REVERSE, EXPIRE, RELEASE: the key of the earning
    available_at: datetime | None = None  # a lot: pending until then (None: at once)
    expires_at: datetime | None = None  # a lot: expires then (None: never)
    # A lot held until a RELEASE entry names it (an order's points, until fulfilment and the
    # return window are known).
    held: bool = False
    # A lot's funding and, for paid points, what the customer paid for them (>= 0, in the
    # currency the ledger keeps beside the entry). Only an entry that adds a lot is paid.
    funding: str = FREE
    paid_amount: Decimal | None = None

    def __post_init__(self):
        adds = self.kind is Kind.EARN or (self.kind is Kind.ADJUST and self.points > 0)
        if self.funding not in FUNDINGS:
            raise ValueError(f"{self.key}: funding is 'free' or 'paid', not {self.funding!r}")
        if self.funding == PAID:
            if not adds:
                raise ValueError(f"{self.key}: only points added to a lot can be paid")
            if not isinstance(self.paid_amount, Decimal) or not self.paid_amount >= 0:
                raise ValueError(
                    f"{self.key}: paid points need a paid_amount of 0 or more, "
                    f"not {self.paid_amount!r}"
                )
        elif self.paid_amount is not None:
            raise ValueError(f"{self.key}: free points have no paid_amount")
        if self.kind is Kind.EARN and self.points <= 0:
            raise ValueError(f"{self.key}: an earning adds points, not {self.points}")
        if self.kind in (Kind.REDEEM, Kind.REVERSE, Kind.EXPIRE) and self.points >= 0:
            raise ValueError(f"{self.key}: a {self.kind.value} takes points, not {self.points}")
        if self.kind is Kind.ADJUST and self.points == 0:
            raise ValueError(f"{self.key}: an adjustment of 0 points")
        if self.kind in (Kind.REVERSE, Kind.EXPIRE, Kind.RELEASE) and not self.lot:
            raise ValueError(f"{self.key}: a {self.kind.value} names the lot it takes from")
        if self.kind is Kind.RELEASE:
            if self.points != 0 or self.available_at is None or self.expires_at is not None:
                raise ValueError(f"{self.key}: a release has 0 points and an available_at")
        elif not adds and (self.available_at or self.expires_at):
            raise ValueError(f"{self.key}: only a lot has available_at and expires_at")
        if self.held and (not adds or self.available_at is not None):
            raise ValueError(f"{self.key}: only a lot without available_at can be held")

    @property
    def position(self) -> tuple[datetime, str]:
        """Where the entry stands in the replay: by time, then key."""
        return (self.at, self.key)


@dataclass
class Lot:
    key: str
    earned_at: datetime
    points: int
    remaining: int
    available_at: datetime | None  # None: held until released
    expires_at: datetime | None
    funding: str = FREE
    paid_amount: Decimal | None = None  # paid: the price of all `points` (not of `remaining`)

    def usable(self, at: datetime) -> bool:
        return (
            self.available_at is not None
            and self.available_at <= at
            and (self.expires_at is None or at < self.expires_at)
        )

    def pending(self, at: datetime) -> bool:
        return self.available_at is None or self.available_at > at


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


class Ledger:
    """The state entries leave behind: the lots in earned order, what is owed and what was lost.

    Feed it entries in replay order (`Entry.position`) with `apply`. It can start from a saved
    state (`lots` with points left, `debt`, `lost`): lots that are empty can never give points
    again, so leaving them out changes nothing. `balance(at)` reads the state at a moment.
    """

    def __init__(self, lots=(), debt: int = 0, lost: int = 0, allow_negative: bool = True):
        self.earned: list[Lot] = list(lots)  # in the order earned, which is the order spent
        self.lots = {lot.key: lot for lot in self.earned}
        self.first = 0  # earned[:first] can never give points again (empty or expired)
        self.debt, self.lost = debt, lost
        self.allow_negative = allow_negative
        self.changed: dict[str, Lot] = {}  # lots that `apply` created or changed

    def _touch(self, lot: Lot) -> None:
        self.changed[lot.key] = lot

    def apply(self, entry: Entry) -> None:
        if entry.points > 0:  # an earning or a positive adjustment: a new lot
            available_at = None if entry.held else (entry.available_at or entry.at)
            lot = Lot(
                entry.key,
                entry.at,
                entry.points,
                entry.points,
                available_at,
                entry.expires_at,
                entry.funding,
                entry.paid_amount,
            )
            repaid = min(self.debt, lot.remaining)
            lot.remaining -= repaid
            self.debt -= repaid
            self.lots[entry.key] = lot
            self.earned.append(lot)
            self._touch(lot)
            return
        if entry.kind is Kind.RELEASE:
            lot = self.lots.get(entry.lot)
            if lot is not None and lot.available_at is None:
                lot.available_at = entry.available_at
                self._touch(lot)
            return
        if entry.kind is Kind.EXPIRE:
            lot = self.lots.get(entry.lot)
            if lot is not None and lot.remaining:
                lot.remaining = 0
                self._touch(lot)
            return
        wanted = -entry.points
        if entry.kind is Kind.REVERSE:
            lot = self.lots.get(entry.lot)
            if lot is not None and lot.remaining:
                taken = min(wanted, lot.remaining)
                lot.remaining -= taken
                wanted -= taken
                self._touch(lot)
        else:  # spent: the oldest usable lots first
            position = self.first
            while wanted and position < len(self.earned):
                lot = self.earned[position]
                spent = lot.remaining == 0 or (
                    lot.expires_at is not None and lot.expires_at <= entry.at
                )
                if spent and position == self.first:
                    self.first += 1  # entries come in time order: it stays unusable
                elif not spent and lot.available_at is not None and lot.available_at <= entry.at:
                    taken = min(wanted, lot.remaining)
                    lot.remaining -= taken
                    wanted -= taken
                    self._touch(lot)
                position += 1
        if self.allow_negative:
            self.debt += wanted
        else:
            self.lost += wanted

    def balance(self, at: datetime) -> Balance:
        available = sum(lot.remaining for lot in self.earned if lot.usable(at))
        pending = sum(lot.remaining for lot in self.earned if lot.pending(at))
        return Balance(available, pending, self.debt, self.lost, tuple(self.earned))


def replay(entries: Iterable[Entry], as_of: datetime, allow_negative: bool = True) -> Balance:
    """Replay a customer's entries up to `as_of` (later ones are ignored) into a `Balance`.

    Linear in the entries (after sorting them): lots are kept in the order they were earned,
    and spending starts from the oldest lot that can still give points.
    """
    ledger = Ledger(allow_negative=allow_negative)
    for entry in sorted(entries, key=lambda e: e.position):
        if entry.at > as_of:
            break
        ledger.apply(entry)
    return ledger.balance(as_of)


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


def lapses_with_inactivity(lot: Lot) -> bool:
    """Whether the lot expires with the account's inactivity: free lots only (paid points,
    bought with money, are kept)."""
    return lot.funding == FREE


def inactivity_expiries(lots: Iterable[Lot]) -> list[tuple[str, int]]:
    """The lots an expiry after inactivity empties, once it is due: (lot key, points) of the
    free lots with points left, in the order given (the order earned).

    The expiry task writes an EXPIRE entry (`expire:<lot key>`) for each; paid lots keep
    their points.
    """
    return [
        (lot.key, lot.remaining)
        for lot in lots
        if lot.remaining > 0 and lapses_with_inactivity(lot)
    ]

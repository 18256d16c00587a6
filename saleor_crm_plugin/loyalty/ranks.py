"""Membership ranks: the ladder, which rank a customer's figures reach, and when a rank changes.

Pure: no Django, no Saleor. A ladder is an ordered list of ranks from the lowest (the rank
everyone starts with, no thresholds) to the highest. A rank's thresholds are on the orders,
the spend (per currency; never added across currencies) and the points earned within the
evaluation window, combined with `all` (every threshold) or `any` (one is enough). A customer
qualifies for the highest rank whose thresholds they meet.

Changes follow DESIGN section 4: a customer who qualifies for a higher rank moves up at once;
one who qualifies for a lower rank keeps theirs until the end of the evaluation period (and a
refund is no exception); a rank pinned by staff holds until its expiry; with
`inactive_months`, a customer gets one rank less than their figures reach for every
`inactive_months` without an order, taking effect at the period end.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from ..dates import add_months
from ..errors import FieldError
from ..money import validate_currency

__all__ = [
    "DEFAULT_LADDER_TEXT",
    "Decision",
    "Figures",
    "Pin",
    "Progress",
    "Rank",
    "RankError",
    "RankLadder",
    "Window",
    "WindowKind",
    "decide",
    "parse_ladder",
    "progress",
    "qualifying_rank",
]


UTC_ZONE = ZoneInfo("UTC")


class RankError(FieldError):
    """A ladder is wrong; `field` names the rank and the field (`Gold.min_orders`)."""


class WindowKind(Enum):
    LIFETIME = "lifetime"
    ROLLING = "rolling"  # the last `months` months, re-evaluated on `day` of each month
    YEARLY = "yearly"  # a year from the reset date (`month`, `day`)


@dataclass(frozen=True)
class Window:
    kind: WindowKind = WindowKind.LIFETIME
    months: int = 12
    month: int = 1
    day: int = 1

    def __post_init__(self):
        if self.kind is WindowKind.ROLLING and not 1 <= self.months <= 120:
            raise RankError("window.months", f"must be 1 to 120, not {self.months}")
        if not 1 <= self.month <= 12:
            raise RankError("window.month", f"must be 1 to 12, not {self.month}")
        if not 1 <= self.day <= 28:  # every month has the day
            raise RankError("window.day", f"must be 1 to 28, not {self.day}")

    def period_start(self, as_of: datetime, zone: ZoneInfo) -> datetime | None:
        """The start of the figures that count at `as_of` (None: since the first order)."""
        today = as_of.astimezone(zone).date()
        if self.kind is WindowKind.LIFETIME:
            return None
        if self.kind is WindowKind.ROLLING:
            return _midnight(add_months(today, -self.months), zone)
        return _midnight(self._last_reset(today), zone)

    def period_end(self, as_of: datetime, zone: ZoneInfo) -> datetime | None:
        """When the period holding `as_of` ends, and lower ranks take effect (None: never)."""
        today = as_of.astimezone(zone).date()
        if self.kind is WindowKind.LIFETIME:
            return None
        if self.kind is WindowKind.ROLLING:
            this_month = today.replace(day=self.day)
            end = this_month if today < this_month else add_months(this_month, 1)
            return _midnight(end, zone)
        return _midnight(add_months(self._last_reset(today), 12), zone)

    def _last_reset(self, today: date) -> date:
        reset = date(today.year, self.month, self.day)
        return reset if reset <= today else date(today.year - 1, self.month, self.day)


@dataclass(frozen=True)
class Rank:
    name: str
    code: str
    min_orders: int | None = None
    min_spend: dict[str, Decimal] = field(default_factory=dict)
    min_points: int | None = None
    combine: str = "any"  # "all": every threshold; "any": one is enough
    points_multiplier: Decimal = Decimal(1)
    discount_percent: Decimal = Decimal(0)
    perks: str = ""

    @property
    def has_thresholds(self) -> bool:
        return self.min_orders is not None or bool(self.min_spend) or self.min_points is not None


@dataclass(frozen=True)
class Figures:
    """What a customer did within the window: counted orders, spend per currency, points."""

    orders: int = 0
    spend: dict[str, Decimal] = field(default_factory=dict)
    points: int = 0


class RankLadder:
    """The ranks from lowest to highest, validated (raises `RankError` naming rank and field)."""

    def __init__(self, ranks, window: Window | None = None, inactive_months: int | None = None):
        self.ranks = tuple(ranks)
        self.window = window or Window()
        self.inactive_months = inactive_months
        self._validate()
        self.codes = frozenset(rank.code for rank in self.ranks)
        self._positions = {rank.code: position for position, rank in enumerate(self.ranks)}

    def _validate(self) -> None:
        if not self.ranks:
            raise RankError("ranks", "at least one rank is needed")
        if self.inactive_months is not None and not 1 <= self.inactive_months <= 120:
            raise RankError("inactive_months", f"must be 1 to 120, not {self.inactive_months}")
        names, codes = set(), set()
        for rank in self.ranks:
            _check_rank(rank)
            if rank.name in names:
                raise RankError(f"{rank.name}.name", "two ranks have this name")
            if rank.code in codes:
                raise RankError(f"{rank.name}.code", f"'{rank.code}' is the code of another rank")
            names.add(rank.name)
            codes.add(rank.code)
        lowest, *higher = self.ranks
        if lowest.has_thresholds:
            raise RankError(
                f"{lowest.name}.thresholds", "the lowest rank is everyone's: no thresholds"
            )
        for below, rank in zip(self.ranks, higher, strict=False):
            if not rank.has_thresholds:
                raise RankError(f"{rank.name}.thresholds", "a rank above the lowest needs one")
            _check_above(below, rank)

    def __eq__(self, other) -> bool:
        if not isinstance(other, RankLadder):
            return NotImplemented
        return (self.ranks, self.window, self.inactive_months) == (
            other.ranks,
            other.window,
            other.inactive_months,
        )

    __hash__ = None  # ranks hold dicts

    def index(self, code: str) -> int:
        return self._positions[code]

    def by_code(self, code: str) -> Rank:
        return self.ranks[self.index(code)]


def _check_rank(rank: Rank) -> None:
    where = rank.name or "(a rank without a name)"
    if not rank.name.strip():
        raise RankError(f"{where}.name", "is required")
    if not rank.code or not rank.code.replace("_", "").replace("-", "").isalnum():
        raise RankError(f"{where}.code", f"'{rank.code}' is not letters, digits, - or _")
    if rank.combine not in ("all", "any"):
        raise RankError(f"{where}.combine", f"'{rank.combine}' is not all or any")
    for name in ("min_orders", "min_points"):
        value = getattr(rank, name)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise RankError(f"{where}.{name}", f"must be a whole number of 0 or more, not {value}")
    for currency, amount in rank.min_spend.items():
        try:
            code = validate_currency(currency)
        except ValueError as error:
            raise RankError(f"{where}.min_spend", str(error)) from None
        if code != currency:
            raise RankError(f"{where}.min_spend", f"write '{currency}' as {code}")
        if not (amount.is_finite() and amount >= 0):
            raise RankError(f"{where}.min_spend.{currency}", f"must be 0 or more, not {amount}")
    if not (rank.points_multiplier.is_finite() and rank.points_multiplier >= 0):
        raise RankError(
            f"{where}.points_multiplier", f"must be 0 or more, not {rank.points_multiplier}"
        )
    if not (rank.discount_percent.is_finite() and 0 <= rank.discount_percent <= 100):
        raise RankError(
            f"{where}.discount_percent", f"must be 0 to 100, not {rank.discount_percent}"
        )


def _check_above(below: Rank, rank: Rank) -> None:
    """A higher rank's thresholds may not be lower than the rank below's on the same measure.

    With equal or lower thresholds on every measure they share, the two ranks overlap: every
    customer reaching the lower rank would reach this one too.
    """
    pairs = []
    if below.min_orders is not None and rank.min_orders is not None:
        pairs.append(("min_orders", below.min_orders, rank.min_orders))
    for currency in sorted(set(below.min_spend) & set(rank.min_spend)):
        pairs.append((f"min_spend.{currency}", below.min_spend[currency], rank.min_spend[currency]))
    if below.min_points is not None and rank.min_points is not None:
        pairs.append(("min_points", below.min_points, rank.min_points))
    for name, lower, higher in pairs:
        if higher < lower:
            raise RankError(
                f"{rank.name}.{name}", f"{higher} is below {below.name}'s {lower}: ranks go up"
            )
    if pairs and all(higher == lower for _, lower, higher in pairs):
        raise RankError(
            f"{rank.name}.thresholds", f"the same as {below.name}'s: raise at least one"
        )


_ZERO = Decimal(0)


def _meets(rank: Rank, figures: Figures) -> bool:
    if rank.combine == "all":
        if rank.min_orders is not None and figures.orders < rank.min_orders:
            return False
        for currency, amount in rank.min_spend.items():
            if figures.spend.get(currency, _ZERO) < amount:
                return False
        return rank.min_points is None or figures.points >= rank.min_points
    if rank.min_orders is not None and figures.orders >= rank.min_orders:
        return True
    for currency, amount in rank.min_spend.items():
        if figures.spend.get(currency, _ZERO) >= amount:
            return True
    return rank.min_points is not None and figures.points >= rank.min_points


def qualifying_rank(ladder: RankLadder, figures: Figures) -> Rank:
    """The highest rank whose thresholds the figures meet (the lowest rank at least)."""
    for rank in reversed(ladder.ranks[1:]):
        if _meets(rank, figures):
            return rank
    return ladder.ranks[0]


@dataclass(frozen=True)
class Progress:
    """What a customer still needs for a rank, by the ways open to them.

    `orders` / `points` None: not a threshold of the rank. `amounts`: per currency, the spend
    still needed, only in the currencies quoted to the customer (see `progress`).
    """

    orders: int | None
    amounts: dict[str, Decimal]
    points: int | None
    combine: str  # "any": one of them is enough; "all": every one


def progress(rank: Rank, figures: Figures, currencies: Iterable[str]) -> Progress | None:
    """What the figures still need to reach `rank`, told in the customer's own currencies.

    Parameters
    ----------
    rank
        The rank to reach (the next one up).
    figures
        The customer's figures in the evaluation window.
    currencies
        The currencies the customer has counted orders in (ever, not only in the window);
        empty for a customer who has not bought yet.

    Returns
    -------
    Progress or None
        A spend threshold in a currency the customer never bought in is not quoted. With
        `any` it is one way among others: it is left out while another way is open (orders,
        points, or spend in one of their currencies). With `all` it cannot be left out, and
        a rank that needs spend in such a currency (or, with `any`, only offers such spend)
        cannot be reached by buying as the customer does: None. A customer who has not bought
        yet has no currency of their own: they are quoted the rank's spend thresholds where
        those are needed (with `all`, or with `any` when the rank has no other threshold).
    """
    own = set(currencies)
    needed = {
        currency: max(Decimal(0), amount - figures.spend.get(currency, _ZERO))
        for currency, amount in sorted(rank.min_spend.items())
    }
    quoted = {currency: amount for currency, amount in needed.items() if currency in own}
    foreign = set(needed) - own
    counts = rank.min_orders is not None or rank.min_points is not None
    if foreign and own and (rank.combine == "all" or not (counts or quoted)):
        return None  # only by buying in a currency the customer never bought in
    if not own and (rank.combine == "all" or not counts):
        quoted = needed  # a customer yet to buy, and the spend is needed: as the rank has it
    return Progress(
        orders=None if rank.min_orders is None else max(0, rank.min_orders - figures.orders),
        amounts=quoted,
        points=None if rank.min_points is None else max(0, rank.min_points - figures.points),
        combine=rank.combine,
    )


@dataclass(frozen=True)
class Pin:
    """A rank staff set by hand, until `expires_at` (None: until unpinned)."""

    code: str
    reason: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    code: str
    changed: bool
    reason: str


def decide(
    ladder: RankLadder,
    current: str | None,
    figures: Figures,
    as_of: datetime,
    *,
    period_end: bool,
    pin: Pin | None = None,
    last_order_at: datetime | None = None,
    zone: ZoneInfo = UTC_ZONE,
) -> Decision:
    """The customer's rank after an event at `as_of`.

    `current` is the rank the customer holds (None: none yet, they start at the lowest).
    `period_end` says whether this evaluation closes an evaluation period: only then can a
    rank go down. The reason says which rule decided ("upgrade: orders 5 >= 5", "kept until
    the period ends", "pinned by staff: …", "inactive 6 months").
    """
    lowest = ladder.ranks[0].code
    held = current if current is not None else lowest
    if pin is not None and (pin.expires_at is None or as_of < pin.expires_at):
        return Decision(pin.code, pin.code != held, f"pinned by staff: {pin.reason}")
    reached = qualifying_rank(ladder, figures)
    position, target = ladder.index(held), ladder.index(reached.code)
    quiet = _quiet_periods(ladder, as_of, zone, last_order_at, target)
    if quiet:
        target -= quiet
        reached = ladder.ranks[target]
    if target > position:
        return Decision(reached.code, True, f"upgrade: {_why(reached, figures)}")
    if not period_end:
        return Decision(held, False, "kept until the period ends")
    if target < position:
        if quiet:
            return Decision(reached.code, True, f"inactive {quiet * ladder.inactive_months} months")
        return Decision(reached.code, True, f"period end: {_why(reached, figures)}")
    return Decision(held, False, "thresholds still met")


def _quiet_periods(
    ladder: RankLadder,
    as_of: datetime,
    zone: ZoneInfo,
    last_order_at: datetime | None,
    most: int,
) -> int:
    """How many whole `inactive_months` periods passed since the last order (at most `most`):
    the ranks inactivity costs. A function of the time alone, so evaluating again in the
    same period (a saved rank table, a retried review) costs no second rank."""
    if ladder.inactive_months is None or last_order_at is None:
        return 0
    today = as_of.astimezone(zone).date()
    quiet = 0
    while quiet < most and last_order_at < _midnight(
        add_months(today, -(quiet + 1) * ladder.inactive_months), zone
    ):
        quiet += 1
    return quiet


def _why(rank: Rank, figures: Figures) -> str:
    if not rank.has_thresholds:
        return f"{rank.name} (no thresholds met above it)"
    parts = []
    if rank.min_orders is not None:
        parts.append(f"orders {figures.orders} / {rank.min_orders}")
    for currency, amount in sorted(rank.min_spend.items()):
        parts.append(f"spend {figures.spend.get(currency, Decimal(0))} / {amount} {currency}")
    if rank.min_points is not None:
        parts.append(f"points {figures.points} / {rank.min_points}")
    return f"{rank.name} ({rank.combine}: {', '.join(parts)})"


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


# --- the ladder as merchants write it in Dashboard ------------------------------------------

# Order counts only: they fit a store in any currency. Spend thresholds name a currency, so
# staff add them in their store's own ('orders 5 or spend 300 USD or spend 1200 PLN').
DEFAULT_LADDER_TEXT = """Regular (REGULAR)
Silver (SILVER): orders 3; points x1.5
Gold (GOLD): orders 5; points x2; discount 3%
Platinum (PLATINUM): orders 10; points x3; discount 5%; perks Free shipping"""


def parse_ladder(text: str, window: Window | None = None, inactive_months=None) -> RankLadder:
    """Read a ladder written one rank a line, lowest first (see `DEFAULT_LADDER_TEXT`).

    A line is `Name (CODE)`, then optionally `: ` thresholds joined by `or` (one is enough) or
    `and` (all of them): `orders N`, `spend AMOUNT CURRENCY`, `points N` (points earned), then
    `; ` benefits: `points xM` (multiplier), `discount P%`, `perks free text` (last). Raises
    `RankError` naming the line and rank, or the rank and field.
    """
    ranks = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            ranks.append(_parse_rank_line(number, line))
    return RankLadder(ranks, window, inactive_months)


def _parse_rank_line(number: int, line: str) -> Rank:
    head, _, spec = line.partition(":")
    name, open_paren, code = head.partition("(")
    name, code = name.strip(), code.strip()
    if not open_paren or not code.endswith(")") or not name:
        raise RankError(f"line {number}", f"write it as 'Gold (GOLD): orders 5', not '{line}'")
    code = code[:-1].strip()
    where = f"line {number} ({name})"
    spec, _, perks = spec.partition("; perks ")
    thresholds, *benefits = (part.strip() for part in spec.split(";"))
    fields: dict = {"perks": perks.strip()}
    if thresholds:
        words = thresholds.split()
        joins = {word for word in words if word in ("and", "or")}
        if len(joins) > 1:
            raise RankError(where, "thresholds are joined by 'and' or by 'or', not both")
        fields["combine"] = "all" if joins == {"and"} else "any"
        join = next(iter(joins), "or")
        for condition in (part.strip() for part in thresholds.split(f" {join} ")):
            _parse_threshold(where, condition, fields)
    for benefit in benefits:
        if not benefit:
            continue
        kind, _, value = benefit.partition(" ")
        try:
            if kind == "points" and value.startswith("x"):
                fields["points_multiplier"] = Decimal(value[1:])
            elif kind == "discount" and value.endswith("%"):
                fields["discount_percent"] = Decimal(value[:-1])
            else:
                raise ValueError
        except (ValueError, ArithmeticError):
            raise RankError(
                where, f"'{benefit}' is not 'points x2', 'discount 5%' or 'perks ...'"
            ) from None
    return Rank(name=name, code=code, **fields)


def _parse_threshold(where: str, condition: str, fields: dict) -> None:
    words = condition.split()
    try:
        if len(words) == 2 and words[0] in ("orders", "points"):
            fields["min_orders" if words[0] == "orders" else "min_points"] = int(words[1])
            return
        if len(words) == 3 and words[0] == "spend":
            fields.setdefault("min_spend", {})[words[2]] = Decimal(words[1])
            return
    except (ValueError, ArithmeticError):
        pass
    raise RankError(where, f"'{condition}' is not 'orders 5', 'spend 50000 JPY' or 'points 1000'")

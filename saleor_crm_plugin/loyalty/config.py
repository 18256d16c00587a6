"""The loyalty settings as merchants type them in Dashboard, read into typed values. Pure.

Each `parse_*` takes the text of one setting and raises `ValueError` saying what is wrong (the
caller, `conf.parse_config`, adds the setting's name). The formats are shown in each setting's
help text in Dashboard, with the defaults below as examples.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum

from ..money import minor_unit, validate_currency
from .points import EarnRate, EarnRules, Rounding
from .ranks import RankLadder, Window, WindowKind

__all__ = [
    "DEFAULT_BONUSES_TEXT",
    "DEFAULT_EARN_RATES_TEXT",
    "DEFAULT_EXPIRY_TEXT",
    "DEFAULT_REDEMPTION_TEXT",
    "DEFAULT_WINDOW_TEXT",
    "Bonuses",
    "Expiry",
    "ExpiryKind",
    "LoyaltyConfig",
    "Redemption",
    "format_window",
    "ladder_version",
    "parse_bonuses",
    "parse_earn_rates",
    "parse_expiry",
    "parse_redemption",
    "parse_window",
]

DEFAULT_WINDOW_TEXT = "rolling 12 months, on day 1"
DEFAULT_EARN_RATES_TEXT = "JPY: 1 per 100\nUSD: 1 per 1\nEUR: 1 per 1"
DEFAULT_BONUSES_TEXT = "first order +100\nbirthday month x2"
DEFAULT_EXPIRY_TEXT = "12 months after earning"
DEFAULT_REDEMPTION_TEXT = (
    "JPY: 1 point = 1 JPY; min 100; max 50000\nUSD: 100 points = 1 USD; min 500"
)


class ExpiryKind(Enum):
    NEVER = "never"
    LOT = "lot"  # each earning expires N months after it was earned
    INACTIVITY = "inactivity"  # the whole balance, N months after the last activity


@dataclass(frozen=True)
class Expiry:
    kind: ExpiryKind = ExpiryKind.NEVER
    months: int = 0


@dataclass(frozen=True)
class Bonuses:
    """Fixed and multiplied extras: the first order, the birthday month, a linked account."""

    first_order: int = 0
    birthday_multiplier: Decimal = Decimal(1)
    # A key in the user's private metadata (e.g. line_user_id): once it holds a value, the
    # customer gets `link_points` once.
    link_key: str | None = None
    link_points: int = 0


@dataclass(frozen=True)
class Redemption:
    """`value` of the currency for every `points` points, within `min_points`..`max_points`."""

    currency: str
    points: int
    value: Decimal
    min_points: int = 1
    max_points: int | None = None

    def amount_for(self, points: int) -> Decimal:
        """The gift card amount `points` buy, rounded down to the currency's minor unit."""
        exact = Decimal(points) * self.value / self.points
        return exact.quantize(Decimal(1).scaleb(-minor_unit(self.currency)), rounding="ROUND_FLOOR")


@dataclass(frozen=True)
class LoyaltyConfig:
    enabled: bool
    ladder: RankLadder
    ladder_text: str
    earn: EarnRules
    bonuses: Bonuses
    return_window_days: int
    allow_negative: bool
    expiry: Expiry
    redemption: dict[str, Redemption] = field(default_factory=dict)
    points_on_renewals: bool = False
    customer_types: bool = False
    earn_from: date | None = None  # orders paid before this day (store time) earn nothing
    currency: str = ""  # the `points-currency` setting ("": none)

    @property
    def default_currency(self) -> str:
        """The store's default currency for points: the setting, else the earn rates' only
        currency; "" when neither names one."""
        if self.currency:
            return self.currency
        rates = sorted(self.earn.rates)
        return rates[0] if len(rates) == 1 else ""

    @property
    def ladder_version(self) -> str:
        return ladder_version(self.ladder_text, self.ladder.window, self.ladder.inactive_months)


def ladder_version(text: str, window: Window, inactive_months: int | None) -> str:
    """A short digest naming one rank configuration (recorded with every rank change)."""
    canonical = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    payload = f"{canonical}|{window}|{inactive_months}"
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValueError(f"'{text}' is not a number ({what})") from None
    if not value.is_finite():
        raise ValueError(f"'{text}' is not a number ({what})")
    return value


def _whole(text: str, what: str, low: int = 0, high: int = 10**9) -> int:
    text = text.strip().lstrip("+")
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"'{text}' is not a whole number from {low} to {high} ({what})")
    return int(text)


def _lines(text: str):
    for number, raw in enumerate(str(text or "").splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def _currency_line(number: int, line: str, example: str) -> tuple[str, list[str]]:
    currency, colon, rest = line.partition(":")
    if not colon:
        raise ValueError(f"line {number}: write it as '{example}', not '{line}'")
    try:
        code = validate_currency(currency)
    except ValueError as error:
        raise ValueError(f"line {number}: {error}") from None
    return code, [part.strip() for part in rest.split(";")]


def parse_window(text: str) -> Window:
    """`lifetime`, `rolling 12 months, on day 1` or `yearly from 04-01` (month-day)."""
    words = str(text or "").replace(",", " ").lower().split()
    try:
        if words == ["lifetime"]:
            return Window(WindowKind.LIFETIME)
        if len(words) in (3, 6) and words[0] == "rolling" and words[2] in ("month", "months"):
            day = 1
            if len(words) == 6:
                if words[3:5] != ["on", "day"]:
                    raise ValueError
                day = _whole(words[5], "the day of the month", 1, 28)
            months = _whole(words[1], "months", 1, 120)
            return Window(WindowKind.ROLLING, months=months, day=day)
        if len(words) == 3 and words[:2] == ["yearly", "from"]:
            month, dash, day = words[2].partition("-")
            if not dash:
                raise ValueError
            return Window(
                WindowKind.YEARLY,
                month=_whole(month, "the month", 1, 12),
                day=_whole(day, "the day, at most 28", 1, 28),
            )
    except ValueError as error:
        if str(error):
            raise
    except Exception as error:  # a Window check
        raise ValueError(str(error)) from None
    raise ValueError(
        f"'{text}' is not 'lifetime', 'rolling 12 months, on day 1' or 'yearly from 04-01'"
    )


def format_window(window: Window) -> str:
    """The window as `parse_window` reads it."""
    if window.kind is WindowKind.LIFETIME:
        return "lifetime"
    if window.kind is WindowKind.ROLLING:
        return f"rolling {window.months} months, on day {window.day}"
    return f"yearly from {window.month:02d}-{window.day:02d}"


def parse_earn_rates(text: str) -> tuple[dict[str, EarnRate], dict[str, Decimal]]:
    """One currency a line: `JPY: 1 per 100` or `JPY: 1 per 100; minimum 1000`."""
    rates, minimums = {}, {}
    example = "JPY: 1 per 100; minimum 1000"
    for number, line in _lines(text):
        currency, parts = _currency_line(number, line, example)
        if currency in rates:
            raise ValueError(f"line {number}: {currency} has a rate on an earlier line")
        words = parts[0].split()
        if len(words) != 3 or words[1] != "per":
            raise ValueError(f"line {number} ({currency}): write the rate as '1 per 100'")
        points = _number(words[0], f"{currency} points")
        per = _number(words[2], f"{currency} amount")
        if points <= 0 or per <= 0:
            raise ValueError(f"line {number} ({currency}): the rate's numbers must be above 0")
        rates[currency] = EarnRate(points, per)
        for part in parts[1:]:
            words = part.split()
            if len(words) != 2 or words[0] != "minimum":
                raise ValueError(f"line {number} ({currency}): '{part}' is not 'minimum 1000'")
            minimum = _number(words[1], f"{currency} minimum")
            if minimum < 0:
                raise ValueError(f"line {number} ({currency}): the minimum is negative")
            minimums[currency] = minimum
    return rates, minimums


def parse_bonuses(text: str) -> Bonuses:
    """`first order +100`, `birthday month x2`, `linked line_user_id +300`: one a line."""
    values: dict = {}
    for number, line in _lines(text):
        words = line.split()
        if words[:2] == ["first", "order"] and len(words) == 3 and words[2].startswith("+"):
            values["first_order"] = _whole(words[2], "first order points")
        elif words[:2] == ["birthday", "month"] and len(words) == 3 and words[2].startswith("x"):
            multiplier = _number(words[2][1:], "birthday multiplier")
            if not 1 <= multiplier <= 100:
                raise ValueError(f"line {number}: the birthday multiplier must be 1 to 100")
            values["birthday_multiplier"] = multiplier
        elif words[:1] == ["linked"] and len(words) == 3 and words[2].startswith("+"):
            if len(words[1]) > 128:
                raise ValueError(f"line {number}: the metadata key is longer than 128 characters")
            values["link_key"] = words[1]
            values["link_points"] = _whole(words[2], "linked account points")
        else:
            raise ValueError(
                f"line {number}: '{line}' is not 'first order +100', 'birthday month x2' "
                "or 'linked line_user_id +300'"
            )
    return Bonuses(**values)


def parse_expiry(text: str) -> Expiry:
    """`never`, `12 months after earning` or `12 months without activity`."""
    words = str(text or "").lower().split()
    if words == ["never"]:
        return Expiry()
    if len(words) == 4 and words[1] in ("month", "months"):
        kind = {
            ("after", "earning"): ExpiryKind.LOT,
            ("without", "activity"): ExpiryKind.INACTIVITY,
        }
        if tuple(words[2:]) in kind:
            return Expiry(kind[tuple(words[2:])], _whole(words[0], "months", 1, 120))
    raise ValueError(
        f"'{text}' is not 'never', '12 months after earning' or '12 months without activity'"
    )


def parse_redemption(text: str) -> dict[str, Redemption]:
    """One currency a line: `JPY: 1 point = 1 JPY; min 100; max 50000` (min, max optional)."""
    result = {}
    example = "JPY: 1 point = 1 JPY; min 100; max 50000"
    for number, line in _lines(text):
        currency, parts = _currency_line(number, line, example)
        where = f"line {number} ({currency})"
        if currency in result:
            raise ValueError(f"{where}: {currency} has a rate on an earlier line")
        words = parts[0].split()
        if len(words) != 5 or words[1] not in ("point", "points") or words[2] != "=":
            raise ValueError(f"{where}: write the rate as '1 point = 1 {currency}'")
        if words[4].upper() != currency:
            raise ValueError(f"{where}: the rate is in {words[4]}, the line in {currency}")
        points = _whole(words[0], f"{currency} points", 1)
        value = _number(words[3], f"{currency} value")
        if value <= 0:
            raise ValueError(f"{where}: the value of the points must be above 0")
        limits = {}
        for part in parts[1:]:
            name, _, amount = part.partition(" ")
            if name not in ("min", "max") or name in limits:
                raise ValueError(f"{where}: '{part}' is not 'min 100' or 'max 50000'")
            limits[name] = _whole(amount, f"{currency} {name} points", 1)
        low, high = limits.get("min", 1), limits.get("max")
        if high is not None and high < low:
            raise ValueError(f"{where}: max {high} is below min {low}")
        redemption = Redemption(currency, points, value, low, high)
        if redemption.amount_for(low) <= 0:
            raise ValueError(f"{where}: min {low} points buy less than one {currency} unit")
        result[currency] = redemption
    return result


def earn_rules(
    rates_text: str, bonuses: Bonuses, include_tax: bool, include_shipping: bool, rounding: str
) -> EarnRules:
    rates, minimums = parse_earn_rates(rates_text)
    return EarnRules(
        rates=rates,
        minimum_order=minimums,
        include_tax=include_tax,
        include_shipping=include_shipping,
        rounding=Rounding(rounding),
        first_order_bonus=bonuses.first_order,
        birthday_multiplier=bonuses.birthday_multiplier,
    )

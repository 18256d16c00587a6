"""Points earned on an order, and how many a refund takes back. Pure: no Django, no Saleor.

Points are whole numbers, computed in `Decimal` from the order's amounts in its currency.
One rounding happens, at the end: the exact points of the base amount (at the currency's rate)
times the rank's and the birthday month's multipliers, then rounded by the store's rule (floor
by default: 1 point per full 100 yen). So 150 yen at 1 point per 100 yen earns 1 point, and 3
points for a Gold customer who earns double (1.5 x 2, floored), never 2 (1 x 2) nor 2.9999.
Fixed bonuses (the customer's first order) are added after the rounding.

A refund takes back points in proportion to the share of the order's total refunded so far,
rounded half up, so any sequence of partial refunds that adds up to the whole order takes back
exactly what was earned, and a cancellation takes back everything.
"""

from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import Enum

from ..money import validate_currency

__all__ = [
    "EarnRate",
    "EarnRules",
    "Earning",
    "OrderAmounts",
    "Rounding",
    "earn_points",
    "points_to_take_back",
]


class Rounding(Enum):
    FLOOR = "floor"
    HALF_UP = "half_up"
    CEILING = "ceiling"

    @property
    def decimal_mode(self) -> str:
        return {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "ceiling": ROUND_CEILING}[
            self.value
        ]


@dataclass(frozen=True)
class EarnRate:
    """`points` points for every `per` of the currency (1 per 100 JPY, 1 per 1 USD)."""

    points: Decimal
    per: Decimal

    def __post_init__(self):
        if not (isinstance(self.points, Decimal) and self.points.is_finite() and self.points > 0):
            raise ValueError(f"points: must be a positive number, not {self.points!r}")
        if not (isinstance(self.per, Decimal) and self.per.is_finite() and self.per > 0):
            raise ValueError(f"per: must be a positive amount, not {self.per!r}")


@dataclass(frozen=True)
class EarnRules:
    """The store's earning rules. A currency without a rate earns no points.

    `minimum_order`: per currency, the base amount an order must reach to earn anything.
    `include_tax` / `include_shipping`: what the base amount counts (discounts are already out
    of the order's totals). `first_order_bonus`: points added to the customer's first counted
    order. `birthday_multiplier`: multiplies the points of orders in the customer's birthday
    month (1 = no bonus).
    """

    rates: dict[str, EarnRate]
    minimum_order: dict[str, Decimal] = field(default_factory=dict)
    include_tax: bool = True
    include_shipping: bool = False
    rounding: Rounding = Rounding.FLOOR
    first_order_bonus: int = 0
    birthday_multiplier: Decimal = Decimal(1)

    def __post_init__(self):
        for currency in (*self.rates, *self.minimum_order):
            if validate_currency(currency) != currency:
                raise ValueError(f"{currency!r}: write currency codes in upper case")
        for currency, amount in self.minimum_order.items():
            if not (isinstance(amount, Decimal) and amount.is_finite() and amount >= 0):
                raise ValueError(f"minimum_order.{currency}: must be 0 or more, not {amount!r}")
        if not isinstance(self.first_order_bonus, int) or self.first_order_bonus < 0:
            raise ValueError(
                f"first_order_bonus: must be a whole number of points, not {self.first_order_bonus!r}"
            )
        multiplier = self.birthday_multiplier
        if not (isinstance(multiplier, Decimal) and multiplier.is_finite() and multiplier >= 1):
            raise ValueError(f"birthday_multiplier: must be 1 or more, not {multiplier!r}")


@dataclass(frozen=True)
class OrderAmounts:
    """An order's totals in its currency (after discounts), with and without tax."""

    currency: str
    total_gross: Decimal
    total_net: Decimal
    shipping_gross: Decimal = Decimal(0)
    shipping_net: Decimal = Decimal(0)

    def base(self, rules: EarnRules) -> Decimal:
        """The amount points are earned on, never below 0."""
        if rules.include_tax:
            total, shipping = self.total_gross, self.shipping_gross
        else:
            total, shipping = self.total_net, self.shipping_net
        return max(Decimal(0), total if rules.include_shipping else total - shipping)


@dataclass(frozen=True)
class Earning:
    """What an order earns: `points` in all, and how they came about."""

    points: int
    base_amount: Decimal
    base_points: Decimal  # exact, before multipliers and rounding
    multiplier: Decimal
    bonus: int
    reasons: tuple[str, ...]


def earn_points(
    order: OrderAmounts,
    rules: EarnRules,
    rank_multiplier: Decimal = Decimal(1),
    *,
    first_order: bool = False,
    birthday_month: bool = False,
) -> Earning:
    """Return the points an order earns under `rules` for a customer of a given rank.

    Parameters
    ----------
    order
        The order's amounts (`OrderAmounts`).
    rules
        The store's `EarnRules`.
    rank_multiplier
        The customer's rank benefit (1 = none, 2 = double points); must be at least 0.
    first_order, birthday_month
        Whether this is the customer's first counted order, and whether it was placed in the
        customer's birthday month (in the store's time zone): the caller decides both.

    Returns
    -------
    Earning
        `points` is a whole number >= 0; `reasons` names each part ("base", "rank x2",
        "birthday x2", "first order +100"), or why nothing was earned.
    """
    if not (rank_multiplier.is_finite() and rank_multiplier >= 0):
        raise ValueError(f"rank_multiplier: must be 0 or more, not {rank_multiplier!r}")
    base = order.base(rules)
    nothing = Earning(0, base, Decimal(0), Decimal(1), 0, ())
    rate = rules.rates.get(order.currency)
    if rate is None:
        return replace(nothing, reasons=(f"no earning rate for {order.currency}",))
    minimum = rules.minimum_order.get(order.currency, Decimal(0))
    if base <= 0 or base < minimum:
        return replace(nothing, reasons=(f"below the minimum of {minimum} {order.currency}",))
    exact = base * rate.points / rate.per
    multiplier = rank_multiplier
    reasons = ["base"]
    if rank_multiplier != 1:
        reasons.append(f"rank x{_plain(rank_multiplier)}")
    if birthday_month and rules.birthday_multiplier != 1:
        multiplier *= rules.birthday_multiplier
        reasons.append(f"birthday x{_plain(rules.birthday_multiplier)}")
    points = int((exact * multiplier).to_integral_value(rounding=rules.rounding.decimal_mode))
    bonus = rules.first_order_bonus if first_order else 0
    if bonus:
        reasons.append(f"first order +{bonus}")
    return Earning(points + bonus, base, exact, multiplier, bonus, tuple(reasons))


def points_to_take_back(earned: int, order_total: Decimal, refunded_total: Decimal) -> int:
    """How many of an order's `earned` points the refunds so far take back, in all.

    `refunded_total` is everything refunded on the order until now (not this refund alone), so
    each new refund takes back the difference with what was already taken back. The share is
    rounded half up; a refund of the whole total (or more) takes back all `earned` points.
    """
    if earned < 0:
        raise ValueError(f"earned: must be 0 or more, not {earned}")
    if refunded_total <= 0 or earned == 0:
        return 0
    if order_total <= 0 or refunded_total >= order_total:
        return earned
    share = Decimal(earned) * refunded_total / order_total
    return int(share.to_integral_value(rounding=ROUND_HALF_UP))


def _plain(value: Decimal) -> str:
    """1.50 -> '1.5', 2.0 -> '2'."""
    return format(value.normalize(), "f")

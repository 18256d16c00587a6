from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saleor_crm_plugin.loyalty.points import (
    EarnRate,
    EarnRules,
    OrderAmounts,
    Rounding,
    earn_points,
    points_to_take_back,
)

D = Decimal
RULES = EarnRules(
    rates={"JPY": EarnRate(D(1), D(100)), "USD": EarnRate(D(1), D(1))},
    minimum_order={"JPY": D(500)},
    first_order_bonus=100,
    birthday_multiplier=D(2),
)


def _jpy(gross, net=None, shipping=0):
    net = gross if net is None else net
    return OrderAmounts("JPY", D(gross), D(net), D(shipping), D(shipping))


@pytest.mark.parametrize(
    ("order", "multiplier", "expected"),
    [
        (_jpy(26828), D(1), 268),  # 1 per full 100 yen, never 268.28
        (_jpy(150 + 500), D(1), 6),
        (_jpy(650), D(2), 13),  # 6.5 x 2 rounded once, not 6 x 2
        (_jpy(650), D("1.5"), 9),  # 9.75 floored
        (_jpy(499), D(1), 0),  # below the 500 yen minimum
        (OrderAmounts("USD", D("19.99"), D("18.17")), D(1), 19),
        (OrderAmounts("USD", D("0.99"), D("0.90")), D(3), 2),  # 2.97 floored
        (OrderAmounts("EUR", D("100.00"), D("90.00")), D(1), 0),  # no rate for EUR
    ],
    ids=[
        "jpy-floor",
        "jpy-small",
        "rank-once",
        "rank-fraction",
        "minimum",
        "usd",
        "usd-cents",
        "no-rate",
    ],
)
def test_points_are_whole_and_rounded_once(order, multiplier, expected):
    assert earn_points(order, RULES, multiplier).points == expected


def test_the_base_follows_the_tax_and_shipping_settings():
    # given: 11,000 yen with 1,000 tax, of which 1,100 shipping (100 tax)
    order = OrderAmounts("JPY", D(11000), D(10000), D(1100), D(1000))

    # when / then
    assert earn_points(order, RULES).points == 99  # with tax, without shipping: 9,900
    without_tax = EarnRules(rates=RULES.rates, include_tax=False)
    assert earn_points(order, without_tax).points == 90  # 10,000 - 1,000
    everything = EarnRules(rates=RULES.rates, include_shipping=True)
    assert earn_points(order, everything).points == 110


def test_bonuses_and_the_reasons_they_come_with():
    earning = earn_points(_jpy(1000), RULES, D(2), first_order=True, birthday_month=True)

    assert earning.points == 10 * 2 * 2 + 100
    assert earning.base_amount == D(1000)
    assert earning.base_points == D(10)
    assert earning.multiplier == D(4)
    assert earning.reasons == ("base", "rank x2", "birthday x2", "first order +100")
    below = earn_points(_jpy(400), RULES, first_order=True)
    assert (below.points, below.reasons) == (0, ("below the minimum of 500 JPY",))


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [(Rounding.FLOOR, 2), (Rounding.HALF_UP, 3), (Rounding.CEILING, 3)],
    ids=["floor", "half-up", "ceiling"],
)
def test_the_rounding_rule(rounding, expected):
    rules = EarnRules(rates=RULES.rates, rounding=rounding)
    assert earn_points(_jpy(250), rules).points == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rates": {"jpy": EarnRate(D(1), D(100))}}, "'jpy': write currency codes in upper case"),
        ({"rates": {}, "minimum_order": {"JPY": D(-1)}}, "minimum_order.JPY: must be 0 or more"),
        ({"rates": {}, "first_order_bonus": -5}, "first_order_bonus: must be a whole number"),
        ({"rates": {}, "birthday_multiplier": D("0.5")}, "birthday_multiplier: must be 1 or more"),
    ],
    ids=["lower-case", "negative-minimum", "negative-bonus", "birthday-below-1"],
)
def test_rules_refuse_bad_values_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarnRules(**kwargs)


def test_a_negative_rank_multiplier_is_refused():
    with pytest.raises(ValueError, match="rank_multiplier: must be 0 or more"):
        earn_points(_jpy(1000), RULES, D(-1))


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="per: must be a positive amount"):
        EarnRate(D(1), D(0))
    with pytest.raises(ValueError, match="points: must be a positive number"):
        EarnRate(D(-1), D(100))


@pytest.mark.parametrize(
    ("refunded", "expected"),
    [(D(0), 0), (D(2500), 25), (D(2550), 26), (D(9999), 100), (D(10000), 100), (D(12000), 100)],
    ids=["none", "quarter", "half-up", "almost-all", "all", "more-than-all"],
)
def test_refunds_take_back_a_proportional_share(refunded, expected):
    assert points_to_take_back(100, D(10000), refunded) == expected


@given(
    earned=st.integers(0, 100_000),
    parts=st.lists(st.integers(1, 10_000), min_size=1, max_size=12),
)
def test_partial_refunds_adding_up_to_the_order_take_back_exactly_what_was_earned(earned, parts):
    # given: an order refunded in parts, each refund adding to the total refunded so far
    total = D(sum(parts))
    taken, refunded = [], D(0)

    # when
    for part in parts:
        refunded += part
        taken.append(points_to_take_back(earned, total, refunded))

    # then: never more than earned, never less than before, all of it at the end
    assert taken == sorted(taken)
    assert all(0 <= t <= earned for t in taken)
    assert taken[-1] == earned

"""Repeat rate per product, F2, cohort retention and LTV by group, on a literal ledger whose
figures are computed by hand below (days between purchases are whole UTC days)."""

from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest

from saleor_crm_plugin.analytics.reports import (
    ALL,
    cohort_retention,
    f2_conversion,
    ltv_by_group,
    product_repeat,
)

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)


def _at(month, day, hour=10):
    return datetime(2025, month, day, hour, tzinfo=UTC)


# Purchase days (UTC): a Jan 5, Jan 20 (+15), Mar 1 (+55); b Jan 10 (two orders, one a
# subscription start, in two channels), May 10 (+120); c Feb 3, Jun 20 (+137); d Jun 15 only;
# e's JPY order is after as_of; e and f buy in USD in March.
ORDERS = pd.DataFrame(
    [
        ("o1", "a", _at(1, 5), "web", "JPY", 1000, False),
        ("o2", "a", _at(1, 20), "web", "JPY", 500, False),
        ("o3", "a", _at(3, 1), "web", "JPY", 700, False),
        ("o4", "b", _at(1, 10), "shop", "JPY", 2000, True),
        ("o5", "b", _at(1, 10, 15), "web", "JPY", 300, False),
        ("o6", "b", _at(5, 10), "web", "JPY", 400, False),
        ("o7", "c", _at(2, 3), "web", "JPY", 800, False),
        ("o8", "c", _at(6, 20), "web", "JPY", 100, False),
        ("o9", "d", _at(6, 15), "web", "JPY", 900, False),
        ("o10", "e", _at(7, 2), "web", "JPY", 900, False),
        ("u1", "e", _at(3, 15), "usd", "USD", 1999, False),
        ("u2", "e", _at(4, 2), "usd", "USD", 1000, False),
        ("u3", "f", _at(3, 20), "usd", "USD", 502, False),
    ],
    columns=[
        "order_id",
        "customer_id",
        "placed_at",
        "channel",
        "currency",
        "amount",
        "subscription_start",
    ],
)
LINES = pd.DataFrame(
    [
        ("o1", "P1", "v1a", "C1", "Tea"),
        ("o1", "P2", "v2a", "C1", "Cup"),
        ("o2", "P1", "v1b", "C1", "Tea"),
        ("o3", "P2", "v2a", "C1", "Cup"),
        ("o4", "P1", "v1a", "C1", "Tea"),
        ("o5", "P1", "v1a", "C1", "Tea"),
        ("o6", "P3", "v3a", "C2", "Pot"),
        ("o7", "P2", "v2a", "C1", "Cup"),
        ("o8", "P2", "v2a", "C1", "Cup"),
        ("o9", "P1", "v1a", "C1", "Green tea"),  # the product's last line names it
        ("o10", "P3", "v3a", "C2", "Pot"),
        ("o10", None, None, None, "Gift wrap"),  # no product: left out
    ],
    columns=["order_id", "product_id", "variant_id", "category_id", "product_name"],
)


def _rows(frame: pd.DataFrame, columns: list[str], **where) -> list[tuple]:
    """The rows matching `where`, as tuples of `columns` (NaN as None)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    picked = frame.loc[mask, columns].astype(object)
    return [
        tuple(None if (value is None or value != value) else value for value in row)
        for row in picked.itertuples(index=False)
    ]


REPEAT = [
    "item",
    "name",
    "buyers",
    "repeat_buyers",
    "repeat_rate",
    "first_buyers",
    "observed_30",
    "second_30",
    "share_30",
    "observed_90",
    "second_90",
    "observed_180",
    "share_180",
    "median_days_to_second",
    "repeat_interval_days",
]


@pytest.mark.parametrize(
    ("channel", "first_month", "expected"),
    [
        (
            ALL,
            ALL,
            [
                # P1: a (Jan 5, Jan 20), b (Jan 10 twice: one purchase), d (Jun 15). First
                # buyers a, b, d; d's windows not over; a's second in 15 days, b's in 120;
                # 180 days after Jan 5 is Jul 4: no window of 180 days is over.
                ("P1", "Green tea", 3, 1, 1 / 3, 3, 2, 1, 0.5, 2, 1, 0, None, 67.5, 15.0),
                # P2: a (Jan 5, Mar 1: 55 days), c (Feb 3, Jun 20: 137 days), both first.
                ("P2", "Cup", 2, 2, 1.0, 2, 2, 1, 0.5, 2, 1, 0, None, 76.0, 96.0),
                ("P3", "Pot", 1, 0, 0.0, 0, 0, 0, None, 0, 0, 0, None, None, None),
            ],
        ),
        (
            ALL,
            "2025-01",
            [
                ("P1", "Green tea", 2, 1, 0.5, 2, 2, 1, 0.5, 2, 1, 0, None, 67.5, 15.0),
                ("P2", "Cup", 1, 1, 1.0, 1, 1, 1, 1.0, 1, 1, 0, None, 15.0, 55.0),
                ("P3", "Pot", 1, 0, 0.0, 0, 0, 0, None, 0, 0, 0, None, None, None),
            ],
        ),
        (
            ALL,
            "2025-06",
            [("P1", "Green tea", 1, 0, 0.0, 1, 0, 0, None, 0, 0, 0, None, None, None)],
        ),
        (
            # the shop alone: b's one order there, never a second
            "shop",
            ALL,
            [("P1", "Green tea", 1, 0, 0.0, 1, 1, 0, 0.0, 1, 0, 0, None, None, None)],
        ),
    ],
    ids=["all", "first-month-january", "young-cohort", "one-channel"],
)
def test_repeat_rate_per_product(channel, first_month, expected):
    # when
    report = product_repeat(ORDERS, LINES, AS_OF)

    # then
    assert _rows(report, REPEAT, channel=channel, first_month=first_month) == expected


def test_repeat_rate_per_variant_and_category():
    # when
    variants = product_repeat(ORDERS, LINES, AS_OF, item="variant_id")
    categories = product_repeat(ORDERS, LINES, AS_OF, item="category_id", name=None)

    # then: a's Jan 20 tea is another variant, so nobody bought v1a twice
    columns = ["item", "buyers", "repeat_buyers", "first_buyers", "repeat_interval_days"]
    assert _rows(variants, columns, channel=ALL, first_month=ALL) == [
        ("v1a", 3, 0, 3, None),
        ("v2a", 2, 2, 2, 96.0),
        ("v1b", 1, 0, 0, None),
        ("v3a", 1, 0, 0, None),
    ]
    # C1: a on three days (gaps 15, 40), b once, c twice (137), d once
    assert _rows(categories, [*columns, "name"], channel=ALL, first_month=ALL) == [
        ("C1", 4, 2, 4, 40.0, ""),
        ("C2", 1, 0, 0, None, ""),
    ]


def test_channels_and_months_of_the_repeat_report():
    # when
    report = product_repeat(ORDERS, LINES, AS_OF)

    # then: every channel with product lines, each month with a first purchase in it
    keys = report[["channel", "first_month"]].drop_duplicates()
    assert list(keys.itertuples(index=False, name=None)) == [
        (ALL, ALL),
        (ALL, "2025-01"),
        (ALL, "2025-02"),
        (ALL, "2025-06"),
        ("shop", ALL),
        ("shop", "2025-01"),
        ("web", ALL),
        ("web", "2025-01"),
        ("web", "2025-02"),
        ("web", "2025-06"),
    ]


F2 = ["by", "value", "name", "first_buyers", "observed_30", "second_30", "share_30"]


@pytest.mark.parametrize(
    ("channel", "first_month", "expected"),
    [
        (
            ALL,
            ALL,
            [
                # a (+15), b (+120), c (+137), d (too young), e (USD, +18), f (none)
                ("all", "", "", 6, 5, 2, 0.4),
                ("subscription", "no", "", 5, 4, 2, 0.5),
                ("subscription", "yes", "", 1, 1, 0, 0.0),  # b
                ("product", "P1", "Green tea", 3, 2, 1, 0.5),  # a, b, d
                ("product", "P2", "Cup", 2, 2, 1, 0.5),  # a, c
            ],
        ),
        (
            ALL,
            "2025-06",  # d's window not over: no share yet
            [
                ("all", "", "", 1, 0, 0, None),
                ("subscription", "no", "", 1, 0, 0, None),
                ("product", "P1", "Green tea", 1, 0, 0, None),
            ],
        ),
        (
            "web",  # b's first order in the web channel is o5 (Jan 10), no subscription start
            "2025-01",
            [
                ("all", "", "", 2, 2, 1, 0.5),
                ("subscription", "no", "", 2, 2, 1, 0.5),
                ("product", "P1", "Green tea", 2, 2, 1, 0.5),
                ("product", "P2", "Cup", 1, 1, 1, 1.0),
            ],
        ),
    ],
    ids=["all", "young-cohort", "one-channel"],
)
def test_f2_conversion(channel, first_month, expected):
    # when
    report = f2_conversion(ORDERS, LINES, AS_OF)

    # then
    assert _rows(report, F2, channel=channel, first_month=first_month) == expected


def test_f2_windows_of_60_and_90_days():
    # when
    report = f2_conversion(ORDERS, LINES, AS_OF)

    # then: a's 15 days and e's 18 within both; b (120), c (137) outside
    columns = ["observed_60", "second_60", "share_60", "observed_90", "second_90", "share_90"]
    assert _rows(report, columns, channel=ALL, first_month=ALL, by="all") == [
        (5, 2, 0.4, 5, 2, 0.4)
    ]


COHORT = [
    "months_since",
    "customers",
    "active",
    "retention",
    "revenue",
    "revenue_per_customer",
    "cumulative_per_customer",
    "complete",
]


@pytest.mark.parametrize(
    ("channel", "currency", "cohort_month", "expected"),
    [
        (
            ALL,
            "JPY",
            "2025-01",  # a and b
            [
                (0, 2, 2, 1.0, Decimal(3800), Decimal(1900), Decimal(1900), True),
                (1, 2, 0, 0.0, Decimal(0), Decimal(0), Decimal(1900), True),
                (2, 2, 1, 0.5, Decimal(700), Decimal(350), Decimal(2250), True),
                (3, 2, 0, 0.0, Decimal(0), Decimal(0), Decimal(2250), True),
                (4, 2, 1, 0.5, Decimal(400), Decimal(200), Decimal(2450), True),
                (5, 2, 0, 0.0, Decimal(0), Decimal(0), Decimal(2450), True),
            ],
        ),
        (
            ALL,
            "JPY",
            "2025-06",
            [(0, 1, 1, 1.0, Decimal(900), Decimal(900), Decimal(900), True)],
        ),
        (
            ALL,
            "USD",
            "2025-03",  # e 19.99 + f 5.02, then e 10.00: halves rounded up
            [
                (0, 2, 2, 1.0, Decimal("25.01"), Decimal("12.51"), Decimal("12.51"), True),
                (1, 2, 1, 0.5, Decimal("10.00"), Decimal("5.00"), Decimal("17.51"), True),
                (2, 2, 0, 0.0, Decimal("0.00"), Decimal("0.00"), Decimal("17.51"), True),
                (3, 2, 0, 0.0, Decimal("0.00"), Decimal("0.00"), Decimal("17.51"), True),
            ],
        ),
        (
            "web",  # b's first web order is o5 (300)
            "JPY",
            "2025-01",
            [
                (0, 2, 2, 1.0, Decimal(1800), Decimal(900), Decimal(900), True),
                (1, 2, 0, 0.0, Decimal(0), Decimal(0), Decimal(900), True),
                (2, 2, 1, 0.5, Decimal(700), Decimal(350), Decimal(1250), True),
                (3, 2, 0, 0.0, Decimal(0), Decimal(0), Decimal(1250), True),
                (4, 2, 1, 0.5, Decimal(400), Decimal(200), Decimal(1450), True),
                (5, 2, 0, 0.0, Decimal(0), Decimal(0), Decimal(1450), True),
            ],
        ),
    ],
    ids=["january", "one-month-old", "usd-rounding", "one-channel"],
)
def test_cohort_retention(channel, currency, cohort_month, expected):
    # when
    report = cohort_retention(ORDERS, AS_OF)

    # then
    assert (
        _rows(report, COHORT, channel=channel, currency=currency, cohort_month=cohort_month)
        == expected
    )


def test_the_month_of_as_of_is_not_complete():
    # when: in the middle of June
    report = cohort_retention(ORDERS, datetime(2025, 6, 16, tzinfo=UTC))

    # then: June is the last month, still going; d's order (Jun 15) is in it, c's (Jun 20) not
    assert _rows(report, COHORT, channel=ALL, currency="JPY", cohort_month="2025-06") == [
        (0, 1, 1, 1.0, Decimal(900), Decimal(900), Decimal(900), False)
    ]
    assert _rows(
        report, COHORT, channel=ALL, currency="JPY", cohort_month="2025-02", months_since=4
    ) == [(4, 1, 0, 0.0, Decimal(0), Decimal(0), Decimal(800), False)]


LTV = ["currency", "by", "value", "name", "customers", "revenue", "average", "median"]


def test_ltv_by_segment_rank_and_first_product():
    # given
    segments = pd.DataFrame(
        [("a", "JPY", "Champions"), ("b", "JPY", "Loyal"), ("d", "JPY", "New")],
        columns=["customer_id", "currency", "segment"],
    )
    ranks = pd.DataFrame(
        [("a", "gold"), ("b", "silver"), ("c", "silver")], columns=["customer_id", "rank"]
    )

    # when
    report = ltv_by_group(ORDERS, LINES, AS_OF, segments=segments, ranks=ranks)

    # then: JPY spent a 2,200, b 2,700, c 900, d 900; USD e 29.99, f 5.02
    assert _rows(report, LTV) == [
        ("JPY", "segment", "", "", 1, Decimal(900), Decimal(900), Decimal(900)),
        ("JPY", "segment", "Champions", "", 1, Decimal(2200), Decimal(2200), Decimal(2200)),
        ("JPY", "segment", "Loyal", "", 1, Decimal(2700), Decimal(2700), Decimal(2700)),
        ("JPY", "segment", "New", "", 1, Decimal(900), Decimal(900), Decimal(900)),
        ("JPY", "rank", "", "", 1, Decimal(900), Decimal(900), Decimal(900)),
        ("JPY", "rank", "gold", "", 1, Decimal(2200), Decimal(2200), Decimal(2200)),
        ("JPY", "rank", "silver", "", 2, Decimal(3600), Decimal(1800), Decimal(1800)),
        # a, b, d: 5,800 / 3 = 1,933.33 -> 1,933; median 2,200
        ("JPY", "first_product", "P1", "Green tea", 3, Decimal(5800), Decimal(1933), Decimal(2200)),
        ("JPY", "first_product", "P2", "Cup", 2, Decimal(3100), Decimal(1550), Decimal(1550)),
        # 35.01 / 2 = 17.505 -> 17.51, the median the same
        ("USD", "segment", "", "", 2, Decimal("35.01"), Decimal("17.51"), Decimal("17.51")),
        ("USD", "rank", "", "", 2, Decimal("35.01"), Decimal("17.51"), Decimal("17.51")),
    ]


def test_no_orders_before_as_of_give_empty_reports():
    # when
    early = datetime(2024, 1, 1, tzinfo=UTC)

    # then
    assert product_repeat(ORDERS, LINES, early).empty
    assert f2_conversion(ORDERS, LINES, early).empty
    assert cohort_retention(ORDERS, early).empty
    assert ltv_by_group(ORDERS, LINES, early).empty


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: product_repeat(ORDERS, LINES, datetime(2025, 7, 1)), "aware"),  # noqa: DTZ001
        (
            lambda: product_repeat(ORDERS.drop(columns="channel"), LINES, AS_OF),
            "orders lack the column\\(s\\) channel",
        ),
        (
            lambda: f2_conversion(ORDERS, LINES.drop(columns="product_id"), AS_OF),
            "lines lack the column\\(s\\) product_id",
        ),
        (
            lambda: cohort_retention(ORDERS.assign(amount=ORDERS.amount / 100), AS_OF),
            "amount must hold integers in the currency's minor unit",
        ),
    ],
    ids=["naive-as-of", "missing-order-column", "missing-line-column", "float-amounts"],
)
def test_bad_input_is_refused_with_the_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_categorical_columns_give_the_same_reports():
    # given: what the services read (codes for millions of lines, a few thousand products)
    lines = LINES.astype({"product_id": "category", "product_name": "category"})

    # when
    repeat = product_repeat(ORDERS, lines, AS_OF)
    f2 = f2_conversion(ORDERS, lines, AS_OF)

    # then
    pd.testing.assert_frame_equal(repeat, product_repeat(ORDERS, LINES, AS_OF))
    pd.testing.assert_frame_equal(f2, f2_conversion(ORDERS, LINES, AS_OF))


def test_a_customer_without_a_rank_gets_the_one_given():
    # when
    report = ltv_by_group(ORDERS, LINES, AS_OF, no_rank="bronze")

    # then
    assert _rows(report, ["value", "customers", "revenue"], currency="JPY", by="rank") == [
        ("bronze", 4, Decimal(6700))
    ]

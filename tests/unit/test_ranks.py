from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.loyalty.ranks import (
    DEFAULT_LADDER_TEXT,
    Figures,
    Pin,
    Progress,
    Rank,
    RankError,
    RankLadder,
    Window,
    WindowKind,
    decide,
    parse_ladder,
    progress,
    qualifying_rank,
)

D = Decimal
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
REGULAR = Rank("Regular", "REGULAR")
SILVER = Rank("Silver", "SILVER", min_orders=3, min_spend={"JPY": D(30000)})
GOLD = Rank("Gold", "GOLD", min_orders=5, min_spend={"JPY": D(50000)}, points_multiplier=D(2))
PLATINUM = Rank("Platinum", "PLATINUM", min_orders=10, min_spend={"JPY": D(100000)}, combine="all")
LADDER = RankLadder([REGULAR, SILVER, GOLD, PLATINUM])


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        (Figures(), "REGULAR"),
        (Figures(orders=3), "SILVER"),
        (Figures(spend={"JPY": D(49999)}), "SILVER"),
        (Figures(orders=1, spend={"JPY": D(50000)}), "GOLD"),  # any: spend alone
        (Figures(orders=12, spend={"JPY": D(99999)}), "GOLD"),  # all: both needed
        (Figures(orders=10, spend={"JPY": D(100000)}), "PLATINUM"),
        (Figures(orders=1, spend={"USD": D(100000)}), "REGULAR"),  # never across currencies
    ],
    ids=["nothing", "orders", "spend", "any", "all-needs-both", "all", "other-currency"],
)
def test_the_highest_rank_whose_thresholds_are_met(figures, expected):
    assert qualifying_rank(LADDER, figures).code == expected


def test_a_paid_order_that_crosses_a_threshold_upgrades_at_once():
    decision = decide(LADDER, "SILVER", Figures(orders=5), NOW, period_end=False)

    assert (decision.code, decision.changed) == ("GOLD", True)
    assert decision.reason == "upgrade: Gold (any: orders 5 / 5, spend 0 / 50000 JPY)"


def test_falling_below_keeps_the_rank_until_the_period_ends():
    # given: a Gold customer whose refund took them under Gold's thresholds
    figures = Figures(orders=4, spend={"JPY": D(40000)})

    # when
    during = decide(LADDER, "GOLD", figures, NOW, period_end=False)
    at_end = decide(LADDER, "GOLD", figures, NOW, period_end=True)

    # then
    assert (during.code, during.changed, during.reason) == (
        "GOLD",
        False,
        "kept until the period ends",
    )
    assert (at_end.code, at_end.changed) == ("SILVER", True)
    assert at_end.reason.startswith("period end: Silver")


def test_a_pin_holds_until_it_expires():
    pin = Pin("PLATINUM", "VIP guest of the owner", expires_at=NOW + timedelta(days=30))

    pinned = decide(LADDER, "SILVER", Figures(), NOW, period_end=True, pin=pin)
    later = decide(
        LADDER, "PLATINUM", Figures(), NOW + timedelta(days=31), period_end=True, pin=pin
    )

    assert (pinned.code, pinned.reason) == ("PLATINUM", "pinned by staff: VIP guest of the owner")
    assert later.code == "REGULAR"


def test_inactive_customers_drop_one_rank_at_the_period_end():
    ladder = RankLadder([REGULAR, SILVER, GOLD, PLATINUM], inactive_months=6)
    figures = Figures(orders=6, spend={"JPY": D(60000)})  # still Gold by the thresholds
    quiet = NOW - timedelta(days=200)

    during = decide(ladder, "GOLD", figures, NOW, period_end=False, last_order_at=quiet)
    at_end = decide(ladder, "GOLD", figures, NOW, period_end=True, last_order_at=quiet)
    recent = decide(ladder, "GOLD", figures, NOW, period_end=True, last_order_at=NOW)

    assert during.code == "GOLD"
    assert (at_end.code, at_end.reason) == ("SILVER", "inactive 6 months")
    assert (recent.code, recent.changed) == ("GOLD", False)


def test_inactivity_costs_a_rank_for_each_period_once():
    # given: Gold by the figures, no order for 200 days (one 6-month period), then 400 (two)
    ladder = RankLadder([REGULAR, SILVER, GOLD, PLATINUM], inactive_months=6)
    figures = Figures(orders=6, spend={"JPY": D(60000)})
    quiet = NOW - timedelta(days=200)

    # when: the review runs again in the same period, and later
    again = decide(ladder, "SILVER", figures, NOW, period_end=True, last_order_at=quiet)
    later = decide(
        ladder, "SILVER", figures, NOW + timedelta(days=200), period_end=True, last_order_at=quiet
    )
    order_event = decide(ladder, "SILVER", figures, NOW, period_end=False, last_order_at=quiet)
    first_rank = decide(ladder, None, figures, NOW, period_end=False, last_order_at=quiet)
    floor = decide(
        ladder, "SILVER", figures, NOW + timedelta(days=2000), period_end=True, last_order_at=quiet
    )

    # then: a second review in the period costs nothing more; the old figures never lift an
    # inactive customer back; the next period costs the next rank, down to the lowest
    assert (again.code, again.changed) == ("SILVER", False)
    assert (later.code, later.reason) == ("REGULAR", "inactive 12 months")
    assert (order_event.code, order_event.changed) == ("SILVER", False)
    assert (first_rank.code, first_rank.reason) == (
        "SILVER",
        "upgrade: Silver (any: orders 6 / 3, spend 60000 / 30000 JPY)",
    )
    assert floor.code == "REGULAR"


def test_a_new_customer_starts_at_the_lowest_rank():
    assert decide(LADDER, None, Figures(orders=1), NOW, period_end=False).code == "REGULAR"


@pytest.mark.parametrize(
    ("ranks", "field", "message"),
    [
        ([], "ranks", "at least one rank is needed"),
        ([SILVER, GOLD], "Silver.thresholds", "the lowest rank is everyone's"),
        ([REGULAR, GOLD, SILVER], "Silver.min_orders", "3 is below Gold's 5: ranks go up"),
        (
            [
                REGULAR,
                SILVER,
                Rank("Silver+", "SILVER_PLUS", min_orders=3, min_spend={"JPY": D(30000)}),
            ],
            "Silver+.thresholds",
            "the same as Silver's",
        ),
        ([REGULAR, Rank("Gold", "GOLD")], "Gold.thresholds", "a rank above the lowest needs one"),
        (
            [REGULAR, Rank("Gold", "GOLD", min_spend={"yen": D(1)})],
            "Gold.min_spend",
            "'yen' is not an ISO 4217",
        ),
        (
            [REGULAR, Rank("Gold", "GOLD", min_spend={"JPY": D(-1)})],
            "Gold.min_spend.JPY",
            "must be 0 or more",
        ),
        (
            [REGULAR, Rank("Gold", "GOLD", min_orders=-2)],
            "Gold.min_orders",
            "whole number of 0 or more",
        ),
        (
            [REGULAR, Rank("Gold", "GOLD", min_orders=2, combine="both")],
            "Gold.combine",
            "'both' is not all or any",
        ),
        ([REGULAR, Rank("Gold", "GO LD", min_orders=2)], "Gold.code", "'GO LD' is not letters"),
        (
            [REGULAR, Rank("Gold", "REGULAR", min_orders=2)],
            "Gold.code",
            "is the code of another rank",
        ),
        (
            [REGULAR, Rank("Gold", "GOLD", min_orders=2, discount_percent=D(120))],
            "Gold.discount_percent",
            "0 to 100",
        ),
    ],
    ids=[
        "empty",
        "lowest-with-thresholds",
        "unordered",
        "overlapping",
        "no-thresholds",
        "currency",
        "negative-spend",
        "negative-orders",
        "combine",
        "code",
        "duplicate-code",
        "discount",
    ],
)
def test_a_bad_ladder_is_refused_naming_the_rank_and_field(ranks, field, message):
    with pytest.raises(RankError) as error:
        RankLadder(ranks)
    assert error.value.field == field
    assert message in error.value.message


def test_windows_in_the_store_time_zone():
    # 2026-06-15 12:00 in Tokyo
    rolling = Window(WindowKind.ROLLING, months=12, day=1)
    yearly = Window(WindowKind.YEARLY, month=4, day=1)

    assert Window().period_start(NOW, TOKYO) is None
    assert Window().period_end(NOW, TOKYO) is None
    assert rolling.period_start(NOW, TOKYO) == datetime(2025, 6, 15, tzinfo=TOKYO)
    assert rolling.period_end(NOW, TOKYO) == datetime(2026, 7, 1, tzinfo=TOKYO)
    assert yearly.period_start(NOW, TOKYO) == datetime(2026, 4, 1, tzinfo=TOKYO)
    assert yearly.period_end(NOW, TOKYO) == datetime(2027, 4, 1, tzinfo=TOKYO)
    march = datetime(2026, 3, 31, 14, 59, tzinfo=UTC)  # 23:59 on 31 March in Tokyo
    assert yearly.period_start(march, TOKYO) == datetime(2025, 4, 1, tzinfo=TOKYO)


def test_a_window_refuses_days_some_months_lack():
    with pytest.raises(RankError, match="must be 1 to 28, not 31"):
        Window(WindowKind.ROLLING, day=31)


def test_the_default_ladder_text():
    ladder = parse_ladder(DEFAULT_LADDER_TEXT)

    regular, silver, gold, platinum = ladder.ranks
    assert (regular.code, regular.has_thresholds) == ("REGULAR", False)
    # order counts only: no currency, so it fits a store selling in any
    assert [(rank.min_orders, rank.min_spend, rank.min_points) for rank in ladder.ranks[1:]] == [
        (3, {}, None),
        (5, {}, None),
        (10, {}, None),
    ]
    assert (silver.points_multiplier, silver.discount_percent) == (D("1.5"), D(0))
    assert (gold.points_multiplier, gold.discount_percent) == (D(2), D(3))
    assert (platinum.points_multiplier, platinum.discount_percent, platinum.perks) == (
        D(3),
        D(5),
        "Free shipping",
    )
    assert qualifying_rank(ladder, Figures(orders=9, spend={"USD": D(99999)})).code == "GOLD"


ORDERS_OR_YEN = Rank("Silver", "SILVER", min_orders=3, min_spend={"JPY": D(30000)})
ORDERS_OR_SPEND = Rank(
    "Silver", "SILVER", min_orders=3, min_spend={"JPY": D(30000), "PLN": D(1200), "USD": D(300)}
)
YEN_ONLY = Rank("Silver", "SILVER", min_spend={"JPY": D(30000)})
ORDERS_AND_YEN = Rank(
    "Platinum", "PLATINUM", min_orders=10, min_spend={"JPY": D(100000)}, combine="all"
)


@pytest.mark.parametrize(
    ("rank", "figures", "currencies", "expected"),
    [
        (
            ORDERS_OR_YEN,
            Figures(orders=1, spend={"USD": D("19.75")}),
            ["USD"],
            Progress(orders=2, amounts={}, points=None, combine="any"),
        ),
        (
            ORDERS_OR_SPEND,
            Figures(orders=1, spend={"USD": D("19.75")}),
            ["PLN", "USD"],  # PLN bought before the window: still theirs
            Progress(
                orders=2, amounts={"PLN": D(1200), "USD": D("280.25")}, points=None, combine="any"
            ),
        ),
        (YEN_ONLY, Figures(orders=1, spend={"USD": D("19.75")}), ["USD"], None),
        (ORDERS_AND_YEN, Figures(orders=4, spend={"USD": D(500)}), ["USD"], None),
        (
            ORDERS_AND_YEN,
            Figures(orders=4, spend={"JPY": D(42000)}),
            ["JPY", "USD"],
            Progress(orders=6, amounts={"JPY": D(58000)}, points=None, combine="all"),
        ),
        (
            ORDERS_OR_YEN,
            Figures(),
            [],
            Progress(orders=3, amounts={}, points=None, combine="any"),
        ),
        (
            YEN_ONLY,
            Figures(),
            [],
            Progress(orders=None, amounts={"JPY": D(30000)}, points=None, combine="any"),
        ),
        (
            ORDERS_AND_YEN,
            Figures(),
            [],
            Progress(orders=10, amounts={"JPY": D(100000)}, points=None, combine="all"),
        ),
    ],
    ids=[
        "any-other-currency-left-out",
        "any-own-currencies-quoted",
        "any-only-other-currency",
        "all-needs-other-currency",
        "all-own-currency",
        "yet-to-buy-any-orders-enough",
        "yet-to-buy-any-spend-only",
        "yet-to-buy-all",
    ],
)
def test_progress_quotes_only_the_currencies_the_customer_buys_in(
    rank, figures, currencies, expected
):
    assert progress(rank, figures, currencies) == expected


def test_perks_may_hold_any_text_and_comments_are_skipped():
    ladder = parse_ladder(
        "# our ladder\nRegular (R)\n\nVIP (VIP): points 1000; perks Early sale access; gift wrap"
    )

    assert ladder.ranks[1].min_points == 1000
    assert ladder.ranks[1].perks == "Early sale access; gift wrap"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("Regular\nGold (GOLD): orders 5", "line 1", "write it as 'Gold (GOLD): orders 5'"),
        (
            "Regular (R)\nGold (GOLD): orders 5 or spend 1 JPY and points 3",
            "line 2 (Gold)",
            "joined by 'and' or by 'or', not both",
        ),
        ("Regular (R)\nGold (GOLD): orders five", "line 2 (Gold)", "'orders five' is not"),
        ("Regular (R)\nGold (GOLD): orders 5; points 2", "line 2 (Gold)", "'points 2' is not"),
        ("Regular (R)\nGold (GOLD): spend 100 YEN", "Gold.min_spend", "'YEN' is not an ISO 4217"),
        (
            "Regular (R)\nGold (G): orders 5\nSilver (S): orders 3",
            "Silver.min_orders",
            "3 is below Gold's 5: ranks go up",
        ),
    ],
    ids=["no-code", "mixed-joins", "bad-number", "bad-benefit", "unknown-currency", "unordered"],
)
def test_a_bad_ladder_text_is_refused_naming_the_line_or_rank(text, field, message):
    with pytest.raises(RankError) as error:
        parse_ladder(text)
    assert error.value.field == field
    assert message in error.value.message

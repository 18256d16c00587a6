from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from saleor_crm_plugin.segments.rfm import (
    DEFAULT_SEGMENTS,
    fit_cut_points,
    fit_groups,
    parse_segment_map,
    score_rfm,
    score_rows,
    score_values,
    score_with,
    segment_grid,
)

AS_OF = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


def _customers(rows, group="JPY"):
    return pd.DataFrame(
        [
            {
                "customer_id": cid,
                "group": group,
                "last_order_at": AS_OF - timedelta(days=days),
                "order_count": orders,
                "monetary": Decimal(spent),
            }
            for cid, days, orders, spent in rows
        ]
    )


def _scores(frame):
    return {row.customer_id: (row.r, row.f, row.m) for row in frame.itertuples()}


def test_distinct_values_make_equal_quintiles():
    # given: ten customers, every value different
    customers = _customers([(i, 100 - 10 * i, i + 1, 1000 * (i + 1)) for i in range(10)])

    # when
    scored, _ = score_rfm(customers, AS_OF, TOKYO)

    # then
    assert scored["f"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scored["m"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scored["r"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # fewest days is best


def test_tied_values_share_a_score_whatever_the_row_order():
    # given: eleven of twenty customers bought once (55%)
    rows = [(i, 30, 1, 500) for i in range(11)] + [(11 + i, 30, 2 + i, 500) for i in range(9)]
    customers = _customers(rows)

    # when
    scored, _ = score_rfm(customers, AS_OF, TOKYO)
    shuffled, _ = score_rfm(customers.sample(frac=1, random_state=3), AS_OF, TOKYO)

    # then: one-time buyers are all F 1, and the next value jumps to F 3 (F 2 stays empty)
    assert set(scored.loc[scored["order_count"] == 1, "f"]) == {1}
    assert scored.loc[scored["order_count"] == 2, "f"].tolist() == [3]
    assert 2 not in set(scored["f"])
    assert _scores(shuffled) == _scores(scored)
    # every customer has the same recency and spend: nobody is better or worse, all score 3
    assert set(scored["r"]) == {3}
    assert set(scored["m"]) == {3}


def test_groups_are_scored_apart():
    # given: the same shape in JPY and USD, and one JPY whale
    jpy = _customers([(i, 10 * i, 1, 1000 * (i + 1)) for i in range(5)] + [(99, 1, 9, 10_000_000)])
    usd = _customers([(100 + i, 10 * i, 1, 10 * (i + 1)) for i in range(5)], group="USD")

    # when
    scored, cut_points = score_rfm(pd.concat([jpy, usd]), AS_OF, TOKYO)

    # then
    usd_scores = scored[scored["group"] == "USD"]["m"].tolist()
    assert usd_scores == [1, 2, 3, 4, 5]
    assert sorted(cut_points) == ["JPY", "USD"]


def test_a_group_smaller_than_five_gets_no_scores():
    # given
    small = _customers([(1, 3, 2, 100), (2, 40, 1, 50)], group="EUR")
    big = _customers([(10 + i, i, 1, 100 * (i + 1)) for i in range(5)])

    # when
    scored, cut_points = score_rfm(pd.concat([small, big]), AS_OF, TOKYO)

    # then
    eur = scored[scored["group"] == "EUR"]
    assert eur["r"].isna().all()
    assert eur["segment"].isna().all()
    assert "EUR" not in cut_points
    assert scored[scored["group"] == "JPY"]["segment"].notna().all()


def test_single_customer_store():
    # when
    scored, cut_points = score_rfm(_customers([(1, 0, 1, 100)]), AS_OF, TOKYO)

    # then
    assert scored["r"].isna().all()
    assert scored["segment"].tolist() == [None]
    assert cut_points == {}


def test_the_best_value_scores_5_however_many_share_it():
    # given: seven of ten customers ordered today, three long ago
    rows = [(i, 0, 1, 100) for i in range(7)] + [(7 + i, 300 + i, 1, 100) for i in range(3)]

    # when
    scored, cut_points = score_rfm(_customers(rows), AS_OF, TOKYO)

    # then
    assert scored["r"].tolist() == [5] * 7 + [2, 1, 1]  # 300, 301, 302 days
    assert score_values([0.0], cut_points["JPY"]["recency"]).tolist() == [5]
    assert cut_points["JPY"]["frequency"].bounds == (None, None, 1.0, 1.0)  # all F 3


def test_recency_is_counted_in_the_store_time_zone():
    # given: the last order at 01:00 on March 1 in Tokyo (Feb 28 in UTC); scored at 12:00 Tokyo
    customers = pd.DataFrame(
        [
            {
                "customer_id": 1,
                "group": "JPY",
                "last_order_at": datetime(2025, 2, 28, 16, 0, tzinfo=UTC),
                "order_count": 1,
                "monetary": Decimal(100),
            }
        ]
    )

    # when
    in_tokyo, _ = score_rfm(customers, AS_OF, TOKYO)
    in_utc, _ = score_rfm(customers, AS_OF, ZoneInfo("UTC"))

    # then
    assert in_tokyo["recency_days"].tolist() == [0]
    assert in_utc["recency_days"].tolist() == [1]


def test_stored_cut_points_rescore_like_a_full_recompute():
    # given
    rng = np.random.default_rng(7)
    values = rng.integers(1, 30, size=500).astype(float)
    cut_points = fit_cut_points(values)

    # when
    rescored = score_values(values, cut_points)

    # then: the same as 1 + min(4, floor(5 * worse / (worse + better))) for every customer
    worse = np.array([(values < v).sum() for v in values])
    better = np.array([(values > v).sum() for v in values])
    expected = 1 + np.minimum(4, (5 * worse) // (worse + better))
    assert rescored.tolist() == expected.tolist()
    assert score_values(np.array([0.0, 1000.0]), cut_points).tolist() == [1, 5]


def test_segments_follow_the_published_map():
    # given: R and F both spread 1..5 over 25 customers
    rows = [(r * 5 + f, 100 - 20 * r, f + 1, 100) for r in range(5) for f in range(5)]

    # when
    scored, _ = score_rfm(_customers(rows), AS_OF, TOKYO)

    # then
    segment = {(row.r, row.f): row.segment for row in scored.itertuples()}
    assert segment[(5, 5)] == "Champions"
    assert segment[(5, 1)] == "New"
    assert segment[(4, 1)] == "Promising"
    assert segment[(3, 3)] == "Need Attention"
    assert segment[(1, 5)] == "Can't Lose Them"
    assert segment[(1, 1)] == "Lost"
    assert segment[(2, 2)] == "Hibernating"
    assert len(set(segment.values())) == 11


def test_default_map_covers_every_cell_once():
    # when
    text = "\n".join(
        f"{name}: R {r[0]}-{r[-1]}; F {f[0]}-{f[-1]}" for name, (r, f) in DEFAULT_SEGMENTS.items()
    )

    # then
    assert parse_segment_map(text) == DEFAULT_SEGMENTS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Everyone: R 1-5; F 1-4", "no segment for R 1, F 5"),
        ("All: R 1-5; F 1-5\nMore: R 5; F 5", "line 2: R 5, F 5 already belongs to All"),
        ("All: R 1-6; F 1-5", "line 1: R 1-6 is outside 1-5"),
        ("All R 1-5 F 1-5", "line 1: write it as 'Name: R 4-5; F 1-2'"),
        ("All: R a; F 1-5", "line 1: 'a' is not a score or a range like 2-4"),
    ],
    ids=["gap", "overlap", "out-of-range", "malformed", "not-a-number"],
)
def test_segment_map_errors_name_the_line(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_segment_map(text)


def test_naive_as_of_is_refused():
    with pytest.raises(ValueError, match="as_of: needs a time zone"):
        score_rfm(_customers([(1, 0, 1, 1)]), datetime(2025, 1, 1), TOKYO)  # noqa: DTZ001


def test_grid_counts_customers_by_r_and_f():
    # given
    rows = [(i, 100 - 10 * i, i + 1, 1000) for i in range(10)]
    scored, _ = score_rfm(_customers(rows), AS_OF, TOKYO)

    # when
    grid = segment_grid(scored)

    # then
    assert grid["r"].tolist() == [5, 4, 3, 2, 1]
    assert grid.loc[grid["r"] == 5, "f5"].tolist() == [2]
    assert int(grid[["f1", "f2", "f3", "f4", "f5"]].to_numpy().sum()) == 10


def test_one_customer_scored_row_by_row_agrees_with_the_vectorized_scoring():
    # given: 300 customers in two groups, fitted at one time and rescored an hour later
    rng = np.random.default_rng(11)
    frame = pd.concat(
        [
            _customers(
                [
                    (
                        f"{group}{i}",
                        int(rng.integers(0, 400)),
                        int(rng.integers(1, 20)),
                        str(rng.integers(500, 90_000)),
                    )
                    for i in range(150)
                ],
                group=group,
            )
            for group in ("JPY", "USD")
        ],
        ignore_index=True,
    )
    cut_points = fit_groups(frame, AS_OF, TOKYO)
    later = AS_OF + timedelta(hours=20)  # past midnight in Tokyo: every recency moves a day

    # when
    vectorized = score_with(frame, cut_points, later, TOKYO)
    by_row = score_rows(
        frame[["customer_id", "group", "last_order_at", "order_count", "monetary"]].itertuples(
            index=False
        ),
        {"JPY": cut_points["JPY"]},  # USD not recomputed yet: left out
        later,
        TOKYO,
    )

    # then
    expected = [
        (row.customer_id, row.group, row.r, row.f, row.m, row.segment)
        for row in vectorized.itertuples()
        if row.group == "JPY"
    ]
    assert sorted(by_row) == sorted(expected)
    assert len(by_row) == 150


def test_a_segment_says_why_in_the_maps_own_words():
    from saleor_crm_plugin.segments.segment_map import segment_reason

    assert segment_reason("Champions", 5, 4) == "R 5, F 4: Champions is R 5; F 4-5"
    custom = parse_segment_map("Best: R 4-5; F 3-5\nRest: R 1-3; F 1-5\nNew: R 4-5; F 1-2")
    assert segment_reason("Rest", 2, 5, custom) == "R 2, F 5: Rest is R 1-3; F 1-5"
    assert "earlier map" in segment_reason("Champions", 5, 5, custom)


BINS_TEXT = """
# the store's own bins
R 30 60 90 180
F 2 3 5 10
M USD 50 100 300 1000
"""


def test_fixed_bins_score_a_customer_by_the_stores_own_scale_not_against_the_others():
    """The issue's store: 20 USD customers, most of them ordering today, and one with 12
    orders whose last order was 16 days ago. Quintiles make that customer R 1 ("Can't Lose
    Them"); the store's bins make them R 5, F 5: a Champion."""
    from saleor_crm_plugin.segments.rfm import parse_fixed_bins

    rows = [(i, 0, 1, "20") for i in range(1, 20)] + [(20, 16, 12, "1500")]
    customers = _customers(rows, group="USD")

    quintiles, _ = score_rfm(customers, AS_OF, TOKYO)
    fixed, cut_points = score_rfm(customers, AS_OF, TOKYO, bins=parse_fixed_bins(BINS_TEXT))

    loyal = quintiles.set_index("customer_id").loc[20]
    assert (loyal.r, loyal.f, loyal.m, loyal.segment) == (1, 5, 5, "Can't Lose Them")
    loyal = fixed.set_index("customer_id").loc[20]
    assert (loyal.r, loyal.f, loyal.m, loyal.segment) == (5, 5, 5, "Champions")
    assert _scores(fixed)[1] == _scores(fixed)[19] == (5, 1, 1)
    assert {metric: cut.method for metric, cut in cut_points["USD"].items()} == {
        "recency": "fixed",
        "frequency": "fixed",
        "monetary": "fixed",
    }


@pytest.mark.parametrize(
    ("days", "orders", "spent", "expected"),
    [
        (30, 1, "49.99", (5, 1, 1)),
        (31, 2, "50", (4, 2, 2)),
        (60, 4, "299.999", (4, 3, 3)),
        (61, 5, "300", (3, 4, 4)),
        (180, 9, "999", (2, 4, 4)),
        (181, 10, "1000", (1, 5, 5)),
        (4000, 400, "100000", (1, 5, 5)),
    ],
    ids=["edge-30", "edge-31", "below-300", "at-300", "edge-180", "past-180", "far"],
)
def test_each_fixed_boundary_is_the_least_value_of_the_next_score(days, orders, spent, expected):
    from saleor_crm_plugin.segments.rfm import parse_fixed_bins

    # one customer alone is scored too: fixed bins need no others to compare with
    customers = _customers([(1, days, orders, spent)], group="USD")
    scored, _ = score_rfm(customers, AS_OF, TOKYO, bins=parse_fixed_bins(BINS_TEXT))
    assert _scores(scored) == {1: expected}


def test_a_currency_without_m_bins_is_scored_by_quintiles():
    from saleor_crm_plugin.segments.rfm import parse_fixed_bins

    customers = _customers([(i, i, i, str(i)) for i in range(1, 11)], group="JPY")
    fixed, cut_points = score_rfm(customers, AS_OF, TOKYO, bins=parse_fixed_bins(BINS_TEXT))
    quintiles, _ = score_rfm(customers, AS_OF, TOKYO)

    assert _scores(fixed) == _scores(quintiles)
    assert cut_points["JPY"]["recency"].method == "quintiles"


def test_fixed_bins_read_back_from_their_text():
    from saleor_crm_plugin.segments.rfm import parse_fixed_bins

    bins = parse_fixed_bins("r 30, 60, 90, 180\nF 2 3 5 10\nM jpy 5000 10000 30000 100000")
    assert bins.recency == (30, 60, 90, 180)
    assert bins.monetary == {
        "JPY": (Decimal(5000), Decimal(10000), Decimal(30000), Decimal(100000))
    }
    assert parse_fixed_bins(bins.as_text()) == bins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("F 2 3 5 10", "R bins are missing"),
        ("R 30 60 90 180", "F bins are missing"),
        ("R 30 60 90\nF 2 3 5 10", "'R 30 60 90': give four boundaries (scores 2 to 5), not 3"),
        (
            "R 30 60 60 180\nF 2 3 5 10",
            "'R 30 60 60 180': the boundaries must rise, each above the one before",
        ),
        ("R 30 60 90 180\nF 2 3 five 10", "'F 2 3 five 10': 'five' is not a number"),
        (
            "R 30 60 90 180\nF 2 3 5 10\nM 50 100 300 1000",
            "'M 50 100 300 1000': '50' is not an ISO 4217 currency code (three letters)",
        ),
        ("R 30 60 90 180\nF 2 3 5 10\nX 1 2 3 4", "'X 1 2 3 4': a line starts with R, F or M"),
        ("R 30 60 90 180\nR 30 60 90 180\nF 2 3 5 10", "'R 30 60 90 180': R is given twice"),
    ],
    ids=["no-r", "no-f", "three", "not-rising", "not-a-number", "no-currency", "unknown", "twice"],
)
def test_wrong_fixed_bins_name_the_line(text, message):
    from saleor_crm_plugin.segments.rfm import parse_fixed_bins

    with pytest.raises(ValueError, match=r"\w") as raised:
        parse_fixed_bins(text)
    assert str(raised.value) == message

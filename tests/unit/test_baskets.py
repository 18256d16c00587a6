"""Product pairs over orders and over customers, on literal lines and hand computations."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from saleor_crm_plugin.analytics import baskets
from saleor_crm_plugin.errors import FieldError

D0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
AS_OF = datetime(2025, 6, 1, tzinfo=UTC)


def _lines(rows) -> pd.DataFrame:
    """(order, customer, day after D0, product) rows."""
    return pd.DataFrame(
        [(o, c, D0 + timedelta(days=d), p) for o, c, d, p in rows],
        columns=["order_id", "customer_id", "placed_at", "product_id"],
    )


# o6 holds B on two lines (two variants); o7 is after as_of; o8's line has no product.
STORE = _lines(
    [
        ("o1", "c1", 0, "A"),
        ("o1", "c1", 0, "B"),
        ("o2", "c1", 10, "C"),
        ("o3", "c2", 0, "A"),
        ("o3", "c2", 0, "B"),
        ("o3", "c2", 0, "C"),
        ("o4", "c3", 0, "A"),
        ("o5", "c3", 40, "B"),
        ("o6", "c4", 5, "B"),
        ("o6", "c4", 5, "B"),
        ("o6", "c4", 5, "D"),
        ("o7", "c4", 200, "A"),
        ("o7", "c4", 200, "D"),
        ("o8", "c5", 1, None),
    ]
)


def _frame(rows) -> pd.DataFrame:
    """Expected rows: (a, b, together, count_a, count_b, transactions)."""
    return pd.DataFrame(
        {
            "product_a": [r[0] for r in rows],
            "product_b": [r[1] for r in rows],
            "together": pd.Series([r[2] for r in rows], dtype="int64"),
            "count_a": pd.Series([r[3] for r in rows], dtype="int64"),
            "count_b": pd.Series([r[4] for r in rows], dtype="int64"),
            "support": [r[2] / r[5] for r in rows],
            "confidence_ab": [r[2] / r[3] for r in rows],
            "confidence_ba": [r[2] / r[4] for r in rows],
            "lift": [r[2] * r[5] / (r[3] * r[4]) for r in rows],
        }
    )


def test_order_pairs_count_baskets():
    # when
    pairs = baskets.order_pairs(STORE, AS_OF)

    # then: 6 orders; A in 3, B in 4, C in 2, D in 1
    assert (pairs.transactions, pairs.products) == (6, 4)
    pd.testing.assert_frame_equal(
        pairs.table,
        _frame(
            [
                ("B", "D", 1, 4, 1, 6),  # lift 1.5
                ("A", "B", 2, 3, 4, 6),  # lift 1.0, two orders
                ("A", "C", 1, 3, 2, 6),  # lift 1.0
                ("B", "C", 1, 4, 2, 6),  # lift 0.75
            ]
        ),
    )
    assert pairs.table.lift.tolist() == [1.5, 1.0, 1.0, 0.75]
    assert pairs.table.confidence_ab.tolist() == [0.25, 2 / 3, 1 / 3, 0.25]


def test_customer_pairs_within_the_window_in_either_order():
    # when
    pairs = baskets.customer_pairs(STORE, AS_OF, 30)

    # then: 4 customers; c1 bought C 10 days after A and B, c3 bought B 40 days after A
    assert (pairs.transactions, pairs.products) == (4, 4)
    pd.testing.assert_frame_equal(
        pairs.table,
        _frame(
            [
                ("A", "C", 2, 3, 2, 4),  # lift 4/3
                ("B", "C", 2, 4, 2, 4),  # lift 1
                ("B", "D", 1, 4, 1, 4),  # lift 1
                ("A", "B", 2, 3, 4, 4),  # lift 2/3
            ]
        ),
    )


def test_a_wider_window_joins_purchases_further_apart():
    # when
    wide = baskets.customer_pairs(STORE, AS_OF, 40)  # c3's 40 days: on the boundary, in
    narrow = baskets.customer_pairs(STORE, AS_OF, 5)  # c1's C 10 days on: out

    # then
    assert wide.table.set_index(["product_a", "product_b"]).together.to_dict() == {
        ("A", "B"): 3,
        ("A", "C"): 2,
        ("B", "C"): 2,
        ("B", "D"): 1,
    }
    assert narrow.table.set_index(["product_a", "product_b"]).together.to_dict() == {
        ("A", "B"): 2,
        ("A", "C"): 1,
        ("B", "C"): 1,
        ("B", "D"): 1,
    }


def test_a_later_purchase_of_the_first_product_counts_in_either_order():
    # given: c1 buys B, then A 20 days later; c2 buys A twice with B between, far apart
    lines = _lines(
        [
            ("o1", "c1", 0, "B"),
            ("o2", "c1", 20, "A"),
            ("o3", "c2", 0, "A"),
            ("o4", "c2", 50, "B"),
            ("o5", "c2", 75, "A"),
        ]
    )

    # when
    pairs = baskets.customer_pairs(lines, AS_OF, 30)

    # then: both customers, each once
    assert pairs.table[["product_a", "product_b", "together"]].values.tolist() == [["A", "B", 2]]


def test_minimum_support_by_count_and_by_share():
    # when
    by_count = baskets.order_pairs(STORE, AS_OF, min_count=2)
    by_share = baskets.order_pairs(STORE, AS_OF, min_support=0.25)  # 1.5 of 6 orders
    exact_share = baskets.order_pairs(STORE, AS_OF, min_support=1 / 6)  # one order: all

    # then
    assert by_count.table[["product_a", "product_b"]].values.tolist() == [["A", "B"]]
    assert by_share.table[["product_a", "product_b"]].values.tolist() == [["A", "B"]]
    assert len(exact_share.table) == 4
    assert by_count.transactions == 6


def test_no_lines_before_as_of_gives_no_pairs():
    # when
    pairs = baskets.order_pairs(STORE, D0)
    customers = baskets.customer_pairs(STORE, D0, 30)

    # then
    assert (pairs.transactions, pairs.products, len(pairs.table)) == (0, 0, 0)
    assert (customers.transactions, len(customers.table)) == (0, 0)
    assert list(pairs.table.columns) == baskets.COLUMNS


def test_bad_arguments_name_the_field():
    with pytest.raises(FieldError, match="as_of: must be an aware datetime"):
        baskets.order_pairs(STORE, datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(FieldError, match=r"lines: lack the column\(s\) order_id"):
        baskets.order_pairs(STORE.drop(columns="order_id"), AS_OF)
    with pytest.raises(FieldError, match="min_count: must be a whole number of 1 or more, not 0"):
        baskets.order_pairs(STORE, AS_OF, min_count=0)
    with pytest.raises(FieldError, match=r"min_support: must be a share from 0 to 1, not 1\.5"):
        baskets.customer_pairs(STORE, AS_OF, 30, min_support=1.5)
    with pytest.raises(FieldError, match="window_days: must be 0 or more, not -1"):
        baskets.customer_pairs(STORE, AS_OF, -1)


def _brute_force(lines: pd.DataFrame, window_days: int) -> dict:
    """Pair -> customers, by trying every two purchases of every customer."""
    found = {}
    for who, rows in lines.groupby("customer_id"):
        rows = list(rows[["placed_at", "product_id"]].itertuples(index=False))
        for (t1, p1), (t2, p2) in itertools.combinations(rows, 2):
            if p1 != p2 and abs(t1 - t2) <= timedelta(days=window_days):
                found.setdefault(tuple(sorted((p1, p2))), set()).add(who)
    return {pair: len(who) for pair, who in found.items()}


def test_customer_pairs_agree_with_trying_every_two_purchases(monkeypatch):
    # given: 300 customers of 12 products, joined in blocks of at most 50 pairs
    rng = random.Random(7)
    rows = []
    for c in range(300):
        for n in range(rng.choice((1, 1, 2, 3, 8))):
            day = rng.randint(0, 80)
            for p in rng.sample(range(12), rng.choice((1, 1, 2, 3))):
                rows.append((f"o{c}-{n}", f"c{c:03d}", day, f"P{p:02d}"))
    lines = _lines(rows)
    monkeypatch.setattr(baskets, "BLOCK_PAIRS", 50)

    # when
    pairs = baskets.customer_pairs(lines, AS_OF, 14)

    # then
    expected = _brute_force(lines, 14)
    got = pairs.table.set_index(["product_a", "product_b"]).together.to_dict()
    assert got == expected
    assert pairs.transactions == lines.customer_id.nunique()
    buyers = lines.groupby("product_id").customer_id.nunique()
    assert (pairs.table.count_a == buyers[pairs.table.product_a].to_numpy()).all()


def test_latest_names_take_the_newest_line():
    # given
    lines = pd.DataFrame(
        {
            "product_id": ["A", "A", "B", None],
            "product_name": ["Tea", "Green tea", "Cup", "Gift"],
            "placed_at": [D0, D0 + timedelta(days=1), D0, D0],
        }
    )

    # when
    names = baskets.latest_names(lines)

    # then
    assert names.to_dict() == {"A": "Green tea", "B": "Cup"}

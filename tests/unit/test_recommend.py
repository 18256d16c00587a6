"""Recommendations from literal pairs and repeat figures."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from saleor_crm_plugin.analytics import recommend
from saleor_crm_plugin.errors import FieldError

AS_OF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NAMES = {"C": "Cup", "H": "Hojicha", "M": "Matcha", "S": "Sencha", "W": "Wagashi"}


def _pairs(rows) -> pd.DataFrame:
    """(a, b, together, confidence a->b, confidence b->a, lift)."""
    return pd.DataFrame(
        {
            "product_a": [r[0] for r in rows],
            "product_b": [r[1] for r in rows],
            "together": [r[2] for r in rows],
            "confidence_ab": [r[3] for r in rows],
            "confidence_ba": [r[4] for r in rows],
            "lift": [r[5] for r in rows],
            "name_a": [NAMES[r[0]] for r in rows],
            "name_b": [NAMES[r[1]] for r in rows],
        }
    )


PAIRS = _pairs(
    [
        ("C", "M", 3, 0.6, 0.3, 2.0),
        ("M", "W", 2, 0.2, 0.5, 1.5),
        ("C", "S", 1, 0.2, 0.1, 0.8),
        ("H", "M", 2, 0.4, 0.2, 1.2),
    ]
)
REPEAT = pd.DataFrame(
    {
        "product_id": ["S", "M", "W"],
        "repeat_rate": [0.5, 0.6, 0.1],
        "repeat_interval_days": [30.0, 60.0, 10.0],
    }
)


def _purchases(rows) -> pd.DataFrame:
    """(product, days before AS_OF)."""
    return pd.DataFrame(
        {
            "product_id": [p for p, _ in rows],
            "last_bought_at": [AS_OF - timedelta(days=d) for _, d in rows],
            "name": [NAMES[p] for p, _ in rows],
        }
    )


def _rows(picks: pd.DataFrame) -> list[tuple]:
    return list(
        picks[["product_id", "score", "reason", "because", "text"]].itertuples(
            index=False, name=None
        )
    )


def test_also_bought_orders_by_confidence_then_lift():
    # when
    picks = recommend.also_bought(PAIRS, "M", 3)

    # then: M -> C 0.3; M -> W and M -> H 0.2 each, W's pair with the higher lift
    assert _rows(picks) == [
        ("C", 0.3, "bought_with", "M", "bought with Matcha"),
        ("W", 0.2, "bought_with", "M", "bought with Matcha"),
        ("H", 0.2, "bought_with", "M", "bought with Matcha"),
    ]
    assert list(picks.columns) == recommend.PICK_COLUMNS
    assert picks.name.tolist() == ["Cup", "Wagashi", "Hojicha"]


def test_also_bought_offers_only_available_products_and_at_most_first():
    # when
    picks = recommend.also_bought(PAIRS, "M", 1, available={"W", "H", "S"})
    unknown = recommend.also_bought(PAIRS, "X", 5)

    # then
    assert _rows(picks) == [("W", 0.2, "bought_with", "M", "bought with Matcha")]
    assert unknown.empty
    assert list(unknown.columns) == recommend.PICK_COLUMNS


def test_personal_picks_restock_a_due_repeat_buy_and_pair_the_rest():
    # given: Matcha 10 days ago (a repeat buy, due after 60 days), Sencha 40 days ago (a repeat
    # buy due after 30 days), Wagashi 40 days ago (bought again by too few to be a repeat buy)
    purchases = _purchases([("M", 10), ("S", 40), ("W", 40)])

    # when
    picks = recommend.personal_picks(
        purchases, PAIRS, REPEAT, AS_OF, {"S", "M", "C", "W"}, 5, repeat_threshold=0.3
    )

    # then: Sencha to restock (repeat rate 0.5); Cup for Matcha (0.3, better than Sencha's 0.1);
    # Hojicha is not available; Matcha and Wagashi were bought recently
    assert _rows(picks) == [
        ("S", 0.5, "time_to_restock", None, "time to restock"),
        ("C", 0.3, "bought_with", "M", "bought with Matcha"),
    ]
    assert picks.name.tolist() == ["Sencha", "Cup"]


def test_a_repeat_buy_not_yet_due_stays_out_and_a_higher_threshold_drops_restocks():
    # given
    purchases = _purchases([("M", 59), ("S", 40)])
    everything = {"S", "M", "C", "W", "H"}

    # when
    picks = recommend.personal_picks(purchases, PAIRS, REPEAT, AS_OF, everything, 5)
    strict = recommend.personal_picks(
        purchases, PAIRS, REPEAT, AS_OF, everything, 5, repeat_threshold=0.55
    )

    # then
    assert [p for p, *_ in _rows(picks)] == ["S", "C", "W", "H"]
    assert [p for p, *_ in _rows(strict)] == ["C", "W", "H"]


def test_a_purchase_older_than_recent_days_may_be_offered_again_for_a_pair():
    # given: Cup bought 100 days ago, Matcha 5 days ago
    purchases = _purchases([("C", 100), ("M", 5)])

    # when
    recent_only = recommend.personal_picks(
        purchases, PAIRS, REPEAT, AS_OF, set(NAMES), 5, recent_days=30
    )
    never_again = recommend.personal_picks(purchases, PAIRS, REPEAT, AS_OF, set(NAMES), 5)

    # then: Cup comes back for Matcha (0.3); then 0.2 each by lift: Wagashi 1.5 and Hojicha
    # 1.2 for Matcha, Sencha 0.8 for Cup
    assert _rows(recent_only) == [
        ("C", 0.3, "bought_with", "M", "bought with Matcha"),
        ("W", 0.2, "bought_with", "M", "bought with Matcha"),
        ("H", 0.2, "bought_with", "M", "bought with Matcha"),
        ("S", 0.2, "bought_with", "C", "bought with Cup"),
    ]
    assert [p for p, *_ in _rows(never_again)] == ["W", "H", "S"]


def test_no_purchases_give_no_picks():
    picks = recommend.personal_picks(_purchases([]), PAIRS, REPEAT, AS_OF, set(NAMES), 5)

    assert picks.empty
    assert list(picks.columns) == recommend.PICK_COLUMNS


def test_bad_arguments_name_the_field():
    purchases = _purchases([("M", 5)])
    with pytest.raises(FieldError, match="first: must be a whole number of 1 or more, not 0"):
        recommend.also_bought(PAIRS, "M", 0)
    with pytest.raises(FieldError, match="as_of: must be an aware datetime"):
        recommend.personal_picks(purchases, PAIRS, REPEAT, datetime(2025, 1, 1), set(), 5)  # noqa: DTZ001
    with pytest.raises(FieldError, match=r"repeat: lack the column\(s\) repeat_rate"):
        recommend.personal_picks(
            purchases, PAIRS, REPEAT.drop(columns="repeat_rate"), AS_OF, set(), 5
        )
    with pytest.raises(FieldError, match="repeat_threshold: must be a share from 0 to 1, not 2"):
        recommend.personal_picks(purchases, PAIRS, REPEAT, AS_OF, set(), 5, repeat_threshold=2)

"""Recommendations read from the stored pairs, the stored repeat report and the ledger."""

import random
from datetime import timedelta

import pandas as pd
import pytest

from saleor_crm_plugin.analytics import recommend, recommend_services
from saleor_crm_plugin.analytics.basket_services import compute_baskets
from saleor_crm_plugin.analytics.recommend_services import (
    also_bought_for,
    personal_picks_for,
    repeat_figures,
)
from saleor_crm_plugin.analytics.report_services import compute_reports
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, OrderLineRecord
from saleor_crm_plugin.errors import FieldError
from tests.analytics.test_baskets import AS_OF, _order, _store
from tests.factories import T0

pytestmark = pytest.mark.django_db


def _offers(*hidden):
    """The store offers every product but `hidden`, named "Store <id>"."""
    return lambda ids: {product: f"Store {product}" for product in ids if product not in hidden}


def test_also_bought_reads_the_stored_customer_pairs():
    # given
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)

    # when
    picks = also_bought_for("C", "channel-jpy", 5)
    offered = also_bought_for("C", "channel-jpy", 5, available=_offers("A"))
    same_order = also_bought_for("C", "channel-jpy", 5, kind="order")

    # then: C -> A and C -> B are 1.0 each; A's pair has the higher lift (4/3)
    assert [(p.product_id, p.score, p.because, p.text) for p in picks] == [
        ("A", 1.0, "C", "bought with Matcha Select"),
        ("B", 1.0, "C", "bought with Matcha Select"),
    ]
    assert picks[0].name == "Sencha"
    assert [(p.product_id, p.name, p.last_bought_at) for p in offered] == [("B", "Store B", None)]
    assert [(p.product_id, p.score) for p in same_order] == [("A", 0.5), ("B", 0.5)]
    assert also_bought_for("C", "no-such-channel", 5) == []
    assert also_bought_for("no-such-product", "channel-jpy", 5) == []


def test_also_bought_falls_back_to_the_order_kind_without_customer_pairs():
    # given: only the same-basket pairs of the channel are stored
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)
    from saleor_crm_plugin.analytics.models import BasketRun

    BasketRun.objects.filter(channel="channel-jpy", kind="customer").delete()

    # when
    picks = also_bought_for("C", "channel-jpy", 5)

    # then: C -> A and C -> B in 1 of C's 2 orders
    assert [(p.product_id, p.score) for p in picks] == [("A", 0.5), ("B", 0.5)]


def test_a_bad_first_is_refused():
    with pytest.raises(FieldError, match="first: must be a whole number from 1 to 50, not 51"):
        also_bought_for("C", "channel-jpy", 51)
    with pytest.raises(FieldError, match="first: must be a whole number from 1 to 50, not 0"):
        personal_picks_for(1, "channel-jpy", AS_OF, 0)


def test_personal_picks_read_the_customers_orders_and_the_stored_pairs():
    # given: c3 bought A 100 days and B 60 days before AS_OF
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)
    profile = CustomerProfile.objects.get(user_id="c3")
    repeat = {"A": (0.4, 90.0)}

    # when
    picks = personal_picks_for(profile.pk, "channel-jpy", AS_OF, 5, repeat=repeat)

    # then: A is due (a repeat buy, 90 days passed); C for A (2/3) or for B (1/2); D for B (1/4)
    assert [(p.product_id, p.reason, p.because, p.text) for p in picks] == [
        ("C", "bought_with", "A", "bought with Sencha"),
        ("A", "time_to_restock", "A", "time to restock"),
        ("D", "bought_with", "B", 'bought with Cup, "large"'),
    ]
    assert [p.score for p in picks] == [pytest.approx(2 / 3), 0.4, 0.25]
    assert [(p.last_bought_at, p.interval_days) for p in picks] == [
        (T0, None),
        (T0, 90.0),
        (T0 + timedelta(days=40), None),
    ]
    assert picks[1].name == picks[1].because_name == "Sencha"


def test_time_to_restock_comes_from_the_repeat_report_in_force():
    # given: c3 bought A again 20 days after the first time, and B 20 days later
    _store()
    ingest_orders([_order("o9", "c3", 20, ["A"])])
    compute_baskets(AS_OF, 30, 1, 0.0)
    compute_reports(AS_OF, AS_OF, [])
    profile = CustomerProfile.objects.get(user_id="c3")

    # when
    figures = repeat_figures("channel-jpy", ["A", "B", "X"])
    picks = personal_picks_for(profile.pk, "channel-jpy", AS_OF, 5, available=_offers("D"))

    # then: A: 1 of its 3 buyers bought it again, 20 days later: a repeat buy (1/3 >= 0.3),
    # due 40 days after T0; C for A (2 of A's 3 customers); D hidden in the channel
    assert figures == {"A": (pytest.approx(1 / 3), 20.0)}  # nobody bought B or X twice
    assert [(p.product_id, p.reason, p.because, p.name, p.score) for p in picks] == [
        ("C", "bought_with", "A", "Store C", pytest.approx(2 / 3)),
        ("A", "time_to_restock", "A", "Store A", pytest.approx(1 / 3)),
    ]
    assert (picks[1].last_bought_at, picks[1].interval_days) == (T0 + timedelta(days=20), 20.0)


def test_a_recent_purchase_that_is_not_due_is_not_offered():
    # given: the report in force says A is bought again every 90 days
    _store()
    ingest_orders([_order("o9", "c3", 20, ["A"]), _order("o10", "c6", 10, ["A"])])
    ingest_orders([_order("o11", "c6", 100 - 10, ["A"])])
    compute_baskets(AS_OF, 30, 1, 0.0)
    compute_reports(AS_OF, AS_OF, [])
    profile = CustomerProfile.objects.get(user_id="c6")

    # when
    picks = personal_picks_for(profile.pk, "channel-jpy", AS_OF, 5)

    # then: c6 bought A 10 days ago, and A's usual interval (the median of c3's 20 days and
    # c6's 80) is 50 days; B for A (3 of A's 4 customers), C for A (2 of 4)
    assert [(p.product_id, p.reason, p.because, p.score) for p in picks] == [
        ("B", "bought_with", "A", 0.75),
        ("C", "bought_with", "A", 0.5),
    ]


def _random_store(seed: int) -> None:
    """30 customers with 1-6 orders of 1-3 of 8 products over 200 days (seeded)."""
    rng = random.Random(seed)
    orders = []
    for customer in range(30):
        for n in range(rng.randint(1, 6)):
            products = rng.sample("ABCDEFGH", rng.randint(1, 3))
            orders.append(_order(f"r{customer}-{n}", f"r{customer}", rng.randint(0, 99), products))
    ingest_orders(orders)


def _stored_pairs() -> pd.DataFrame:
    from saleor_crm_plugin.analytics.models import BasketPair

    rows = BasketPair.objects.filter(run__channel="channel-jpy", run__kind="customer")
    columns = ["product_a", "product_b", "name_a", "name_b", "together", "confidence_ab"]
    columns += ["confidence_ba", "lift"]
    return pd.DataFrame(list(rows.values_list(*columns)), columns=columns)


def _key(picks) -> list[tuple]:
    return [(p.product_id, p.reason, p.because, round(p.score, 12)) for p in picks]


@pytest.mark.parametrize(("seed", "first"), [(1, 4), (2, 6), (3, 1)])
def test_the_stored_reads_rank_as_the_pure_rules_do(seed, first, monkeypatch):
    # given: pages of 2 rows (first 1), 8 (4) and 12 (6)
    monkeypatch.setattr(recommend_services, "_ASK_BLOCK", 1)
    monkeypatch.setattr(recommend_services, "_PAIR_PAGE", 1)
    _random_store(seed)
    compute_baskets(AS_OF, 30, 1, 0.0)
    compute_reports(AS_OF, AS_OF, [])
    pairs = _stored_pairs()
    offered = set("ABCDEFG")  # H is not sold

    for product in "ABCDEFGH":
        # when
        read = also_bought_for(product, "channel-jpy", first, available=_offers("H"))
        pure = recommend.also_bought(pairs, product, first, available=offered)

        # then
        assert _key(read) == [
            (row.product_id, "bought_with", product, round(row.score, 12))
            for row in pure.itertuples()
        ]

    for profile in CustomerProfile.objects.all():
        bought = {}
        for line in OrderLineRecord.objects.filter(order__profile=profile):
            bought[line.product_id] = max(bought.get(line.product_id, T0), line.order.placed_at)
        purchases = pd.DataFrame(
            {"product_id": list(bought), "last_bought_at": list(bought.values())}
        )
        figures = repeat_figures("channel-jpy", list(bought))
        repeat = pd.DataFrame(
            [(product, rate, days) for product, (rate, days) in figures.items()],
            columns=["product_id", "repeat_rate", "repeat_interval_days"],
        )

        # when
        read = personal_picks_for(
            profile.pk, "channel-jpy", AS_OF, 6, available=_offers("H"), recent_days=40
        )
        pure = recommend.personal_picks(purchases, pairs, repeat, AS_OF, offered, 6, recent_days=40)

        # then
        assert _key(read) == [
            (
                row.product_id,
                row.reason,
                row.product_id if row.reason == recommend.RESTOCK else row.because,
                round(row.score, 12),
            )
            for row in pure.itertuples()
        ]

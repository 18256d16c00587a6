"""The stored basket pairs: computed from the ledger per channel and kind (PostgreSQL)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time

from saleor_crm_plugin.analytics import basket_services, baskets
from saleor_crm_plugin.analytics.basket_services import (
    basket_runs,
    compute_baskets,
    ledger_lines,
    pairs_csv_rows,
    top_pairs,
)
from saleor_crm_plugin.analytics.models import BasketPair, BasketRun
from saleor_crm_plugin.analytics.tasks import compute_baskets_task
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.snapshots import LineSnapshot, OrderStatus
from saleor_crm_plugin.errors import FieldError
from tests.factories import T0, order

pytestmark = pytest.mark.django_db

AS_OF = T0 + timedelta(days=100)
NAMES = {"A": "Sencha", "B": 'Cup, "large"', "C": "Matcha\nSelect", "D": "Wagashi"}


def _order(order_id, customer, day, products, *, currency="JPY", **extra):
    return order(
        order_id,
        user_id=customer,
        email=f"{customer}@example.com",
        currency=currency,
        placed_at=T0 + timedelta(days=day),
        total="1000",
        lines=[
            LineSnapshot(
                line_id=f"{order_id}-{n}",
                quantity=1,
                unit_price_gross=Decimal(1000),
                product_name=NAMES.get(product, product),
                variant_id=f"v-{product}-{n}",
                product_id=product,
            )
            for n, product in enumerate(products)
        ],
        **extra,
    )


def _store():
    """The unit tests' store, in the JPY channel, plus a USD order and a cancelled one."""
    ingest_orders(
        [
            _order("o1", "c1", 0, ["A", "B"]),
            _order("o2", "c1", 10, ["C"]),
            _order("o3", "c2", 0, ["A", "B", "C"]),
            _order("o4", "c3", 0, ["A"]),
            _order("o5", "c3", 40, ["B"]),
            _order("o6", "c4", 5, ["B", "B", "D"]),
            _order("o7", "c4", 200, ["A", "D"]),  # after AS_OF
            _order("o8", "c5", 3, ["A", "D"], status=OrderStatus.CANCELED),
            _order("u1", "c6", 1, ["A", "D"], currency="USD"),
        ]
    )


def _stored(channel, kind) -> dict:
    run = BasketRun.objects.get(channel=channel, kind=kind)
    return {
        (p.product_a, p.product_b): (p.together, p.count_a, p.count_b, p.lift)
        for p in BasketPair.objects.filter(run=run)
    }


def test_pairs_are_stored_per_channel_and_kind():
    # given
    _store()

    # when
    runs = compute_baskets(AS_OF, window_days=30, min_count=1, min_share=0.0)

    # then: the hand-computed figures of tests/unit/test_baskets.py
    assert [(r.channel, r.kind, r.transactions, r.pairs) for r in runs] == [
        ("channel-jpy", "order", 6, 4),
        ("channel-jpy", "customer", 4, 4),
        ("default-channel", "order", 1, 1),
        ("default-channel", "customer", 1, 1),
    ]
    assert _stored("channel-jpy", "order") == {
        ("B", "D"): (1, 4, 1, 1.5),
        ("A", "B"): (2, 3, 4, 1.0),
        ("A", "C"): (1, 3, 2, 1.0),
        ("B", "C"): (1, 4, 2, 0.75),
    }
    assert _stored("channel-jpy", "customer") == {
        ("A", "C"): (2, 3, 2, 4 / 3),
        ("B", "C"): (2, 4, 2, 1.0),
        ("B", "D"): (1, 4, 1, 1.0),
        ("A", "B"): (2, 3, 4, 2 / 3),
    }
    customer_run = BasketRun.objects.get(channel="channel-jpy", kind="customer")
    assert (customer_run.window_days, customer_run.products, customer_run.as_of) == (30, 4, AS_OF)
    assert BasketRun.objects.get(channel="channel-jpy", kind="order").window_days is None
    pair = BasketPair.objects.get(
        run__channel="channel-jpy", run__kind="order", product_a="B", product_b="D"
    )
    assert (pair.name_a, pair.name_b) == ('Cup, "large"', "Wagashi")
    assert BasketPair.objects.get(
        run__channel="channel-jpy", run__kind="order", product_b="C", product_a="A"
    ).name_b == ("Matcha Select")  # line breaks in names become spaces


def test_minimum_support_and_a_second_run_replace_the_pairs():
    # given
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)
    first_ids = set(BasketPair.objects.values_list("id", flat=True))

    # when
    compute_baskets(AS_OF, 30, 2, 0.0)
    compute_baskets(AS_OF, 30, 2, 0.0)

    # then
    assert _stored("channel-jpy", "order") == {("A", "B"): (2, 3, 4, 1.0)}
    assert set(_stored("channel-jpy", "customer")) == {("A", "C"), ("B", "C"), ("A", "B")}
    assert not set(BasketPair.objects.values_list("id", flat=True)) & first_ids
    assert BasketRun.objects.count() == 4
    assert BasketRun.objects.get(channel="channel-jpy", kind="order").min_count == 2


def test_a_failed_computation_leaves_the_previous_pairs(monkeypatch):
    # given
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)
    before = _stored("channel-jpy", "order")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(basket_services, "add_rows", broken)

    # when
    with pytest.raises(RuntimeError, match="disk full"):
        compute_baskets(AS_OF, 30, 2, 0.0)

    # then: the transaction that deleted them rolled back
    assert _stored("channel-jpy", "order") == before
    assert BasketRun.objects.get(channel="channel-jpy", kind="order").min_count == 1


def test_a_channel_without_orders_loses_its_pairs():
    # given
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)

    # when: as of a day when only the JPY channel had sold
    compute_baskets(T0 + timedelta(days=1), 30, 1, 0.0)

    # then
    assert set(BasketRun.objects.values_list("channel", flat=True)) == {"channel-jpy"}
    assert not BasketPair.objects.filter(run__channel="default-channel").exists()


def test_the_task_stores_the_pairs_and_a_second_run_changes_nothing(settings):
    # given: pairs of at least 2 orders (customers) and a third of them, within 40 days
    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "basket-min-count": "2",
        "basket-min-share": "33.3%",
        "basket-window-days": "40",
    }
    _store()

    # when
    with freeze_time(AS_OF):
        first = compute_baskets_task()
        stored = _stored("channel-jpy", "customer")
        second = compute_baskets_task()

    # then: A-B in 2 of 6 orders; within 40 days A-B 3, A-C 2, B-C 2 of 4 customers
    def figures(result):
        return {k: (v["transactions"], v["pairs"]) for k, v in result.items()}

    assert figures(first) == figures(second)
    assert {k: (v["transactions"], v["pairs"]) for k, v in first.items()} == {
        "channel-jpy order": (6, 1),
        "channel-jpy customer": (4, 3),
        "default-channel order": (1, 0),
        "default-channel customer": (1, 0),
    }
    assert set(stored) == {("A", "B"), ("A", "C"), ("B", "C")}
    assert _stored("channel-jpy", "customer") == stored
    assert BasketRun.objects.get(channel="channel-jpy", kind="customer").window_days == 40


def test_top_pairs_sort_and_filter():
    # given
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)

    # when
    by_lift = top_pairs("channel-jpy", "order")
    by_confidence = top_pairs("channel-jpy", "customer", sort="confidence")
    by_support = top_pairs(kind="order", sort="support", descending=False)

    # then
    assert [(p.product_a, p.product_b) for p in by_lift] == [
        ("B", "D"),
        ("A", "B"),
        ("A", "C"),
        ("B", "C"),
    ]
    # A-C and B-C: 1.0 (C -> A, C -> B); B-D: 1.0 (D -> B); A-B 2/3; ties by id
    assert [(p.product_a, p.product_b) for p in by_confidence][-1] == ("A", "B")
    assert by_support[0].support == pytest.approx(1 / 6)
    assert by_support.last().run.channel == "default-channel"  # 1 of 1 order
    with pytest.raises(FieldError, match="sort: 'name' is not lift, support, confidence"):
        top_pairs(sort="name")


def test_the_csv_holds_every_pair_with_its_run():
    # given
    _store()
    compute_baskets(AS_OF, 30, 1, 0.0)

    # when
    text = "".join(pairs_csv_rows("channel-jpy", "order"))

    # then
    rows = text.splitlines()
    assert rows[0] == ",".join(basket_services.CSV_COLUMNS)
    assert rows[1] == 'channel-jpy,order,,B,"Cup, ""large""",D,Wagashi,1,4,1,6,0.166667,0.25,1,1.5'
    assert len(rows) == 5


def test_the_nightly_task_is_a_periodic_task():
    from django_celery_beat.models import PeriodicTask

    periodic = PeriodicTask.objects.get(name="saleor-crm: compute basket pairs")
    assert periodic.task == "saleor_crm.compute_baskets"
    # daily, at the analytics hour of the store's zone (03:00 UTC by default)
    assert periodic.interval is None
    assert (periodic.crontab.minute, periodic.crontab.hour) == ("0", "3")


def test_the_pure_pairs_and_the_stored_ones_agree():
    # given
    _store()
    lines = ledger_lines(AS_OF)

    # when
    compute_baskets(AS_OF, 30, 1, 0.0)
    pure = baskets.customer_pairs(lines[lines.channel == "channel-jpy"], AS_OF, 30)

    # then
    assert _stored("channel-jpy", "customer") == {
        (row.product_a, row.product_b): (row.together, row.count_a, row.count_b, row.lift)
        for row in pure.table.itertuples()
    }


def test_runs_are_read_per_channel_the_order_kind_first():
    # given
    _store()
    compute_baskets(AS_OF, window_days=30, min_count=1, min_share=0.0)

    # when
    every = basket_runs()
    usd = basket_runs("default-channel")

    # then
    assert [(r.channel, r.kind) for r in every] == [
        ("channel-jpy", "order"),
        ("channel-jpy", "customer"),
        ("default-channel", "order"),
        ("default-channel", "customer"),
    ]
    assert [(r.kind, r.transactions) for r in usd] == [("order", 1), ("customer", 1)]

"""Package inserts through the intake pipeline, on PostgreSQL with the sandbox store."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.campaigns.insert_models import InsertDecision, OrderInsert
from saleor_crm_plugin.campaigns.insert_services import (
    PICKING_COLUMNS,
    insert_counts,
    insert_lines,
    picking_rows,
)
from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend
from saleor_crm_plugin.customers.snapshots import LineSnapshot, OrderStatus
from saleor_crm_plugin.host.sandbox import SandboxHost
from saleor_crm_plugin.intake.pipeline import Changes, apply
from saleor_crm_plugin.loyalty.models import MemberRank
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription
from tests.factories import order

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
RULES = """WELCOME-LEAFLET: first order
THANKS3: order 3
SUB3-SAMPLE: subscription delivery 3
WINBACK-CARD: segment At Risk
WINBACK-CARD: segment Dormant
GOLD-GIFT: rank GOLD
TEA-GUIDE: bought TEA-100G"""
CONFIG = parse_config(
    {
        "store-time-zone": "Asia/Tokyo",
        "insert-rules": RULES,
        "subscription-plans": "v-sub: 30 days",
    }
)
pytestmark = pytest.mark.django_db


def _user(n=1, first="Hanako", last="Yamada") -> SandboxUser:
    return SandboxUser.objects.create(
        email=f"c{n}@example.com",
        first_name=first,
        last_name=last,
        date_joined=NOW,
        updated_at=NOW,
    )


def _paid(order_id, user, at, **extra):
    snapshot = order(order_id, user_id=str(user.pk), email=user.email, placed_at=at, **extra)
    SandboxOrder.store(snapshot, user)
    return snapshot


def _run(*order_ids, host=None, config=CONFIG, now=NOW):
    return apply(host or SandboxHost(), config, Changes(orders=list(order_ids)), now)


def _metadata(order_id) -> dict:
    return SandboxOrder.objects.get(order_id=order_id).private_metadata


def test_a_first_order_gets_its_insert_once():
    # given
    user = _user()
    _paid("o1", user, NOW - timedelta(hours=1))

    # when: the order's events come twice
    first = _run("o1")
    second = _run("o1")

    # then
    assert (first.inserts_decided, first.inserts_written) == (1, 1)
    assert (second.inserts_decided, second.inserts_written) == (0, 0)
    decision = InsertDecision.objects.get()
    assert (decision.order_id, decision.codes, decision.written_at) == (
        "o1",
        "WELCOME-LEAFLET",
        NOW,
    )
    assert list(OrderInsert.objects.values_list("decision__order_id", "code")) == [
        ("o1", "WELCOME-LEAFLET")
    ]
    assert _metadata("o1") == {"crm.inserts": "WELCOME-LEAFLET"}


def test_the_third_paid_order_and_one_without_inserts():
    # given: three paid orders; the second gets nothing but is decided all the same
    user = _user()
    for n in range(3):
        _paid(f"o{n + 1}", user, NOW - timedelta(days=30 - n))

    # when: each as its own event, in order
    for n in range(3):
        _run(f"o{n + 1}")

    # then
    assert dict(InsertDecision.objects.values_list("order_id", "codes")) == {
        "o1": "WELCOME-LEAFLET",
        "o2": "",
        "o3": "THANKS3",
    }
    assert _metadata("o2") == {}
    assert _metadata("o3") == {"crm.inserts": "THANKS3"}


def test_an_order_is_decided_when_it_becomes_paid_and_never_once_packed():
    # given: a pay-later order seen unpaid, and a paid order already fulfilled when first seen
    user = _user()
    unpaid = _paid("o1", user, NOW - timedelta(hours=2), paid="0")
    _paid("o2", _user(2), NOW - timedelta(hours=2), status=OrderStatus.FULFILLED)
    _run("o1", "o2")
    assert not InsertDecision.objects.exists()

    # when: the first is paid
    paid_at = NOW - timedelta(minutes=5)
    SandboxOrder.store(
        replace(unpaid, paid_amount=unpaid.total_gross, paid_at=paid_at, updated_at=paid_at), user
    )
    _run("o1", "o2")

    # then: its paid time is the picking day's
    assert list(InsertDecision.objects.values_list("order_id", "codes", "paid_at")) == [
        ("o1", "WELCOME-LEAFLET", paid_at)
    ]


def test_segments_and_rank_are_those_the_customer_had_before_the_order():
    # given: an At Risk customer (RFM), a Dormant one (200 days without an order), a Gold one
    at_risk, dormant, gold = _user(1), _user(2), _user(3)
    ingest_orders(
        [
            order(
                "r0",
                user_id=str(at_risk.pk),
                email=at_risk.email,
                placed_at=NOW - timedelta(days=100),
            ),
            order(
                "d0",
                user_id=str(dormant.pk),
                email=dormant.email,
                placed_at=NOW - timedelta(days=200),
            ),
            order("g0", user_id=str(gold.pk), email=gold.email, placed_at=NOW - timedelta(days=10)),
        ]
    )
    CustomerSpend.objects.filter(profile__user_id=str(at_risk.pk)).update(
        r=2, f=3, m=3, segment="At Risk", scored_at=NOW - timedelta(days=1)
    )
    MemberRank.objects.create(
        profile=CustomerProfile.objects.get(user_id=str(gold.pk)),
        code="GOLD",
        since=NOW - timedelta(days=5),
        rule_version="v1",
    )
    _paid("r1", at_risk, NOW - timedelta(minutes=3))
    _paid("d1", dormant, NOW - timedelta(minutes=2))
    _paid("g1", gold, NOW - timedelta(minutes=1))

    # when
    report = _run("r1", "d1", "g1")

    # then: the new orders made none of them At Risk or Dormant any more
    assert report.inserts_decided == 3
    assert dict(InsertDecision.objects.values_list("order_id", "codes")) == {
        "r1": "WINBACK-CARD",
        "d1": "WINBACK-CARD",
        "g1": "GOLD-GIFT",
    }
    assert CustomerProfile.objects.get(user_id=str(dormant.pk)).last_order_at == (
        NOW - timedelta(minutes=2)
    )


def test_a_product_bought_by_sku():
    # given
    user = _user()
    _paid("o1", user, NOW - timedelta(days=40))
    tea = LineSnapshot("o2-1", 2, 1500, "Sencha", sku="TEA-100G", variant_id="v9")
    _paid("o2", user, NOW - timedelta(hours=1), lines=[tea], total="3000")

    # when
    _run("o1")
    _run("o2")

    # then
    assert InsertDecision.objects.get(order_id="o2").codes == "TEA-GUIDE"


def _cycle(subscription, sequence, status, order_id=""):
    Cycle.objects.update_or_create(
        subscription=subscription,
        sequence=sequence,
        defaults={
            "delivery_on": date(2026, 12, 1) + timedelta(days=30 * sequence),
            "renewal_due_at": NOW,
            "status": status,
            "order_id": order_id,
        },
    )


def test_the_third_delivery_of_a_subscription_skips_count_as_none():
    # given: an order that starts a subscription (delivery 1), a renewal (2), a skipped cycle
    user = _user()
    start = LineSnapshot("s1-1", 1, 2000, "Coffee", sku="SUB", variant_id="v-sub")
    _paid("s1", user, NOW - timedelta(days=90), lines=[start], total="2000", subscription="30 days")
    _run("s1", now=NOW - timedelta(days=90))
    subscription = Subscription.objects.get()
    for n, (sequence, status) in enumerate(
        [(2, Cycle.Status.ORDERED), (3, Cycle.Status.SKIPPED), (4, Cycle.Status.ORDERED)]
    ):
        order_id = f"renewal-{sequence}" if status == Cycle.Status.ORDERED else ""
        _cycle(subscription, sequence, status, order_id)
        if order_id:
            _paid(order_id, user, NOW - timedelta(days=60 - 30 * n), lines=[start], total="2000")

    # when: the renewals are paid (each recorded at once: a month later the customer would be
    # Dormant)
    _run("renewal-2", now=NOW - timedelta(days=60))
    _run("renewal-4", now=NOW - timedelta(days=30))

    # then: the order that started it was the first order and delivery 1
    assert dict(InsertDecision.objects.values_list("order_id", "codes")) == {
        "s1": "WELCOME-LEAFLET",
        "renewal-2": "",
        "renewal-4": "THANKS3,SUB3-SAMPLE",
    }
    assert _metadata("renewal-4") == {"crm.inserts": "THANKS3,SUB3-SAMPLE"}


def test_no_rules_no_decisions():
    # given
    _paid("o1", _user(), NOW - timedelta(hours=1))

    # when
    report = _run("o1", config=parse_config({"store-time-zone": "Asia/Tokyo"}))

    # then
    assert (report.inserts_decided, report.inserts_written) == (0, 0)
    assert not InsertDecision.objects.exists()


class _FailingWrites(SandboxHost):
    def write_order_private_metadata(self, items):
        raise ConnectionError("the store is down")


def test_a_failed_metadata_write_is_made_when_the_order_comes_again():
    # given: the decision is recorded, the write fails (the drain retries the batch)
    _paid("o1", _user(), NOW - timedelta(hours=1))
    with pytest.raises(ConnectionError):
        _run("o1", host=_FailingWrites())
    assert InsertDecision.objects.get().written_at is None

    # when
    again = _run("o1", now=NOW + timedelta(minutes=1))

    # then
    assert (again.inserts_decided, again.inserts_written) == (0, 1)
    assert InsertDecision.objects.get().written_at == NOW + timedelta(minutes=1)
    assert _metadata("o1") == {"crm.inserts": "WELCOME-LEAFLET"}


def test_counts_per_insert_and_store_day_and_the_picking_list():
    # given: first orders paid just before and after midnight in Tokyo (15:00 UTC)
    midnight = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    people = [_user(n, first=f"Name{n}", last="Sato") for n in range(4)]
    people[3].first_name, people[3].last_name = "", ""
    people[3].save()
    times = [midnight - timedelta(minutes=1), midnight, midnight + timedelta(hours=3)]
    for n, at in enumerate([*times, midnight + timedelta(hours=4)]):
        _paid(f"o{n}", people[n], at, number=str(1000 + n))
    tea = LineSnapshot("t-1", 1, 1000, "Sencha", sku="TEA-100G")
    _paid("t1", people[0], midnight + timedelta(hours=5), lines=[tea], number="2000")
    _run("o0", "o1", "o2", "o3", "t1", now=midnight + timedelta(hours=6))

    # when
    counts = insert_counts(date(2026, 12, 6), date(2026, 12, 7), TOKYO)
    rows = list(picking_rows(date(2026, 12, 7), TOKYO, SandboxHost(), chunk=2))

    # then: a customer without a name has an empty cell
    assert counts == [
        (date(2026, 12, 6), "WELCOME-LEAFLET", 1),
        (date(2026, 12, 7), "TEA-GUIDE", 1),
        (date(2026, 12, 7), "WELCOME-LEAFLET", 3),
    ]
    assert PICKING_COLUMNS == ("order_number", "shipping_name", "inserts")
    assert rows == [
        ("1001", "Name1 Sato", "WELCOME-LEAFLET"),
        ("1002", "Name2 Sato", "WELCOME-LEAFLET"),
        ("1003", "", "WELCOME-LEAFLET"),
        ("2000", "Name0 Sato", "TEA-GUIDE"),
    ]
    assert insert_counts(date(2026, 12, 8), date(2026, 12, 9), TOKYO) == []
    # the demo's line for the store day
    assert insert_lines(CONFIG, midnight + timedelta(hours=6)) == [
        "Package inserts on 2026-12-07 (store time, 7 rules): TEA-GUIDE 1, WELCOME-LEAFLET 3"
    ]
    assert insert_lines(CONFIG, midnight + timedelta(days=1)) == [
        "Package inserts on 2026-12-08 (store time, 7 rules): no order got one"
    ]

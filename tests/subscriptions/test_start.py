"""A paid order with the subscription keys starts a subscription, once."""

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from saleor_crm_plugin.customers.snapshots import LineSnapshot
from saleor_crm_plugin.host import reset_host
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription
from saleor_crm_plugin.tasks import ingest_orders_task
from tests.factories import T0, order

pytestmark = pytest.mark.django_db
YESTERDAY = timezone.now() - timedelta(days=1)


@pytest.fixture(autouse=True)
def _plans(settings):
    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "subscription-plans": "COFFEE-1KG: 30 days, 60 days\nTEA-1: 2 weeks",
    }
    reset_host()


def _line(line_id, sku, chosen=None, quantity=1):
    return LineSnapshot(
        line_id=line_id,
        quantity=quantity,
        unit_price_gross=1000,
        product_name=sku,
        sku=sku,
        variant_id=f"variant-{sku}",
        subscription=chosen,
    )


def _paid_order(user, lines, chosen=None, paid=True):
    snapshot = order(
        "o1",
        user_id=str(user.pk),
        email=user.email,
        total=str(1000 * sum(line.quantity for line in lines)),
        lines=lines,
        paid=None if paid else "0",
        placed_at=YESTERDAY,
    )
    return replace(snapshot, subscription=chosen)


def test_a_paid_order_with_the_keys_starts_a_subscription_whose_first_delivery_is_the_order():
    user = SandboxUser.objects.create(email="ann@example.com", date_joined=T0, updated_at=T0)
    snapshot = _paid_order(
        user,
        [_line("l1", "COFFEE-1KG", "30 days", quantity=2), _line("l2", "MUG")],
    )
    SandboxOrder.store(snapshot)

    first = ingest_orders_task.delay(["o1"]).get()
    again = ingest_orders_task.delay(["o1"]).get()

    assert (first["subscriptions_started"], again["subscriptions_started"]) == (1, 0)
    subscription = Subscription.objects.get()
    assert subscription.source_order_id == "o1"
    assert list(
        subscription.lines.values_list("variant_id", "quantity", "unit_price", "product_name")
    ) == [("variant-COFFEE-1KG", 2, 1000, "COFFEE-1KG")]
    paid_on = YESTERDAY.astimezone(ZoneInfo("Asia/Tokyo")).date()
    cycles = list(
        subscription.cycles.order_by("sequence").values_list(
            "sequence", "status", "order_id", "delivery_on"
        )
    )
    assert cycles[0] == (1, "ordered", "o1", paid_on)
    assert cycles[1][:2] == (2, "scheduled")
    assert cycles[1][3] == paid_on + timedelta(days=30)
    assert subscription.deliveries == 1


def test_the_checkouts_own_key_repeats_every_line_that_offers_the_interval():
    user = SandboxUser.objects.create(email="ann@example.com", date_joined=T0, updated_at=T0)
    SandboxOrder.store(
        _paid_order(user, [_line("l1", "COFFEE-1KG"), _line("l2", "TEA-1")], chosen="60 days")
    )
    ingest_orders_task.delay(["o1"]).get()
    assert list(Subscription.objects.get().lines.values_list("variant_id", flat=True)) == [
        "variant-COFFEE-1KG"
    ]


@pytest.mark.parametrize(
    ("lines", "paid"),
    [
        ([_line("l1", "COFFEE-1KG", "45 days")], True),  # not offered
        ([_line("l1", "MUG", "30 days")], True),  # not subscribable
        ([_line("l1", "COFFEE-1KG", "every month")], True),  # not an interval
        ([_line("l1", "COFFEE-1KG", "30 days")], False),  # not paid yet
    ],
)
def test_nothing_starts_for_an_unpaid_order_or_a_choice_the_store_does_not_offer(lines, paid):
    user = SandboxUser.objects.create(email="ann@example.com", date_joined=T0, updated_at=T0)
    SandboxOrder.store(_paid_order(user, lines, paid=paid))
    ingest_orders_task.delay(["o1"]).get()
    assert not Subscription.objects.exists()
    assert not Cycle.objects.exists()


def test_guests_do_not_start_subscriptions():
    snapshot = replace(
        order("g1", email="guest@example.com", lines=[_line("l1", "COFFEE-1KG", "30 days")]),
        subscription=None,
    )
    SandboxOrder.store(snapshot)
    ingest_orders_task.delay(["g1"]).get()
    assert not Subscription.objects.exists()

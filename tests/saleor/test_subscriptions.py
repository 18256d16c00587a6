"""Renewal orders inside a real Saleor 3.23: Saleor's own checkout-to-order path, once a cycle."""

from datetime import timedelta

import graphene
import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from django.utils import timezone
from saleor.order.models import Order

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host.saleor import RENEWAL_KEY, SaleorHost
from saleor_crm_plugin.subscriptions.models import Cycle
from saleor_crm_plugin.subscriptions.renewals import run_renewals
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
from saleor_crm_plugin.subscriptions.services import Rules, create_subscription

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]


def test_a_due_cycle_becomes_one_saleor_order_carrying_its_key(
    crm_plugin, customer_user, product, channel_USD, shipping_zone
):
    # given: a subscription whose first delivery is tomorrow (within the 3-day lead time)
    host = SaleorHost()
    config = host.config()
    variant = product.variants.first()
    profile = CustomerProfile.objects.create(user_id=str(customer_user.pk))
    now = timezone.now()
    subscription = create_subscription(
        profile,
        channel=channel_USD.slug,
        currency="USD",
        lines=[(graphene.Node.to_global_id("ProductVariant", variant.pk), 2)],
        interval=Interval(30, Unit.DAY),
        first_delivery=(now + timedelta(days=1)).astimezone(config.zone).date(),
        actor="staff:1",
        now=now,
        rules=Rules(),
        zone=config.zone,
    )

    # when: the renewal run, twice
    first = run_renewals(host, now, Rules(), config.zone)
    again = run_renewals(host, now, Rules(), config.zone)

    # then: one unpaid Saleor order with the cycle's key
    cycle = Cycle.objects.get(subscription=subscription, sequence=1)
    assert (first.ordered, first.failed, again.claimed) == (1, 0, 0), cycle.last_error
    order = Order.objects.get(pk=cycle.order_id)
    assert order.private_metadata[RENEWAL_KEY] == cycle.idempotency_key
    assert order.user_id == customer_user.pk
    assert order.lines.get().quantity == 2
    assert order.total_charged_amount == 0
    assert host.find_renewal_order(cycle.idempotency_key) == str(order.pk)

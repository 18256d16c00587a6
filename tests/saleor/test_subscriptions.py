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


def test_a_paid_checkout_with_the_key_starts_a_subscription_and_the_clock_renews_it_once(
    crm_plugin,
    checkout_ready_to_complete,
    customer_user,
    user_api_client,
    app_api_client,
    transaction_item_generator,
    transaction_events_generator,
    recorded,
):
    from saleor.plugins.manager import get_plugins_manager

    from tests.saleor.test_loyalty import _pay_and_complete

    # given: the variant offers 30 days; the storefront put the key on the checkout line
    checkout = checkout_ready_to_complete
    line = checkout.lines.first()
    variant_id = graphene.Node.to_global_id("ProductVariant", line.variant_id)
    get_plugins_manager(allow_replica=False).save_plugin_configuration(
        "saleor.crm",
        None,
        {"configuration": [{"name": "subscription-plans", "value": f"{variant_id}: 30 days"}]},
    )
    line.metadata = {"crm.subscription_interval": "30 days"}
    line.save(update_fields=["metadata"])

    # when: paid and completed through Saleor's API
    order, _ = _pay_and_complete(
        checkout,
        customer_user,
        user_api_client,
        app_api_client.app,
        transaction_item_generator,
        transaction_events_generator,
        recorded,
    )

    # then: the subscription exists; the order is its first delivery
    from saleor_crm_plugin.subscriptions.models import Subscription

    subscription = Subscription.objects.get(source_order_id=str(order.pk))
    order_line = order.lines.get()
    assert list(subscription.lines.values_list("variant_id", "quantity", "unit_price")) == [
        (variant_id, line.quantity, order_line.unit_price_gross_amount)
    ]
    # with the order's shipping address, as Saleor's AddressInput has it
    assert subscription.shipping_address["city"] == order.shipping_address.city
    assert subscription.shipping_address["country"] == order.shipping_address.country.code
    assert subscription.shipping_address["streetAddress1"] == (
        order.shipping_address.street_address_1
    )
    assert subscription.billing_address["city"] == order.billing_address.city
    second = Cycle.objects.get(subscription=subscription, sequence=2)
    assert second.status == "scheduled"

    # when: the clock reaches cycle 2's renewal time; the run goes twice
    host = SaleorHost()
    config = host.config()
    rules = Rules(lead_days=config.subscription_lead_days)
    at = second.renewal_due_at + timedelta(minutes=1)
    with recorded():
        first = run_renewals(host, at, rules, config.zone)
    again = run_renewals(host, at, rules, config.zone)

    # then: exactly one renewal order, with the cycle in its metadata
    second.refresh_from_db()
    assert (first.ordered, again.claimed) == (1, 0), second.last_error
    renewal = Order.objects.get(pk=second.order_id)
    assert renewal.private_metadata[RENEWAL_KEY] == f"crm-subscription-{subscription.pk}-cycle-2"
    assert renewal.metadata == {
        "crm.subscription_id": str(subscription.pk),
        "crm.cycle": "2",
        "crm.delivery_on": second.delivery_on.isoformat(),
    }
    assert renewal.shipping_address.city == order.shipping_address.city

    # and a skip changes what the next run does
    from saleor_crm_plugin.subscriptions.services import act

    act(subscription.pk, "skip", sequence=3, actor="user:1", now=at, rules=rules, zone=config.zone)
    third = Cycle.objects.get(subscription=subscription, sequence=3)
    later = run_renewals(host, third.renewal_due_at + timedelta(minutes=1), rules, config.zone)
    assert later.ordered == 0
    # and so does a pause: nothing is renewed while it lasts
    fourth_on = Cycle.objects.get(subscription=subscription, sequence=4).delivery_on
    act(
        subscription.pk,
        "pause",
        start=fourth_on,
        actor="user:1",
        now=at,
        rules=rules,
        zone=config.zone,
    )
    paused = run_renewals(host, at + timedelta(days=90), rules, config.zone)
    assert paused.claimed == 0
    assert Order.objects.filter(private_metadata__has_key=RENEWAL_KEY).count() == 1


def test_a_renewal_saleor_refuses_is_failed_with_saleors_reason_and_staff_retry_it(
    crm_plugin,
    customer_user,
    product,
    channel_USD,
    shipping_zone,
    recorded,
):
    from django.core import mail

    from saleor_crm_plugin.subscriptions.renewals import retry_failed

    # given: a subscription of a variant that has no stock left
    host = SaleorHost()
    config = host.config()
    variant = product.variants.first()
    variant.stocks.update(quantity=0)
    profile = CustomerProfile.objects.create(user_id=str(customer_user.pk))
    now = timezone.now()
    rules = Rules(retry_hours=())
    subscription = create_subscription(
        profile,
        channel=channel_USD.slug,
        currency="USD",
        lines=[(graphene.Node.to_global_id("ProductVariant", variant.pk), 2)],
        interval=Interval(30, Unit.DAY),
        first_delivery=(now + timedelta(days=1)).astimezone(config.zone).date(),
        actor="staff:1",
        now=now,
        rules=rules,
        zone=config.zone,
    )

    # when: the renewal run
    with recorded():
        report = run_renewals(host, now, rules, config.zone)

    # then: failed with Saleor's own message, the customer told, staff to act
    cycle = Cycle.objects.get(subscription=subscription, sequence=1)
    subscription.refresh_from_db()
    assert (report.failed, cycle.status, subscription.status) == (1, "failed", "attention")
    assert "stock" in cycle.last_error.lower(), cycle.last_error
    assert not Order.objects.filter(private_metadata__has_key=RENEWAL_KEY).exists()
    assert [message.to for message in mail.outbox] == [[customer_user.email]]

    # when: stock arrives and staff retry
    variant.stocks.update(quantity=10)
    renewed, cycle, retried = retry_failed(
        subscription.pk, host, actor="staff:1", now=now, rules=rules, zone=config.zone
    )
    assert (retried.ordered, renewed.status, cycle.status) == (1, "active", "ordered")
    assert Order.objects.get(pk=cycle.order_id).private_metadata[RENEWAL_KEY] == (
        cycle.idempotency_key
    )


def test_product_and_variant_metadata_offer_intervals(crm_plugin, product):
    from saleor_crm_plugin.subscriptions.services import rules_for

    host = SaleorHost()
    variant = product.variants.first()
    variant_id = graphene.Node.to_global_id("ProductVariant", variant.pk)
    product.metadata = {"crm.subscription_intervals": "30 days, 60 days"}
    product.save(update_fields=["metadata"])

    assert host.subscription_offers([variant_id, variant.sku, "unknown"]) == {
        variant_id: (Interval(30, Unit.DAY), Interval(60, Unit.DAY)),
        variant.sku: (Interval(30, Unit.DAY), Interval(60, Unit.DAY)),
    }
    # the variant's own metadata wins over its product's
    variant.metadata = {"crm.subscription_intervals": "2 weeks"}
    variant.save(update_fields=["metadata"])
    rules = rules_for(host.config(), [variant_id], host)
    assert rules.allowed == (Interval(2, Unit.WEEK),)


def test_points_pay_part_of_a_renewal_as_a_saleor_gift_card(
    crm_plugin, customer_user, product, channel_USD, shipping_zone
):
    from saleor.plugins.manager import get_plugins_manager

    from saleor_crm_plugin.loyalty.services import adjust, balance
    from saleor_crm_plugin.subscriptions.services import act

    get_plugins_manager(allow_replica=False).save_plugin_configuration(
        "saleor.crm",
        None,
        {"configuration": [{"name": "points-on-renewals", "value": "true"}]},
    )
    host = SaleorHost()
    config = host.config()
    rules = Rules(points_on_renewals=True)
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
        rules=rules,
        zone=config.zone,
    )
    act(
        subscription.pk,
        "set_preferences",
        use_points=True,
        actor="user:1",
        now=now,
        rules=rules,
        zone=config.zone,
    )
    adjust(
        profile.pk, 500, "welcome", now, reason="welcome", actor="staff:1", currency="USD"
    )  # 5 USD

    report = run_renewals(host, now, rules, config.zone)

    cycle = Cycle.objects.get(subscription=subscription, sequence=1)
    assert report.ordered == 1, cycle.last_error
    order = Order.objects.get(pk=cycle.order_id)
    [card] = order.gift_cards.all()
    assert (card.initial_balance_amount, card.current_balance_amount) == (5, 0)
    assert balance(profile.pk, now).available == 0

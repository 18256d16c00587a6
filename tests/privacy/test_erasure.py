"""Deleting a customer leaves none of their personal data in any CRM table (PostgreSQL)."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.campaigns.models import CampaignSend
from saleor_crm_plugin.campaigns.webhooks import WebhookDelivery
from saleor_crm_plugin.customers.models import (
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from saleor_crm_plugin.host import get_host
from saleor_crm_plugin.intake import outbox
from saleor_crm_plugin.intake.models import PendingChange
from saleor_crm_plugin.loyalty.models import MemberRank, PointsEntry, PointsLot
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
from saleor_crm_plugin.subscriptions.services import act, create_subscription, rules_for
from saleor_crm_plugin.tasks import drain_changes_task

from .conftest import CITY, EMAIL, FIRST, PERSONAL
from .leaks import find_personal_data, searched_columns

pytestmark = pytest.mark.django_db


def test_the_search_covers_every_table_of_the_app():
    # when
    tables = {model._meta.db_table for model, _ in searched_columns()}

    # then: registry-driven, the tables of every domain are among them
    for table in (
        "saleor_crm_customerprofile",
        "saleor_crm_orderrecord",
        "saleor_crm_subscription",
        "saleor_crm_campaignsend",
        "saleor_crm_webhookdelivery",
        "saleor_crm_auditevent",
        "saleor_crm_pointsentry",
        "saleor_crm_insertdecision",
    ):
        assert table in tables


def test_a_deleted_customer_leaves_no_personal_data_in_any_crm_table(person):
    # given: data in every domain, and the copies the search must find
    profile = person.profile
    assert OrderRecord.objects.filter(profile=profile).count() == 2
    assert OrderLineRecord.objects.filter(order__profile=profile).exists()
    assert CustomerSpend.objects.filter(profile=profile).exists()
    assert PointsEntry.objects.filter(account__profile=profile).exists()
    assert PointsLot.objects.filter(account__profile=profile).exists()
    assert MemberRank.objects.filter(profile=profile).exists()
    assert Cycle.objects.filter(subscription__profile=profile).exists()
    ended = _cancelled_by_the_customer(person, reason=f"moving out of {CITY}")
    before = {(table, column) for table, column, _, _ in find_personal_data(PERSONAL)}
    assert before == {
        ("saleor_crm_subscription", "shipping_address"),
        ("saleor_crm_subscription", "billing_address"),
        ("saleor_crm_subscription", "cancel_reason"),
        ("saleor_crm_subscriptionevent", "data"),
        ("saleor_crm_campaignsend", "error"),
        ("saleor_crm_webhookdelivery", "payload"),
        # texts people typed: staff's reasons for an adjustment and a rank pin
        ("saleor_crm_pointsentry", "reason"),
        ("saleor_crm_auditevent", "reason"),
        ("saleor_crm_rankchange", "reason"),
        ("saleor_crm_memberrank", "pin_reason"),
    }
    points = sorted(
        PointsEntry.objects.filter(account__profile=profile).values_list("key", "points")
    )

    # when: the store deletes the customer (its hook records the deletion; the drain runs)
    user_id = str(person.user.pk)
    person.user.delete()
    outbox.record_changes(PendingChange.CUSTOMER_DELETED, [user_id], timezone.now())
    drain_changes_task.delay().get()

    # then: nothing of theirs is left, whatever the table or column
    assert find_personal_data(PERSONAL) == []
    profile.refresh_from_db()
    assert (profile.email_digest, profile.order_count) == (None, 2)
    assert profile.anonymized_at is not None
    assert not OrderRecord.objects.filter(profile=profile, email_digest__isnull=False).exists()
    subscription = Subscription.objects.exclude(pk=ended.pk).get(profile=profile)
    assert (subscription.status, subscription.cancel_reason) == ("cancelled", "customer deleted")
    assert not Cycle.objects.filter(subscription=subscription).exists()
    # what people typed reads "(erased)"; the figures and the plugin's own reasons stay
    ended.refresh_from_db()
    assert ended.cancel_reason == "(erased)"
    assert PointsEntry.objects.get(key="adjust:privacy-typed").reason == "(erased)"
    assert MemberRank.objects.get(profile=profile).pin_reason == "(erased)"
    assert (
        sorted(PointsEntry.objects.filter(account__profile=profile).values_list("key", "points"))
        == points
    )
    assert CampaignSend.objects.get(profile=profile).reason == "smtp:550"
    assert not WebhookDelivery.objects.exists()


def _cancelled_by_the_customer(person, reason: str) -> Subscription:
    """A second subscription of theirs, which they cancelled giving a reason."""
    config = get_host().config()
    now = timezone.now()
    subscription = create_subscription(
        person.profile,
        channel="default-channel",
        currency="JPY",
        lines=[("VARIANT-2", 1)],
        interval=Interval(2, Unit.MONTH),
        first_delivery=now.date() + timedelta(days=30),
        actor=f"user:{person.user.pk}",
        now=now,
        rules=rules_for(config),
        zone=config.zone,
    )
    rules = replace(rules_for(config), min_deliveries=0)
    act(
        subscription.pk,
        "cancel",
        actor=f"user:{person.user.pk}",
        now=now,
        rules=rules,
        zone=config.zone,
        reason=reason,
    )
    return subscription


def test_erasure_is_idempotent(person):
    # given
    user_id = str(person.user.pk)
    person.user.delete()
    outbox.record_changes(PendingChange.CUSTOMER_DELETED, [user_id], timezone.now())
    drain_changes_task.delay().get()
    events = Subscription.objects.get().events.count()

    # when: the same deletion again
    outbox.record_changes(PendingChange.CUSTOMER_DELETED, [user_id], timezone.now())
    drain_changes_task.delay().get()

    # then
    assert Subscription.objects.get().events.count() == events
    assert find_personal_data([EMAIL, FIRST]) == []

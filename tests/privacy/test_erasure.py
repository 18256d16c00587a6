"""Deleting a customer leaves none of their personal data in any CRM table (PostgreSQL)."""

import pytest
from django.utils import timezone

from saleor_crm_plugin.campaigns.models import CampaignSend
from saleor_crm_plugin.campaigns.webhooks import WebhookDelivery
from saleor_crm_plugin.customers.models import (
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from saleor_crm_plugin.intake import outbox
from saleor_crm_plugin.intake.models import PendingChange
from saleor_crm_plugin.loyalty.models import MemberRank, PointsEntry, PointsLot
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription
from saleor_crm_plugin.tasks import drain_changes_task

from .conftest import EMAIL, FIRST, PERSONAL
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
    before = {(table, column) for table, column, _, _ in find_personal_data(PERSONAL)}
    assert before == {
        ("saleor_crm_subscription", "shipping_address"),
        ("saleor_crm_subscription", "billing_address"),
        ("saleor_crm_campaignsend", "error"),
        ("saleor_crm_webhookdelivery", "payload"),
    }

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
    subscription = Subscription.objects.get(profile=profile)
    assert (subscription.status, subscription.cancel_reason) == ("cancelled", "customer deleted")
    assert not Cycle.objects.filter(subscription=subscription).exists()
    assert CampaignSend.objects.get(profile=profile).reason == "smtp:550"
    assert not WebhookDelivery.objects.exists()


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

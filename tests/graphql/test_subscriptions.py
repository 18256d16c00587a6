"""Subscriptions through our GraphQL endpoint: the customer serves themselves, and no one else."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.subscriptions.models import Subscription, SubscriptionEvent
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
from saleor_crm_plugin.subscriptions.services import Rules, create_subscription
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

ME = """{ me { crmSubscriptions { id status interval allowedIntervals nextDeliveryOn deliveries
  lines { variantId quantity } upcoming(first: 3) { sequence date state } } } }"""

CHANGE = """mutation($id: ID!, $interval: String!) {
  crmSubscriptionChangeInterval(id: $id, interval: $interval) {
    appliesFrom afterNext subscription { interval } errors { field message code } } }"""
SKIP = """mutation($id: ID!, $sequence: Int!) {
  crmSubscriptionSkip(id: $id, sequence: $sequence) {
    subscription { upcoming(first: 2) { sequence state } } errors { field code } } }"""
CANCEL = """mutation($id: ID!, $reason: String!) {
  crmSubscriptionCancel(id: $id, reason: $reason) {
    subscription { status } errors { field message code } } }"""


@pytest.fixture(autouse=True)
def _plans(settings):
    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "subscription-plans": "variant-coffee: 30 days, 45 days",
        "subscription-cutoff-days": "5",
    }


@pytest.fixture
def ann(db):
    user = make_user("ann@example.com")
    profile = CustomerProfile.objects.create(user_id=str(user.pk))
    user.subscription = create_subscription(
        profile,
        channel="channel-jpy",
        currency="JPY",
        lines=[("variant-coffee", 2)],
        interval=Interval(30, Unit.DAY),
        first_delivery=timezone.localdate() + timedelta(days=3),  # within the cutoff
        actor="user:1",
        now=timezone.now(),
        rules=Rules(),
        zone=timezone.get_current_timezone(),
    )
    return user


def _id(subscription):
    import base64

    return base64.b64encode(f"CRMSubscription:{subscription.pk}".encode()).decode()


def test_the_customer_lists_their_subscriptions_with_the_coming_deliveries(post, ann):
    response = post(ME, token=ann.api_token)

    assert "errors" not in response, response
    [subscription] = response["data"]["me"]["crmSubscriptions"]
    assert subscription["status"] == "active"
    assert subscription["interval"] == "30 days"
    assert subscription["allowedIntervals"] == ["30 days", "45 days"]
    assert subscription["lines"] == [{"variantId": "variant-coffee", "quantity": 2}]
    assert [c["sequence"] for c in subscription["upcoming"]] == [1, 2, 3]


def test_a_change_past_the_cutoff_says_it_applies_from_the_delivery_after_next(post, ann):
    result = post(
        CHANGE, {"id": _id(ann.subscription), "interval": "45 days"}, token=ann.api_token
    )["data"]["crmSubscriptionChangeInterval"]

    assert result["errors"] == []
    assert (result["appliesFrom"], result["afterNext"]) == (2, True)
    assert result["subscription"]["interval"] == "45 days"
    event = SubscriptionEvent.objects.last()
    assert (event.kind, event.actor) == ("change_interval", f"user:{ann.pk}")


def test_illegal_changes_answer_a_code_and_change_nothing(post, ann):
    not_offered = post(
        CHANGE, {"id": _id(ann.subscription), "interval": "7 days"}, token=ann.api_token
    )["data"]["crmSubscriptionChangeInterval"]
    assert not_offered["errors"][0]["code"] == "NOT_ALLOWED"
    bad = post(
        CHANGE, {"id": _id(ann.subscription), "interval": "fortnightly"}, token=ann.api_token
    )["data"]["crmSubscriptionChangeInterval"]
    assert (bad["errors"][0]["field"], bad["errors"][0]["code"]) == ("interval", "INVALID")
    near = post(SKIP, {"id": _id(ann.subscription), "sequence": 1}, token=ann.api_token)["data"][
        "crmSubscriptionSkip"
    ]
    assert near["errors"] == [{"field": "sequence", "code": "PAST_CUTOFF"}]
    assert SubscriptionEvent.objects.count() == 1  # only "created"


def test_another_customer_cannot_see_or_touch_it(post, ann):
    eve = make_user("eve@example.com")
    assert post(ME, token=eve.api_token)["data"]["me"]["crmSubscriptions"] == []
    stolen = post(CANCEL, {"id": _id(ann.subscription), "reason": "mine now"}, token=eve.api_token)[
        "data"
    ]["crmSubscriptionCancel"]
    assert stolen["errors"][0]["code"] == "NOT_FOUND"
    anonymous = post(CANCEL, {"id": _id(ann.subscription), "reason": "x"})
    assert anonymous["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert Subscription.objects.get().status == "active"


def test_the_customer_skips_a_later_delivery_and_cancels_with_a_reason(post, ann):
    skipped = post(SKIP, {"id": _id(ann.subscription), "sequence": 2}, token=ann.api_token)["data"][
        "crmSubscriptionSkip"
    ]
    assert skipped["subscription"]["upcoming"] == [
        {"sequence": 1, "state": "due"},
        {"sequence": 2, "state": "skipped"},
    ]
    cancelled = post(
        CANCEL, {"id": _id(ann.subscription), "reason": "too much coffee"}, token=ann.api_token
    )["data"]["crmSubscriptionCancel"]
    assert cancelled == {"subscription": {"status": "cancelled"}, "errors": []}
    assert Subscription.objects.get().cancel_reason == "too much coffee"


def test_the_customer_changes_lines_preferences_and_address(post, ann):
    sid = _id(ann.subscription)
    add = post(
        """mutation($id: ID!) { crmSubscriptionAddOnce(id: $id, variantId: "variant-mug",
          quantity: 1) { appliesFrom afterNext errors { code } } }""",
        {"id": sid},
        token=ann.api_token,
    )["data"]["crmSubscriptionAddOnce"]
    # the next delivery is 3 days away, within the 5-day cutoff: the one after it
    assert add == {"appliesFrom": 2, "afterNext": True, "errors": []}
    prefs = post(
        """mutation($id: ID!) { crmSubscriptionSetPreferences(id: $id, weekday: 5,
          timeSlot: "18-20") { subscription { preferredWeekday timeSlot } errors { code } } }""",
        {"id": sid},
        token=ann.api_token,
    )["data"]["crmSubscriptionSetPreferences"]
    assert prefs["subscription"] == {"preferredWeekday": 5, "timeSlot": "18-20"}
    address = post(
        """mutation($id: ID!) { crmSubscriptionSetAddress(id: $id, address: {firstName: "Ann",
          lastName: "Sato", streetAddress1: "1-2-3", city: "Shibuya", country: "JP"})
          { errors { code } } }""",
        {"id": sid},
        token=ann.api_token,
    )["data"]["crmSubscriptionSetAddress"]
    assert address == {"errors": []}
    stored = Subscription.objects.get().shipping_address
    assert stored == {
        "firstName": "Ann",
        "lastName": "Sato",
        "streetAddress1": "1-2-3",
        "city": "Shibuya",
        "country": "JP",
    }
    swap = post(
        """mutation($id: ID!) { crmSubscriptionSwap(id: $id, variantId: "variant-coffee",
          toVariantId: "variant-tea") { errors { field code } } }""",
        {"id": sid},
        token=ann.api_token,
    )["data"]["crmSubscriptionSwap"]
    assert swap["errors"] == [{"field": "to", "code": "NOT_ALLOWED"}]


def test_staff_search_subscriptions_and_read_the_figures(post, ann, staff_user):
    import base64

    user_id = base64.b64encode(f"User:{ann.pk}".encode()).decode()
    query = """query($filter: CRMSubscriptionFilterInput) {
      crmSubscriptions(first: 10, filter: $filter) { totalCount edges { node { id status } } }
      crmSubscriptionFigures(days: 30) { channel currency active paused attention
        cancelledInPeriod churnRate } }"""

    found = post(
        query,
        {"filter": {"customerId": user_id, "status": "active", "variantId": "variant-coffee"}},
        token=staff_user.api_token,
    )["data"]
    none = post(query, {"filter": {"status": "paused"}}, token=staff_user.api_token)["data"]

    assert found["crmSubscriptions"]["totalCount"] == 1
    assert none["crmSubscriptions"]["totalCount"] == 0
    assert found["crmSubscriptionFigures"] == [
        {
            "channel": "channel-jpy",
            "currency": "JPY",
            "active": 1,
            "paused": 0,
            "attention": 0,
            "cancelledInPeriod": 0,
            "churnRate": 0.0,
        }
    ]
    denied = post(query, {}, token=ann.api_token)
    assert denied["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"

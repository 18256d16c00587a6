"""Subscriptions through our GraphQL endpoint: the customer serves themselves, and no one else."""

import json
from datetime import timedelta
from decimal import Decimal

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


CREATE = """mutation($input: CRMSubscriptionCreateInput!) { crmSubscriptionCreate(input: $input) {
  subscription { id status interval nextDeliveryOn lines { variantId quantity productName
    unitPrice { amount currency } } history { kind actor } }
  errors { field message code } } }"""


def _user_id(user):
    import base64

    return base64.b64encode(f"User:{user.pk}".encode()).decode()


def _create_input(ann, **changes):
    data = {
        "customerId": _user_id(ann),
        "channel": "channel-jpy",
        "currency": "JPY",
        "lines": [
            {
                "variantId": "variant-coffee",
                "quantity": 1,
                "unitPrice": "1980",
                "productName": "Beans",
            }
        ],
        "interval": "45 days",
        "firstDelivery": (timezone.localdate() + timedelta(days=10)).isoformat(),
    }
    return {**data, **changes}


def test_staff_start_a_subscription_for_a_customer(post, ann, staff_user):
    made = post(CREATE, {"input": _create_input(ann)}, token=staff_user.api_token)["data"][
        "crmSubscriptionCreate"
    ]
    assert made["errors"] == []
    created = made["subscription"]
    assert (created["status"], created["interval"]) == ("active", "45 days")
    assert created["nextDeliveryOn"] == (timezone.localdate() + timedelta(days=10)).isoformat()
    assert created["lines"] == [
        {
            "variantId": "variant-coffee",
            "quantity": 1,
            "productName": "Beans",
            "unitPrice": {"amount": 1980.0, "currency": "JPY"},
        }
    ]
    assert created["history"] == [{"kind": "created", "actor": f"staff:{staff_user.pk}"}]
    # the customer sees it among their own
    mine = post(ME, token=ann.api_token)["data"]["me"]["crmSubscriptions"]
    assert len(mine) == 2


README_ADDRESS = {
    "firstName": "Ann",
    "lastName": "Sato",
    "streetAddress1": "1-2-3 Jingumae",
    "city": "Shibuya-ku",
    "postalCode": "150-0001",
    "country": "JP",
    "countryArea": "Tokyo",
}


def test_staff_start_one_with_a_shipping_address_as_the_readme_shows(post, ann, staff_user):
    # given: the README's call, every documented input given
    data = _create_input(
        ann,
        shippingAddress=README_ADDRESS,
    )

    # when
    made = post(CREATE, {"input": data}, token=staff_user.api_token)

    # then
    assert "errors" not in made
    assert made["data"]["crmSubscriptionCreate"]["errors"] == []
    created = Subscription.objects.exclude(pk=ann.subscription.pk).get()
    assert created.shipping_address == README_ADDRESS


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"interval": "7 days"}, "interval", "NOT_ALLOWED"),
        ({"lines": [{"variantId": "variant-unknown", "quantity": 1}]}, "lines", "NOT_ALLOWED"),
        ({"lines": [{"variantId": "variant-coffee", "quantity": 0}]}, "lines[0]", "INVALID"),
        (
            {"lines": [{"variantId": "variant-coffee", "quantity": 1, "unitPrice": "1.5"}]},
            "lines[0].unitPrice",
            "INVALID",
        ),
        ({"currency": "YEN"}, "currency", "INVALID"),
        ({"firstDelivery": "2020-01-01"}, "firstDelivery", "IN_PAST"),
        ({"customerId": "VXNlcjo5OTk5"}, "customerId", "NOT_FOUND"),
        (
            {
                "shippingAddress": {
                    "firstName": "Ann",
                    "lastName": "Sato",
                    "streetAddress1": "1-2-3",
                    "city": " ",
                    "country": "JP",
                }
            },
            "shippingAddress",
            "REQUIRED",
        ),
    ],
)
def test_a_bad_staff_subscription_is_refused_naming_the_input(
    post, ann, staff_user, changes, field, code
):
    refused = post(CREATE, {"input": _create_input(ann, **changes)}, token=staff_user.api_token)[
        "data"
    ]["crmSubscriptionCreate"]
    assert refused["subscription"] is None
    assert (refused["errors"][0]["field"], refused["errors"][0]["code"]) == (field, code)
    assert Subscription.objects.count() == 1  # ann's own, nothing new


def test_customers_and_staff_without_the_permission_cannot_start_one(
    post, ann, staff_without_permission
):
    for token in (ann.api_token, staff_without_permission.api_token):
        denied = post(CREATE, {"input": _create_input(ann)}, token=token)
        assert denied["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert Subscription.objects.count() == 1


FAILED = """mutation($id: ID!) {
  retry: crmSubscriptionRetryRenewal(id: $id) { orderId subscription { status
    renewals(first: 5) { sequence status attempts lastError retryAt orderId } }
    errors { field message code } } }"""
SKIP_FAILED = """mutation($id: ID!) { crmSubscriptionSkipFailed(id: $id) {
  subscription { status nextDeliveryOn history(first: 5) { kind actor data } }
  errors { field code } } }"""


def _fail_renewals(subscription):
    from saleor_crm_plugin.host import get_host
    from saleor_crm_plugin.subscriptions.renewals import run_renewals

    due = timezone.now() + timedelta(days=3)
    rules = Rules(cutoff_days=5, lead_days=3, retry_hours=())
    run_renewals(get_host(), due, rules, timezone.get_current_timezone())  # variant-coffee unsold
    subscription.refresh_from_db()
    assert subscription.status == "attention"


def test_staff_act_on_a_failed_renewal(post, ann, staff_user):
    from saleor_crm_plugin.sandbox.models import SandboxOrder
    from tests.factories import order

    _fail_renewals(ann.subscription)
    sid = _id(ann.subscription)
    listed = post(
        """{ crmSubscriptions(first: 5, filter: {status: "attention"}) { edges { node {
          failedRenewal { sequence status lastError } } } } }""",
        token=staff_user.api_token,
    )["data"]["crmSubscriptions"]["edges"]
    assert listed[0]["node"]["failedRenewal"] == {
        "sequence": 1,
        "status": "failed",
        "lastError": "variant variant-coffee is not sold in JPY",
    }

    again = post(FAILED, {"id": sid}, token=staff_user.api_token)["data"]["retry"]
    assert again["errors"][0]["code"] == "RENEWAL_FAILED"
    assert again["subscription"]["status"] == "attention"

    from saleor_crm_plugin.customers.snapshots import LineSnapshot

    coffee = LineSnapshot(
        line_id="c-1", quantity=1, unit_price_gross=1500, variant_id="variant-coffee"
    )
    SandboxOrder.store(order("stocked", email="x@example.com", total="1500", lines=[coffee]))
    ordered = post(FAILED, {"id": sid}, token=staff_user.api_token)["data"]["retry"]
    assert ordered["errors"] == []
    assert ordered["orderId"] == f"crm-subscription-{ann.subscription.pk}-cycle-1"
    assert ordered["subscription"]["status"] == "active"
    nothing = post(SKIP_FAILED, {"id": sid}, token=staff_user.api_token)["data"]
    assert nothing["crmSubscriptionSkipFailed"]["errors"] == [{"field": "id", "code": "NOT_FAILED"}]
    # the customer can neither retry nor skip failed renewals
    denied = post(FAILED, {"id": sid}, token=ann.api_token)
    assert denied["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_staff_skip_a_failed_delivery(post, ann, staff_user):
    _fail_renewals(ann.subscription)
    skipped = post(SKIP_FAILED, {"id": _id(ann.subscription)}, token=staff_user.api_token)["data"][
        "crmSubscriptionSkipFailed"
    ]
    assert skipped["errors"] == []
    assert skipped["subscription"]["status"] == "active"
    [event] = [e for e in skipped["subscription"]["history"] if e["kind"] == "skip_failed"]
    assert (event["kind"], event["actor"]) == ("skip_failed", f"staff:{staff_user.pk}")
    assert json.loads(event["data"])["sequence"] == 1


def test_the_figures_have_recurring_revenue_per_month_in_each_currency(post, ann, staff_user):
    ann.subscription.lines.update(unit_price=1500)  # 2 x 1,500 JPY every 30 days
    usd = create_subscription(
        CustomerProfile.objects.create(user_id="991"),
        channel="default-channel",
        currency="USD",
        lines=[("variant-coffee", 1, Decimal("19.99")), ("variant-tea", 1)],
        interval=Interval(1, Unit.MONTH),
        first_delivery=timezone.localdate() + timedelta(days=20),
        actor="staff:1",
        now=timezone.now(),
        rules=Rules(),
        zone=timezone.get_current_timezone(),
    )
    assert usd.pk
    figures = post(
        """{ crmSubscriptionFigures { channel currency active recurringRevenue { amount currency }
          unpricedLines } }""",
        token=staff_user.api_token,
    )["data"]["crmSubscriptionFigures"]
    assert figures == [
        {
            "channel": "channel-jpy",
            "currency": "JPY",
            "active": 1,
            "recurringRevenue": {"amount": 3044.0, "currency": "JPY"},  # 3,000 x 30.4375 / 30
            "unpricedLines": 0,
        },
        {
            "channel": "default-channel",
            "currency": "USD",
            "active": 1,
            "recurringRevenue": {"amount": 19.99, "currency": "USD"},
            "unpricedLines": 1,
        },
    ]


def test_a_storefront_reads_which_variants_offer_which_intervals(post):
    offered = post(
        """{ crmSubscriptionOffers(variantIds: ["variant-coffee", "variant-mug"]) {
          variantId intervals } }"""
    )["data"]["crmSubscriptionOffers"]
    assert offered == [{"variantId": "variant-coffee", "intervals": ["30 days", "45 days"]}]
    too_many = post(
        "query($ids: [String!]!) { crmSubscriptionOffers(variantIds: $ids) { variantId } }",
        {"ids": [f"v{n}" for n in range(101)]},
    )
    assert "at most 100 variants" in too_many["errors"][0]["message"]


def test_paying_renewals_with_points_needs_the_stores_setting(post, ann, settings):
    query = """mutation($id: ID!) { crmSubscriptionSetPreferences(id: $id, usePoints: true) {
      subscription { usePoints timeSlot } errors { field code } } }"""
    off = post(query, {"id": _id(ann.subscription)}, token=ann.api_token)["data"]
    assert off["crmSubscriptionSetPreferences"]["errors"] == [
        {"field": "usePoints", "code": "NOT_ALLOWED"}
    ]
    settings.CRM_CONFIG = {**settings.CRM_CONFIG, "points-on-renewals": "true"}
    from saleor_crm_plugin.host import reset_host

    reset_host()
    on = post(query, {"id": _id(ann.subscription)}, token=ann.api_token)["data"]
    assert on["crmSubscriptionSetPreferences"] == {
        "subscription": {"usePoints": True, "timeSlot": ""},
        "errors": [],
    }


def test_a_page_of_subscriptions_reads_the_customers_emails_once(post, ann, staff_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    query = "{ crmSubscriptions(first: 20) { edges { node { customerEmail } } } }"

    def queries():
        with CaptureQueriesContext(connection) as captured:
            answer = post(query, token=staff_user.api_token)
        assert "errors" not in answer
        return len(captured.captured_queries), answer

    one, _ = queries()
    for number in range(4):
        user = make_user(f"buyer{number}@example.com")
        create_subscription(
            CustomerProfile.objects.create(user_id=str(user.pk)),
            channel="channel-jpy",
            currency="JPY",
            lines=[("variant-coffee", 1)],
            interval=Interval(30, Unit.DAY),
            first_delivery=timezone.localdate() + timedelta(days=9),
            actor="staff:1",
            now=timezone.now(),
            rules=Rules(),
            zone=timezone.get_current_timezone(),
        )
    five, answer = queries()
    emails = {edge["node"]["customerEmail"] for edge in answer["data"]["crmSubscriptions"]["edges"]}
    assert emails == {"ann@example.com", *(f"buyer{n}@example.com" for n in range(4))}
    assert five == one

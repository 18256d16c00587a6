"""Recommendations over HTTP: `crmAlsoBought` (public), `me { crmRecommendations }` (the
customer) and `CRMCustomer.recommendations` (staff), on pairs and repeat figures computed by
the nightly services."""

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time

from saleor_crm_plugin.analytics.basket_services import compute_baskets
from saleor_crm_plugin.analytics.report_services import compute_reports
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.snapshots import LineSnapshot
from saleor_crm_plugin.sandbox.models import SandboxProduct
from tests.factories import order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NAMES = {"S": "Sencha", "W": "Wagashi", "M": "Matcha", "T": "Teaware", "H": "Gift box"}
PICK = "productId name reason score because { productId name lastBoughtAt usualIntervalDays }"
ALSO_BOUGHT = f"""query($product: ID!, $channel: String!, $first: Int) {{
  crmAlsoBought(product: $product, channel: $channel, first: $first) {{ {PICK} }} }}"""
MINE = f"""query($channel: String!, $first: Int) {{
  me {{ crmRecommendations(channel: $channel, first: $first) {{ {PICK} }} }} }}"""
STAFF = f"""query($id: ID!, $channel: String!) {{
  crmCustomer(id: $id) {{ recommendations(channel: $channel) {{ {PICK} }} }} }}"""


def _order(order_id, customer, days_ago, products, email=None):
    return order(
        order_id,
        user_id=customer,
        email=email or f"{customer}@example.com",
        placed_at=NOW - timedelta(days=days_ago),
        total="1000",
        lines=[
            LineSnapshot(
                line_id=f"{order_id}-{n}",
                quantity=1,
                unit_price_gross=Decimal(1000),
                product_name=f"{NAMES[product]} (ledger)",
                variant_id=f"v-{product}",
                product_id=product,
            )
            for n, product in enumerate(products)
        ],
    )


def tea_store():
    """Six customers of the JPY channel, with the pairs and reports computed at NOW; returns
    (ann, dan), the two with a store account. The gift box H is sold in the USD channel only.

    ann: S 100 and 70 days ago, M 10 days ago; bob: S+W 200 days ago, S 150; cat: M+T+H 60;
    dan: M+T 30; fay: M+T 20; eve: W 300. Customer pairs within 30 days, over 6 customers:
    S-W (bob), M-T (cat, dan, fay), M-H and T-H (cat). Buyers: S 2, W 2, M 4, T 3, H 1.
    Repeat: both S buyers bought it again (rate 1), 30 and 50 days later (interval 40).
    """
    SandboxProduct.objects.bulk_create(
        SandboxProduct(
            product_id=product,
            name=name,
            channels=["default-channel"] if product == "H" else ["channel-jpy", "default-channel"],
        )
        for product, name in NAMES.items()
    )
    ann = make_user("ann@example.com")
    dan = make_user("dan@example.com")
    ingest_orders(
        [
            _order("o1", str(ann.pk), 100, ["S"], ann.email),
            _order("o2", str(ann.pk), 70, ["S"], ann.email),
            _order("o3", str(ann.pk), 10, ["M"], ann.email),
            _order("o4", "bob", 200, ["S", "W"]),
            _order("o5", "bob", 150, ["S"]),
            _order("o6", "cat", 60, ["M", "T", "H"]),
            _order("o7", str(dan.pk), 30, ["M", "T"], dan.email),
            _order("o8", "fay", 20, ["M", "T"]),
            _order("o9", "eve", 300, ["W"]),
        ]
    )
    compute_baskets(NOW, 30, 1, 0.0)
    compute_reports(NOW, NOW, [])
    return ann, dan


def _pick(product, name, reason, score, because, because_name, last=None, interval=None):
    return {
        "productId": product,
        "name": name,
        "reason": reason,
        "score": score,
        "because": {
            "productId": because,
            "name": because_name,
            "lastBoughtAt": None if last is None else (NOW - timedelta(days=last)).isoformat(),
            "usualIntervalDays": interval,
        },
    }


ANN_PICKS = [
    # S: a repeat buy (rate 1) last bought 70 days ago, usually every 40 days
    _pick("S", "Sencha", "TIME_TO_RESTOCK", 1.0, "S", "Sencha", 70, 40.0),
    # T: 3 of M's 4 customers bought it; M bought 10 days ago
    _pick("T", "Teaware", "BOUGHT_WITH", 0.75, "M", "Matcha (ledger)", 10),
    # W: 1 of S's 2 customers
    _pick("W", "Wagashi", "BOUGHT_WITH", 0.5, "S", "Sencha (ledger)", 70),
]


@freeze_time(NOW)
def test_anyone_sees_what_customers_also_bought_in_the_channel(post):
    # given
    tea_store()

    # when: anonymous
    matcha = post(ALSO_BOUGHT, {"product": "M", "channel": "channel-jpy"})
    teaware = post(ALSO_BOUGHT, {"product": "T", "channel": "channel-jpy"})
    in_usd = post(ALSO_BOUGHT, {"product": "T", "channel": "default-channel"})

    # then: M -> T 3/4 and M -> H 1/4, but the gift box is not sold in the JPY channel
    assert "errors" not in matcha
    assert matcha["data"]["crmAlsoBought"] == [
        _pick("T", "Teaware", "BOUGHT_WITH", 0.75, "M", "Matcha (ledger)")
    ]
    assert teaware["data"]["crmAlsoBought"] == [
        _pick("M", "Matcha", "BOUGHT_WITH", 1.0, "T", "Teaware (ledger)")
    ]
    # the USD channel has no orders, so no pairs: H is sold there but nobody bought it there
    assert in_usd["data"]["crmAlsoBought"] == []


@freeze_time(NOW)
def test_an_unknown_product_or_channel_has_no_picks(post):
    # given
    tea_store()

    # when
    unknown_product = post(ALSO_BOUGHT, {"product": "nope", "channel": "channel-jpy"})
    unknown_channel = post(ALSO_BOUGHT, {"product": "M", "channel": "nowhere"})

    # then
    assert unknown_product == {"data": {"crmAlsoBought": []}}
    assert unknown_channel == {"data": {"crmAlsoBought": []}}


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ({"first": 0}, "first", "first: must be from 1 to 50, not 0"),
        ({"first": 51}, "first", "first: must be from 1 to 50, not 51"),
        ({"channel": " "}, "channel", "channel: must not be empty"),
        ({"channel": "c" * 256}, "channel", "channel: must be at most 255 characters"),
        ({"product": ""}, "product", "product: must not be empty"),
        ({"product": "p" * 65}, "product", "product: must be at most 64 characters"),
    ],
)
def test_bad_arguments_are_named(post, variables, field, message):
    # when
    answer = post(ALSO_BOUGHT, {"product": "M", "channel": "channel-jpy", **variables})

    # then
    assert answer["data"] is None
    assert len(answer["errors"]) == 1
    assert answer["errors"][0]["message"] == message
    assert answer["errors"][0]["extensions"]["exception"] == {
        "code": "GraphQLError",
        "field": field,
    }


@freeze_time(NOW)
def test_a_customer_gets_restock_and_bought_with_picks_best_first(post):
    # given
    ann, _dan = tea_store()

    # when
    answer = post(MINE, {"channel": "channel-jpy"}, ann.api_token)
    two = post(MINE, {"channel": "channel-jpy", "first": 2}, ann.api_token)

    # then: M (bought 10 days ago, not a repeat buy) is not offered; H is not sold here
    assert "errors" not in answer
    assert answer["data"]["me"]["crmRecommendations"] == ANN_PICKS
    assert two["data"]["me"]["crmRecommendations"] == ANN_PICKS[:2]


@freeze_time(NOW)
def test_a_customers_own_recent_purchases_are_not_offered_again(post):
    # given: dan bought M and T 30 days ago; neither is bought again by anyone
    _ann, dan = tea_store()

    # when
    answer = post(MINE, {"channel": "channel-jpy"}, dan.api_token)
    elsewhere = post(MINE, {"channel": "default-channel"}, dan.api_token)

    # then: M and T are each other's pair, and H (paired with both) is not sold in the channel
    assert answer == {"data": {"me": {"crmRecommendations": []}}}
    assert elsewhere == {"data": {"me": {"crmRecommendations": []}}}


@freeze_time(NOW)
def test_restock_waits_for_the_usual_interval(post):
    # given: ann bought S again 5 days ago
    ann, _dan = tea_store()
    ingest_orders([_order("o10", str(ann.pk), 5, ["S"], ann.email)])
    compute_baskets(NOW, 30, 1, 0.0)
    compute_reports(NOW, NOW, [])

    # when
    answer = post(MINE, {"channel": "channel-jpy"}, ann.api_token)

    # then: S is a repeat buy, but its usual interval (now 50 days: 30, 50, 65) has not passed;
    # S-M is now a pair too (5 and 10 days ago), and M was bought 10 days ago
    assert [
        (pick["productId"], pick["reason"]) for pick in answer["data"]["me"]["crmRecommendations"]
    ] == [("T", "BOUGHT_WITH"), ("W", "BOUGHT_WITH")]


def test_anonymous_callers_get_no_personal_picks(post):
    # when
    answer = post(MINE, {"channel": "channel-jpy"})

    # then
    assert answer["data"] == {"me": None}
    assert [error["message"] for error in answer["errors"]] == [
        "You need to be authenticated to perform this action."
    ]


@freeze_time(NOW)
def test_staff_see_the_picks_a_customer_gets(post, staff_user, staff_without_permission):
    # given
    ann, _dan = tea_store()
    variables = {"id": _user_id(ann), "channel": "channel-jpy"}

    # when
    staff = post(STAFF, variables, staff_user.api_token)
    clerk = post(STAFF, variables, staff_without_permission.api_token)
    customer = post(
        "query($channel: String!) { me { crmProfile { recommendations(channel: $channel) "
        "{ productId } } } }",
        {"channel": "channel-jpy"},
        ann.api_token,
    )

    # then
    assert staff == {"data": {"crmCustomer": {"recommendations": ANN_PICKS}}}
    assert clerk["data"] == {"crmCustomer": None}
    assert [error["message"] for error in clerk["errors"]] == [
        "You need one of the following permissions: MANAGE_USERS"
    ]
    assert customer["data"] == {"me": {"crmProfile": None}}
    assert [error["message"] for error in customer["errors"]] == [
        "You need one of the following permissions: MANAGE_USERS"
    ]


def _user_id(user):
    return base64.b64encode(f"User:{user.pk}".encode()).decode()

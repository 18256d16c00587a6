"""Ranks and points through our GraphQL endpoint: the customer's own, and staff's tools."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.customers.snapshots import OrderStatus
from saleor_crm_plugin.loyalty.models import PointsEntry, RankChange
from saleor_crm_plugin.sandbox.models import SandboxGiftCard, SandboxOrder, SandboxVoucher
from saleor_crm_plugin.tasks import ingest_orders_task
from tests.factories import order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

ME = """{ me {
  crmMembership { rank { code name } since nextRank { code }
    remainingToNextRank { orders amount { amount currency } amounts { amount currency } combine }
    expiresAt pinned benefits { pointsMultiplier discountPercent perks } }
  crmPoints { balance available pending owed expiringSoon(days: 366) { points at }
    history(first: 10) { totalCount edges { node { kind points reason currency actor } } } }
} }"""

REDEEM = """mutation R($points: Int!, $currency: String!, $requestId: String!, $customerId: ID) {
  crmPointsRedeem(points: $points, currency: $currency, requestId: $requestId,
                  customerId: $customerId) {
    giftCard { code amount { amount currency } }
    points { balance }
    errors { field message code }
  }
}"""

ADJUST = """mutation A($customerId: ID!, $points: Int!, $reason: String!, $requestId: String!,
                    $currency: String) {
  crmPointsAdjust(customerId: $customerId, points: $points, reason: $reason,
                  requestId: $requestId, currency: $currency) {
    points { balance available }
    errors { field message code }
  }
}"""

PIN = """mutation P($customerId: ID!, $code: String, $reason: String!, $expiresAt: DateTime) {
  crmRankPin(customerId: $customerId, code: $code, reason: $reason, expiresAt: $expiresAt) {
    membership { rank { code } pinned expiresAt voucherCode }
    errors { field message code }
  }
}"""

PREVIEW = """query W($ranks: String!, $window: String) {
  crmRankPreview(ranks: $ranks, window: $window) {
    code customersNow customersDraft movingUp movingDown
  }
}"""


def _user_id(user):
    import base64

    return base64.b64encode(f"User:{user.pk}".encode()).decode()


def test_the_customer_sees_their_rank_progress_and_pending_points(post, ann):
    response = post(ME, token=ann.api_token)

    assert "errors" not in response, response
    me = response["data"]["me"]
    membership = me["crmMembership"]
    assert membership["rank"] == {"code": "REGULAR", "name": "Regular"}
    assert membership["nextRank"] == {"code": "SILVER"}
    assert membership["remainingToNextRank"] == {  # the default ranks count orders only
        "orders": 2,
        "amount": None,
        "amounts": [],
        "combine": "any",
    }
    assert membership["since"] is not None
    assert membership["pinned"] is False
    assert membership["benefits"] == {"pointsMultiplier": 1.0, "discountPercent": 0.0, "perks": ""}
    points = me["crmPoints"]
    # 120 points (1 per 100 JPY) + the default first-order bonus of 100, pending fulfilment
    assert (points["balance"], points["available"], points["pending"], points["owed"]) == (
        0,
        0,
        220,
        0,
    )
    # the default expiry, 12 months after earning, counts for pending points too
    assert [expiry["points"] for expiry in points["expiringSoon"]] == [220]
    history = points["history"]
    assert history["totalCount"] == 1
    assert history["edges"][0]["node"] == {
        "kind": "EARN",
        "points": 220,
        "reason": "order a1: base, first order +100",
        "currency": "JPY",
        "actor": None,
    }


# The default rank table of earlier versions: thresholds in JPY for every store.
YEN_RANKS = """Regular (REGULAR)
Silver (SILVER): orders 3 or spend 30000 JPY; points x1.5
Gold (GOLD): orders 5 or spend 50000 JPY; points x2; discount 3%
Platinum (PLATINUM): orders 10 and spend 100000 JPY; points x3; discount 5%"""


@pytest.mark.parametrize("ranks", [None, YEN_RANKS], ids=["default-ranks", "yen-ranks"])
def test_a_usd_customer_is_never_quoted_yen_for_the_next_rank(post, settings, ranks):
    # given: a customer of a store selling in USD and PLN, with one USD order
    if ranks is not None:
        settings.CRM_CONFIG = {**settings.CRM_CONFIG, "ranks": ranks}
    user = make_user("uma@example.com")
    SandboxOrder.store(
        order(
            "u1",
            user_id=str(user.pk),
            email=user.email,
            total="19.75",
            currency="USD",
            placed_at=timezone.now() - timedelta(days=1),
        )
    )
    ingest_orders_task.delay(["u1"]).get()

    # when
    response = post(ME, token=user.api_token)

    # then
    assert "errors" not in response, response
    membership = response["data"]["me"]["crmMembership"]
    assert (membership["rank"]["code"], membership["nextRank"]) == ("REGULAR", {"code": "SILVER"})
    assert membership["remainingToNextRank"] == {
        "orders": 2,
        "amount": None,
        "amounts": [],
        "combine": "any",
    }
    assert "JPY" not in json.dumps(membership)


def test_fulfilment_then_the_return_window_make_the_points_available(post, ann):
    fulfilled_at = timezone.now() - timedelta(days=15)
    snapshot = order(
        "a1",
        user_id=str(ann.pk),
        email=ann.email,
        total="12000",
        placed_at=timezone.now() - timedelta(days=16),
        status=OrderStatus.FULFILLED,
        fulfilled_at=fulfilled_at,
        updated_at=timezone.now(),
    )
    SandboxOrder.store(snapshot)
    ingest_orders_task.delay(["a1"]).get()

    points = post(ME, token=ann.api_token)["data"]["me"]["crmPoints"]

    assert (points["available"], points["pending"]) == (220, 0)
    # the default expiry: 12 months after earning
    assert [e["points"] for e in points["expiringSoon"]] == [220]


def test_staff_adjust_and_the_customer_redeems_a_gift_card_once_per_request(post, ann, staff_user):
    # given: 500 points added by staff, available at once
    added = post(
        ADJUST,
        {
            "customerId": _user_id(ann),
            "points": 500,
            "reason": "goodwill",
            "requestId": "r1",
            "currency": "JPY",
        },
        token=staff_user.api_token,
    )["data"]["crmPointsAdjust"]
    assert added == {"points": {"balance": 500, "available": 500}, "errors": []}

    # when: the customer redeems 150 points into a JPY gift card, and retries the request
    variables = {"points": 150, "currency": "JPY", "requestId": "checkout-1"}
    first = post(REDEEM, variables, token=ann.api_token)["data"]["crmPointsRedeem"]
    again = post(REDEEM, variables, token=ann.api_token)["data"]["crmPointsRedeem"]

    # then
    assert first["errors"] == []
    assert first["giftCard"]["amount"] == {"amount": 150.0, "currency": "JPY"}
    assert first["points"] == {"balance": 350}
    assert again["giftCard"]["code"] == first["giftCard"]["code"]
    assert again["points"] == {"balance": 350}
    ann.refresh_from_db()
    assert ann.private_metadata["crm.points"] == "350"
    card = SandboxGiftCard.objects.get()
    assert (card.code, card.user_id, card.current_balance_amount) == (
        first["giftCard"]["code"],
        ann.pk,
        150,
    )
    entry = PointsEntry.objects.get(kind="adjust")
    assert (entry.reason, entry.actor) == ("goodwill", f"staff:{staff_user.pk}")


@pytest.mark.parametrize(
    ("variables", "field", "code", "message"),
    [
        ({"points": 600}, "points", "INSUFFICIENT_POINTS", "600 asked, 500 available to spend"),
        ({"points": 50}, "points", "INVALID", "at least 100 points a redemption in JPY"),
        ({"points": 60000}, "points", "INVALID", "at most 50000 points a redemption in JPY"),
        ({"currency": "EUR"}, "currency", "INVALID", "points are not redeemed in EUR"),
        ({"currency": "XX"}, "currency", "INVALID", "not an ISO 4217"),
        ({"requestId": "no spaces"}, "requestId", "INVALID", "letters, digits"),
    ],
)
def test_a_bad_redemption_names_the_input_and_spends_nothing(
    post, ann, staff_user, variables, field, code, message
):
    post(
        ADJUST,
        {
            "customerId": _user_id(ann),
            "points": 500,
            "reason": "goodwill",
            "requestId": "r1",
            "currency": "JPY",
        },
        token=staff_user.api_token,
    )
    request = {"points": 150, "currency": "JPY", "requestId": "x1", **variables}

    result = post(REDEEM, request, token=ann.api_token)["data"]["crmPointsRedeem"]

    assert result["giftCard"] is None
    [error] = result["errors"]
    assert (error["field"], error["code"]) == (field, code)
    assert message in error["message"]
    assert not SandboxGiftCard.objects.exists()
    assert not PointsEntry.objects.filter(kind="redeem").exists()


def test_customers_cannot_use_staff_tools_nor_redeem_for_others(
    post, ann, staff_without_permission
):
    other = make_user("eve@example.com")
    for token in (other.api_token, staff_without_permission.api_token, None):
        adjusted = post(
            ADJUST,
            {"customerId": _user_id(ann), "points": 5, "reason": "x", "requestId": "r"},
            token=token,
        )
        assert adjusted["data"]["crmPointsAdjust"] is None
        assert adjusted["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    stolen = post(
        REDEEM,
        {"points": 100, "currency": "JPY", "requestId": "r", "customerId": _user_id(ann)},
        token=other.api_token,
    )
    assert stolen["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    anonymous = post(ME, token=None)
    assert anonymous["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert not PointsEntry.objects.filter(kind="adjust").exists()


def test_staff_pin_a_rank_and_see_why_in_the_history(post, ann, staff_user):
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    result = post(
        PIN,
        {"customerId": _user_id(ann), "code": "GOLD", "reason": "launch VIP", "expiresAt": expires},
        token=staff_user.api_token,
    )["data"]["crmRankPin"]

    assert result["errors"] == []
    assert result["membership"]["rank"] == {"code": "GOLD"}
    assert result["membership"]["pinned"] is True
    # Gold's 3% discount: the customer's own code; crm.rank follows at once
    voucher = SandboxVoucher.objects.get(is_active=True)
    assert result["membership"]["voucherCode"] == voucher.code
    ann.refresh_from_db()
    assert ann.private_metadata["crm.rank"] == "GOLD"
    change = RankChange.objects.order_by("pk").last()
    assert (change.to_code, change.reason, change.actor) == (
        "GOLD",
        "pinned by staff: launch VIP",
        f"staff:{staff_user.pk}",
    )
    history = post(
        "query H($id: ID!) { crmCustomer(id: $id) { rankHistory { fromCode toCode reason actor "
        "ruleVersion orderIds } } }",
        {"id": _user_id(ann)},
        token=staff_user.api_token,
    )["data"]["crmCustomer"]["rankHistory"]
    assert [(h["fromCode"], h["toCode"], h["actor"]) for h in history] == [
        ("REGULAR", "GOLD", f"staff:{staff_user.pk}"),
        (None, "REGULAR", None),
    ]
    assert history[1]["reason"] == "the starting rank"
    assert history[1]["orderIds"] == ["a1"]
    assert len(history[0]["ruleVersion"]) == 12
    bad = post(
        PIN,
        {"customerId": _user_id(ann), "code": "DIAMOND", "reason": "x"},
        token=staff_user.api_token,
    )["data"]["crmRankPin"]
    assert bad["errors"][0]["field"] == "code"
    assert "'DIAMOND' is not a rank" in bad["errors"][0]["message"]


def test_the_what_if_preview_counts_moves_without_saving(post, ann, staff_user):
    draft = "Bronze (REGULAR)\nSilver (SILVER): spend 10000 JPY\nGold (GOLD): spend 100000 JPY"

    response = post(PREVIEW, {"ranks": draft}, token=staff_user.api_token)

    assert "errors" not in response, response
    assert response["data"]["crmRankPreview"] == [
        {"code": "REGULAR", "customersNow": 1, "customersDraft": 0, "movingUp": 0, "movingDown": 0},
        {"code": "SILVER", "customersNow": 0, "customersDraft": 1, "movingUp": 1, "movingDown": 0},
        {"code": "GOLD", "customersNow": 0, "customersDraft": 0, "movingUp": 0, "movingDown": 0},
    ]
    profile = CustomerProfile.objects.get(user_id=str(ann.pk))
    assert profile.member_rank.code == "REGULAR"  # nothing saved
    bad = post(
        PREVIEW,
        {"ranks": "Regular (R)\nGold (G): orders 5\nSilver (S): orders 3"},
        token=staff_user.api_token,
    )
    error = bad["errors"][0]
    assert error["extensions"]["exception"]["field"] == "ranks"
    assert "Silver.min_orders: 3 is below Gold's 5" in error["message"]


def test_staff_see_the_outstanding_points_per_currency(post, ann, staff_user):
    response = post(
        "{ crmPointsLiability { currency available pending value { amount currency } } }",
        token=staff_user.api_token,
    )
    assert response["data"]["crmPointsLiability"] == [
        {
            "currency": "JPY",
            "available": 0,
            "pending": 220,
            "value": {"amount": 220.0, "currency": "JPY"},
        }
    ]


def test_a_cancelled_order_takes_its_points_back(post, ann):
    snapshot = order(
        "a1",
        user_id=str(ann.pk),
        email=ann.email,
        total="12000",
        placed_at=timezone.now() - timedelta(days=1),
    )
    cancelled = replace(
        snapshot,
        status=OrderStatus.CANCELED,
        cancelled_at=timezone.now(),
        updated_at=timezone.now(),
    )
    SandboxOrder.store(cancelled)
    ingest_orders_task.delay(["a1"]).get()

    points = post(ME, token=ann.api_token)["data"]["me"]["crmPoints"]

    assert (points["balance"], points["pending"]) == (0, 0)
    assert [e["node"]["kind"] for e in points["history"]["edges"]] == ["REVERSE", "EARN"]


def test_staff_read_any_customers_points_history_with_who_did_what(post, ann, staff_user):
    post(
        ADJUST,
        {"customerId": _user_id(ann), "points": 40, "reason": "survey", "requestId": "s1"},
        token=staff_user.api_token,
    )
    query = """query C($id: ID!) { crmCustomer(id: $id) { rank
      membership { rank { code } }
      points { balance pending history(first: 5) { edges { node { kind points reason actor } } } }
    } }"""

    response = post(query, {"id": _user_id(ann)}, token=staff_user.api_token)

    customer = response["data"]["crmCustomer"]
    assert customer["rank"] == "REGULAR"
    assert (customer["points"]["balance"], customer["points"]["pending"]) == (40, 220)
    assert [edge["node"] for edge in customer["points"]["history"]["edges"]] == [
        {"kind": "ADJUST", "points": 40, "reason": "survey", "actor": f"staff:{staff_user.pk}"},
        {
            "kind": "EARN",
            "points": 220,
            "reason": "order a1: base, first order +100",
            "actor": None,
        },
    ]
    denied = post(query, {"id": _user_id(ann)}, token=ann.api_token)
    assert denied["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    unknown = post(query, {"id": "VXNlcjo5OTk5"}, token=staff_user.api_token)
    assert unknown["errors"][0]["extensions"]["exception"]["field"] == "id"


def test_staff_read_how_many_customers_hold_each_rank(post, staff_user):
    from saleor_crm_plugin.customers.models import CustomerProfile
    from saleor_crm_plugin.loyalty.models import MemberRank
    from tests.factories import T0

    for number, code in enumerate(["REGULAR", "REGULAR", "GOLD", "RETIRED"]):
        profile = CustomerProfile.objects.create(user_id=str(900 + number))
        MemberRank.objects.create(profile=profile, code=code, since=T0, rule_version="v")
    query = "{ crmRankDistribution { code name customers } }"

    rows = post(query, token=staff_user.api_token)["data"]["crmRankDistribution"]

    assert rows == [
        {"code": "REGULAR", "name": "Regular", "customers": 2},
        {"code": "SILVER", "name": "Silver", "customers": 0},
        {"code": "GOLD", "name": "Gold", "customers": 1},
        {"code": "PLATINUM", "name": "Platinum", "customers": 0},
        {"code": "RETIRED", "name": "RETIRED", "customers": 1},  # under an older rank table
    ]
    assert "errors" in post(query)

"""A customer's state on a past date through the staff API, and its errors naming the field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.loyalty.config import ladder_version, parse_window
from saleor_crm_plugin.loyalty.ranks import DEFAULT_LADDER_TEXT
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

STATE = """query S($customer: ID!, $at: DateTime!) {
  crmCustomerStateAt(customer: $customer, at: $at) {
    orderCount spends { currency orderCount totalSpent { amount currency } }
    rank { code since tableVersion reached windowOrders why }
    points { balance available pending owed expiringPoints expiringAt }
    scores { group known r segment why }
    ruleSegments { name matched }
    why
  }
}"""


def _customer_id(user):
    import base64

    return base64.b64encode(f"User:{user.pk}".encode()).decode()


def test_staff_see_the_state_before_and_after_the_first_rank(post, ann, staff_user):
    # given: Ann's order of 12,000 JPY was placed a day ago, and ingested (her first rank) now
    placed = CustomerProfile.objects.get().first_order_at
    now = timezone.now()

    # when
    before = post(
        STATE,
        {"customer": _customer_id(ann), "at": (placed + timedelta(hours=12)).isoformat()},
        token=staff_user.api_token,
    )
    after = post(
        STATE, {"customer": _customer_id(ann), "at": now.isoformat()}, staff_user.api_token
    )

    # then: half a day after the order, no rank yet and no rank table stored yet
    assert "errors" not in before, before
    state = before["data"]["crmCustomerStateAt"]
    assert state["orderCount"] == 1
    assert state["spends"] == [
        {"currency": "JPY", "orderCount": 1, "totalSpent": {"amount": 12000.0, "currency": "JPY"}}
    ]
    assert state["rank"]["code"] is None
    assert state["rank"]["tableVersion"] is None
    assert state["rank"]["why"][0] == "no rank yet: the rank history has no change before the date"
    assert (state["points"]["available"], state["points"]["pending"]) == (0, 220)
    assert state["scores"] == [
        {
            "group": "JPY",
            "known": False,
            "r": None,
            "segment": None,
            "why": [
                "JPY: unknown: no cut points stored before the date (kept from the next "
                "recompute on)"
            ],
        }
    ]
    assert state["ruleSegments"] == []
    # now: the lowest rank under the table stored with her first evaluation
    rank = after["data"]["crmCustomerStateAt"]["rank"]
    version = ladder_version(DEFAULT_LADDER_TEXT, parse_window("rolling 12 months, on day 1"), None)
    assert (rank["code"], rank["tableVersion"], rank["reached"]) == ("REGULAR", version, "REGULAR")
    assert rank["windowOrders"] == ["a1"]


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        (
            {"customer": "VXNlcjo5OTk5", "at": "2025-01-01T00:00:00+00:00"},
            "customer",
            "'VXNlcjo5OTk5' is not a customer the CRM knows",
        ),
        (
            {"at": "2999-01-01T00:00:00+00:00"},
            "at",
            "2999-01-01T00:00:00+00:00 is in the future; ask for a past moment",
        ),
        ({"at": "2001-01-01T00:00:00+00:00"}, "at", None),
    ],
    ids=["unknown-customer", "future", "before-the-customer"],
)
def test_a_date_that_cannot_be_answered_names_the_field(
    post, ann, staff_user, variables, field, message
):
    # when
    response = post(STATE, {"customer": _customer_id(ann), **variables}, staff_user.api_token)

    # then
    assert response["data"] is None
    assert len(response["errors"]) == 1
    exception = response["errors"][0]["extensions"]["exception"]
    assert exception["field"] == field
    first = CustomerProfile.objects.get().first_order_at.isoformat()
    expected = message or (
        f"2001-01-01T00:00:00+00:00 is before the customer existed in the CRM (first known {first})"
    )
    assert response["errors"][0]["message"] == f"{field}: {expected}"


def test_the_state_needs_manage_users(post, ann):
    clerk = make_user("clerk@example.com", staff=True)
    response = post(
        STATE, {"customer": _customer_id(ann), "at": timezone.now().isoformat()}, clerk.api_token
    )
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"

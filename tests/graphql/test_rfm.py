from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.segments.services import recompute_rfm
from tests.factories import T0, ten_scored_customers
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

RFM = """
query { crmRfm(group: "jpy") { group customers computedAt
  segments { name customers share revenue { amount currency } revenueShare }
  grid { r customersByF } } }
"""
SEARCH = """
query Search($filter: CRMCustomerFilterInput) {
  crmCustomers(first: 20, filter: $filter, sortBy: {field: ORDER_COUNT, direction: DESC}) {
    totalCount edges { node { orderCount scores { group r f m segment reason } } } } }
"""


@pytest.fixture
def scored(db):
    """Ten JPY customers with 1..10 orders, scored."""
    return ten_scored_customers()


def test_staff_sees_segments_and_grid(post, staff_user, scored):
    # when
    response = post(RFM, token=staff_user.api_token)

    # then
    assert "errors" not in response
    (group,) = response["data"]["crmRfm"]
    assert (group["group"], group["customers"]) == ("JPY", 10)
    segments = {s["name"]: s for s in group["segments"]}
    assert segments["Champions"]["customers"] == 2
    assert segments["Champions"]["share"] == 0.2
    assert segments["Champions"]["revenue"] == {"amount": 19000.0, "currency": "JPY"}
    assert sum(s["customers"] for s in group["segments"]) == 10
    assert [row["r"] for row in group["grid"]] == [5, 4, 3, 2, 1]
    assert group["grid"][0]["customersByF"] == [0, 0, 0, 0, 2]
    assert sum(sum(row["customersByF"]) for row in group["grid"]) == 10


def test_customer_cannot_see_the_rfm_picture(post, scored):
    # given
    customer = make_user("c1@example.com")

    # when
    response = post(RFM, token=customer.api_token)

    # then
    assert response["data"] is None  # crmRfm is non-null, so the error nulls the data
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_search_by_segment_and_scores(post, staff_user, scored):
    # when
    response = post(
        SEARCH,
        {"filter": {"rfm": {"group": "JPY", "segments": ["Champions", "Loyal"], "f": {"gte": 4}}}},
        token=staff_user.api_token,
    )

    # then
    nodes = [edge["node"] for edge in response["data"]["crmCustomers"]["edges"]]
    assert [n["orderCount"] for n in nodes] == [10, 9, 8, 7]
    assert nodes[0]["scores"] == [
        {
            "group": "JPY",
            "r": 5,
            "f": 5,
            "m": 5,
            "segment": "Champions",
            "reason": "R 5, F 5: Champions is R 5; F 4-5",
        }
    ]


@pytest.mark.parametrize(
    ("rfm", "field", "message"),
    [
        (
            {"group": "JPY", "segments": ["Whales"]},
            "filter.rfm.segments",
            "'Whales' is not a segment",
        ),
        ({"group": "JPY", "r": {"gte": 6}}, "filter.rfm.r.gte", "scores are 1 to 5, not 6"),
        ({"group": "YEN1"}, "filter.rfm.group", "'YEN1' is not an ISO 4217 currency code"),
    ],
    ids=["unknown-segment", "score-out-of-range", "bad-group"],
)
def test_bad_rfm_filter_names_the_field(post, staff_user, scored, rfm, field, message):
    # when
    response = post(SEARCH, {"filter": {"rfm": rfm}}, token=staff_user.api_token)

    # then
    assert response["data"]["crmCustomers"] is None
    assert len(response["errors"]) == 1
    assert response["errors"][0]["extensions"]["exception"]["field"] == field
    assert message in response["errors"][0]["message"]


def test_segment_sizes_over_time(post, staff_user, scored):
    # given: a second recompute a year later (scores are relative: a new point, same picture)
    recompute_rfm(ZoneInfo("Asia/Tokyo"), as_of=T0 + timedelta(days=565))
    query = """{ crmRfm(group: "JPY") { history(limit: 5) { computedAt customers
      segments { name customers } } } }"""

    # when
    response = post(query, token=staff_user.api_token)
    bad = post(
        '{ crmRfm(group: "JPY") { history(limit: 0) { customers } } }', token=staff_user.api_token
    )

    # then
    first, second = response["data"]["crmRfm"][0]["history"]
    assert first["computedAt"] < second["computedAt"]
    assert first["customers"] == second["customers"] == 10
    before = {s["name"]: s["customers"] for s in first["segments"]}
    after = {s["name"]: s["customers"] for s in second["segments"]}
    assert before["Champions"] == 2
    assert sum(after.values()) == 10
    assert bad["errors"][0]["extensions"]["exception"]["field"] == "limit"

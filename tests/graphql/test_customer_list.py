"""The staff customer list: the columns the store keeps, sorting by each, rule filters."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.host.attributes import age_on
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.segments.services import recompute_rfm
from tests.factories import order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

LIST = """
query($filter: CRMCustomerFilterInput, $sortBy: CRMCustomerSortingInput) {
  crmCustomers(first: 20, filter: $filter, sortBy: $sortBy) {
    totalCount
    edges { node { email name country countryArea city age gender rank orderCount
      scores { group segment } } }
  }
}
"""


def _customer(email, first, last, *, area="", city="", birth=None, gender=None, spent="1000"):
    user = make_user(email)
    SandboxUser.objects.filter(pk=user.pk).update(
        first_name=first,
        last_name=last,
        country="JP" if area else "",
        country_area=area,
        city=city,
        private_metadata={"birth_date": birth} if birth else {},
        metadata={"gender": gender} if gender else {},
    )
    ingest_orders([order(f"o-{email}", user_id=str(user.pk), email=email, total=spent)])
    return user


@pytest.fixture
def customers():
    _customer(
        "aoi@example.com",
        "Aoi",
        "Tanaka",
        area="Tokyo",
        city="Shibuya",
        birth="1990-05-01",
        gender="female",
        spent="5000",
    )
    _customer(
        "ken@example.com",
        "Ken",
        "Sato",
        area="Osaka",
        city="Osaka",
        birth="1985-12-31",
        gender="male",
        spent="3000",
    )
    _customer(
        "mia@example.com",
        "Mia",
        "Ito",
        area="Hokkaido",
        city="Sapporo",
        birth="2001-02-03",
        spent="2000",
    )
    _customer("ren@example.com", "Ren", "Kato", spent="4000")
    guest = order("g1", email="guest@example.com", total="1000")
    SandboxOrder.store(guest)
    ingest_orders([guest])


def _emails(response):
    assert "errors" not in response, response
    return [edge["node"]["email"] for edge in response["data"]["crmCustomers"]["edges"]]


def test_rows_carry_what_the_store_keeps(post, staff_user, customers):
    # when
    response = post(
        LIST, {"sortBy": {"field": "NAME", "direction": "ASC"}}, token=staff_user.api_token
    )

    # then
    rows = {e["node"]["email"]: e["node"] for e in response["data"]["crmCustomers"]["edges"]}
    aoi = rows["aoi@example.com"]
    assert (aoi["name"], aoi["country"], aoi["countryArea"], aoi["city"]) == (
        "Aoi Tanaka",
        "JP",
        "Tokyo",
        "Shibuya",
    )
    assert aoi["gender"] == "female"
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    assert aoi["age"] == age_on(date(1990, 5, 1), today) >= 36
    assert aoi["rank"] is None
    guest = rows["guest@example.com"]
    assert (guest["name"], guest["city"], guest["age"]) == (None, None, None)
    assert rows["ren@example.com"]["age"] is None


@pytest.mark.parametrize(
    ("field", "direction", "expected"),
    [
        ("NAME", "ASC", ["mia", "ren", "ken", "aoi", "guest"]),
        ("NAME", "DESC", ["aoi", "ken", "ren", "mia", "guest"]),
        ("CITY", "ASC", ["ken", "mia", "aoi", "ren", "guest"]),
        ("COUNTRY_AREA", "DESC", ["aoi", "ken", "mia", "guest", "ren"]),
        ("AGE", "ASC", ["mia", "aoi", "ken", "ren", "guest"]),
        ("AGE", "DESC", ["ken", "aoi", "mia", "guest", "ren"]),
        ("GENDER", "ASC", ["aoi", "ken", "mia", "ren", "guest"]),
    ],
)
def test_sort_by_store_columns(post, staff_user, customers, field, direction, expected):
    # when
    response = post(
        LIST, {"sortBy": {"field": field, "direction": direction}}, token=staff_user.api_token
    )

    # then: unknown values (and guests) come last, then by creation
    assert [e.split("@")[0] for e in _emails(response)] == expected


def test_sort_by_average_order_and_segment_per_currency(post, staff_user, customers):
    # given
    recompute_rfm(ZoneInfo("Asia/Tokyo"))

    # when
    average = post(
        LIST,
        {"sortBy": {"field": "AVERAGE_ORDER", "direction": "DESC", "currency": "JPY"}},
        token=staff_user.api_token,
    )
    segment = post(
        LIST,
        {"sortBy": {"field": "SEGMENT", "direction": "ASC"}},
        token=staff_user.api_token,
    )

    # then
    assert [e.split("@")[0] for e in _emails(average)] == ["aoi", "ren", "ken", "mia", "guest"]
    assert segment["errors"][0]["extensions"]["exception"]["field"] == "sortBy.currency"
    assert segment["errors"][0]["message"] == "sortBy.currency: is required to sort by segment"


def test_filter_by_rule(post, staff_user, customers):
    # when
    response = post(
        LIST,
        {
            "filter": {
                "rule": {
                    "all": [
                        {"field": "country_area", "op": "in", "value": ["tokyo", "OSAKA"]},
                        {"field": "total_spent", "op": "gte", "value": 4000, "currency": "JPY"},
                    ]
                }
            }
        },
        token=staff_user.api_token,
    )

    # then
    assert _emails(response) == ["aoi@example.com"]
    assert response["data"]["crmCustomers"]["totalCount"] == 1


def test_bad_rule_filter_names_the_node(post, staff_user, customers):
    # when
    response = post(
        LIST,
        {"filter": {"rule": {"any": [{"field": "city", "op": "eq", "value": "Osaka"}]}}},
        token=staff_user.api_token,
    )

    # then
    assert len(response["errors"]) == 1
    assert response["errors"][0]["extensions"]["exception"]["field"] == "filter.rule.any[0].op"
    assert response["data"]["crmCustomers"] is None

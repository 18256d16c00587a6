"""The customer search's `totalCount` counts up to a limit (10,000; 3 here) and says whether it
is exact; pages and the CSV export are unaffected; `crmCustomerCount` counts exactly."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.search import COUNT_LIMIT
from saleor_crm_plugin.graphql.customers import resolvers
from tests.factories import order

from .conftest import make_user

pytestmark = pytest.mark.django_db

PAGE = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: CRMCustomerFilterInput,
      $sortBy: CRMCustomerSortingInput) {
  crmCustomers(first: $first, after: $after, last: $last, before: $before, filter: $filter,
               sortBy: $sortBy) {
    totalCount totalCountIsExact
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges { node { orderCount } }
  }
}
"""
COUNT = "query($filter: CRMCustomerFilterInput) { crmCustomerCount(filter: $filter) }"


@pytest.fixture
def five_buyers(db):
    """Guests with 1..5 orders (orderCount tells them apart), 1,000 JPY each."""
    snapshots = [
        order(f"c{buyer}-{number}", email=f"c{buyer}@example.com", total="1000")
        for buyer in range(1, 6)
        for number in range(buyer)
    ]
    ingest_orders(snapshots)


@pytest.fixture
def limit_of_three(monkeypatch):
    monkeypatch.setattr(resolvers, "COUNT_LIMIT", 3)


def _page(post, token, **variables):
    answer = post(
        PAGE, {"sortBy": {"field": "ORDER_COUNT", "direction": "ASC"}, **variables}, token
    )
    assert "errors" not in answer, answer["errors"]
    return answer["data"]["crmCustomers"]


def test_the_limit_is_ten_thousand():
    assert (resolvers.COUNT_LIMIT, COUNT_LIMIT) == (10_000, 10_000)


def test_beyond_the_limit_the_count_stops_there_and_says_so(
    post, staff_user, five_buyers, limit_of_three
):
    # when
    with CaptureQueriesContext(connection) as queries:
        page = _page(post, staff_user.api_token, first=2)

    # then
    assert (page["totalCount"], page["totalCountIsExact"]) == (3, False)
    assert [edge["node"]["orderCount"] for edge in page["edges"]] == [1, 2]
    assert page["pageInfo"]["hasNextPage"] is True
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert counts[0].rstrip().endswith("LIMIT 4) subquery")


def test_pages_beyond_the_limit_are_read_as_before(post, staff_user, five_buyers, limit_of_three):
    # given
    token = staff_user.api_token

    # when: forward through every page of two
    seen, after, pages = [], None, []
    while True:
        page = _page(post, token, first=2, after=after)
        pages.append(page)
        seen += [edge["node"]["orderCount"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then
    assert seen == [1, 2, 3, 4, 5]
    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [page["totalCountIsExact"] for page in pages] == [False, False, False]

    # and back: the two before the last page's cursor
    back = _page(post, token, last=2, before=pages[-1]["pageInfo"]["startCursor"])
    assert [edge["node"]["orderCount"] for edge in back["edges"]] == [3, 4]
    assert back["pageInfo"]["hasPreviousPage"] is True


def test_the_last_rows_need_the_end_and_count_exactly(
    post, staff_user, five_buyers, limit_of_three
):
    # when
    page = _page(post, staff_user.api_token, last=2)

    # then
    assert (page["totalCount"], page["totalCountIsExact"]) == (5, True)
    assert [edge["node"]["orderCount"] for edge in page["edges"]] == [4, 5]
    assert page["pageInfo"]["hasPreviousPage"] is True


def test_up_to_the_limit_the_count_is_exact(post, staff_user, five_buyers, limit_of_three):
    # when
    page = _page(post, staff_user.api_token, first=2, filter={"numberOfOrders": {"gte": 3}})

    # then
    assert (page["totalCount"], page["totalCountIsExact"]) == (3, True)
    assert page["pageInfo"]["hasNextPage"] is True


def test_sorted_by_spend_the_count_stops_at_the_limit_too(
    post, staff_user, five_buyers, limit_of_three
):
    # when
    page = _page(
        post,
        staff_user.api_token,
        first=5,
        sortBy={"field": "TOTAL_SPENT", "direction": "DESC", "currency": "JPY"},
    )

    # then
    assert (page["totalCount"], page["totalCountIsExact"]) == (3, False)
    assert [edge["node"]["orderCount"] for edge in page["edges"]] == [5, 4, 3, 2, 1]
    assert page["pageInfo"]["hasNextPage"] is False


def test_the_exact_count_is_a_separate_staff_query(post, staff_user, five_buyers, limit_of_three):
    # when
    every = post(COUNT, {}, staff_user.api_token)
    some = post(COUNT, {"filter": {"numberOfOrders": {"gte": 2}}}, staff_user.api_token)

    # then
    assert every == {"data": {"crmCustomerCount": 5}}
    assert some == {"data": {"crmCustomerCount": 4}}


def test_the_exact_count_needs_manage_users_and_a_good_filter(post, staff_user, five_buyers):
    # given
    customer = make_user("c1@example.com")

    # when
    denied = post(COUNT, {}, customer.api_token)
    wrong = post(COUNT, {"filter": {"numberOfOrders": {"gte": 5, "lte": 1}}}, staff_user.api_token)

    # then
    assert denied["data"] == {"crmCustomerCount": None}
    assert denied["errors"][0]["message"] == (
        "You need one of the following permissions: MANAGE_USERS"
    )
    assert denied["errors"][0]["extensions"] == {"exception": {"code": "PermissionDenied"}}
    assert wrong["errors"][0]["message"] == "filter.numberOfOrders: gte (5) is greater than lte (1)"
    assert wrong["errors"][0]["extensions"] == {
        "exception": {"code": "GraphQLError", "field": "filter.numberOfOrders"}
    }


def test_the_csv_export_of_a_search_has_every_match(
    client, staff_user, five_buyers, limit_of_three
):
    # when
    response = client.post(
        "/export/customers.csv",
        data=json.dumps({"filter": {"numberOfOrders": {"gte": 1}}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {staff_user.api_token}",
    )

    # then
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(row["order_count"] for row in rows) == ["1", "2", "3", "4", "5"]

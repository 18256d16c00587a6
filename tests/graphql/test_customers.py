from dataclasses import replace
from datetime import timedelta

import pytest

from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.customers.snapshots import OrderStatus
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from tests.factories import T0, customer, order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

CUSTOMERS = """
query Customers($filter: CRMCustomerFilterInput, $sortBy: CRMCustomerSortingInput, $first: Int, $after: String) {
  crmCustomers(first: $first, after: $after, filter: $filter, sortBy: $sortBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id userId email isGuest orderCount lastOrderAt
      spends { currency orderCount totalSpent { amount currency } averageOrder { amount } } } }
  }
}
"""

ME = "{ me { crmProfile { orderCount lastOrderAt isGuest spends { currency totalSpent { amount currency } } } } }"


def _store(snapshot):
    SandboxOrder.store(snapshot)
    return snapshot


@pytest.fixture
def ann(db):
    user = make_user("ann@example.com")
    ingest_customers([customer(str(user.pk), email="ann@example.com")])
    ingest_orders(
        [
            _store(order("a1", user_id=str(user.pk), email="ann@example.com", total="3000")),
            _store(
                order(
                    "a2",
                    user_id=str(user.pk),
                    email="ann@example.com",
                    total="5000",
                    placed_at=T0 + timedelta(days=20),
                )
            ),
            _store(
                order(
                    "a3",
                    user_id=str(user.pk),
                    email="ann@example.com",
                    total="20.00",
                    currency="USD",
                    placed_at=T0 + timedelta(days=30),
                )
            ),
        ]
    )
    return user


@pytest.fixture
def bob(db):
    user = make_user("bob@example.com")
    ingest_orders(
        [
            _store(
                order(
                    "b1",
                    user_id=str(user.pk),
                    email="bob@example.com",
                    total="800",
                    placed_at=T0 + timedelta(days=5),
                )
            )
        ]
    )
    return user


@pytest.fixture
def guest(db):
    ingest_orders(
        [
            _store(
                order(
                    "g1", email="Gus@Example.com", total="12000", placed_at=T0 + timedelta(days=40)
                )
            )
        ]
    )


def _nodes(response):
    return [edge["node"] for edge in response["data"]["crmCustomers"]["edges"]]


def test_staff_lists_customers_sorted_by_order_count(post, staff_user, ann, bob, guest):
    # when
    response = post(
        CUSTOMERS,
        {"first": 10, "sortBy": {"field": "ORDER_COUNT", "direction": "DESC"}},
        token=staff_user.api_token,
    )

    # then
    assert "errors" not in response
    connection = response["data"]["crmCustomers"]
    assert connection["totalCount"] == 3
    nodes = _nodes(response)
    assert [n["email"] for n in nodes] == ["ann@example.com", "gus@example.com", "bob@example.com"]
    assert nodes[0]["orderCount"] == 3
    assert nodes[0]["isGuest"] is False
    assert nodes[1]["isGuest"] is True
    assert nodes[1]["userId"] is None
    assert nodes[0]["spends"] == [
        {
            "currency": "JPY",
            "orderCount": 2,
            "totalSpent": {"amount": 8000.0, "currency": "JPY"},
            "averageOrder": {"amount": 4000.0},
        },
        {
            "currency": "USD",
            "orderCount": 1,
            "totalSpent": {"amount": 20.0, "currency": "USD"},
            "averageOrder": {"amount": 20.0},
        },
    ]


def test_filter_by_email_ignores_case(post, staff_user, ann, bob, guest):
    # when
    response = post(
        CUSTOMERS, {"first": 10, "filter": {"email": "GUS@example.com"}}, token=staff_user.api_token
    )

    # then
    assert [n["email"] for n in _nodes(response)] == ["gus@example.com"]


def test_filter_by_order_count_spend_and_last_order(post, staff_user, ann, bob, guest):
    # given
    variables = {
        "first": 10,
        "filter": {
            "numberOfOrders": {"gte": 1, "lte": 3},
            "totalSpent": {"currency": "JPY", "gte": "1000"},
            "lastOrderAt": {"gte": (T0 + timedelta(days=10)).isoformat()},
        },
    }

    # when
    response = post(CUSTOMERS, variables, token=staff_user.api_token)

    # then
    assert sorted(n["email"] for n in _nodes(response)) == ["ann@example.com", "gus@example.com"]


def test_sort_by_total_spent_needs_a_currency(post, staff_user, ann):
    # when
    response = post(
        CUSTOMERS,
        {"first": 5, "sortBy": {"field": "TOTAL_SPENT", "direction": "DESC"}},
        token=staff_user.api_token,
    )

    # then
    assert response["data"]["crmCustomers"] is None
    assert len(response["errors"]) == 1
    assert response["errors"][0]["message"] == "sortBy.currency: is required to sort by total spent"
    assert response["errors"][0]["extensions"]["exception"] == {
        "code": "GraphQLError",
        "field": "sortBy.currency",
    }


def test_sort_by_total_spent_in_a_currency(post, staff_user, ann, bob, guest):
    # when
    response = post(
        CUSTOMERS,
        {"first": 5, "sortBy": {"field": "TOTAL_SPENT", "direction": "DESC", "currency": "jpy"}},
        token=staff_user.api_token,
    )

    # then
    assert [n["email"] for n in _nodes(response)] == [
        "gus@example.com",
        "ann@example.com",
        "bob@example.com",
    ]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_customers_without_spend_in_the_currency_come_last_page_after_page(
    post, staff_user, ann, bob, guest, direction
):
    # given: only ann has spent USD; bob and the guest bought in JPY only
    ingest_orders(
        [
            _store(
                order(
                    "a-usd",
                    user_id=ann_user_id(),
                    email="ann@example.com",
                    currency="USD",
                    total="19.75",
                )
            )
        ]
    )
    variables = {
        "first": 2,
        "sortBy": {"field": "TOTAL_SPENT", "direction": direction, "currency": "USD"},
    }

    # when: two pages of two
    first = post(CUSTOMERS, variables, token=staff_user.api_token)
    cursor = first["data"]["crmCustomers"]["pageInfo"]["endCursor"]
    second = post(CUSTOMERS, {**variables, "after": cursor}, token=staff_user.api_token)

    # then: ann first, then the others by id (descending ids when the sort is descending)
    emails = [n["email"] for n in _nodes(first) + _nodes(second)]
    others = ["bob@example.com", "gus@example.com"]
    assert emails == ["ann@example.com", *(others if direction == "ASC" else others[::-1])]
    assert first["data"]["crmCustomers"]["totalCount"] == 3
    assert first["data"]["crmCustomers"]["pageInfo"]["hasNextPage"] is True
    assert second["data"]["crmCustomers"]["pageInfo"]["hasNextPage"] is False


def ann_user_id():
    return str(SandboxUser.objects.get(email="ann@example.com").pk)


def test_range_with_gte_above_lte_is_an_error(post, staff_user, ann):
    # when
    response = post(
        CUSTOMERS,
        {"first": 5, "filter": {"numberOfOrders": {"gte": 5, "lte": 2}}},
        token=staff_user.api_token,
    )

    # then
    assert (
        response["errors"][0]["message"] == "filter.numberOfOrders: gte (5) is greater than lte (2)"
    )


def test_naive_date_filter_is_an_error(post, staff_user, ann):
    # when
    response = post(
        CUSTOMERS,
        {"first": 5, "filter": {"lastOrderAt": {"gte": "2025-01-01T00:00:00"}}},
        token=staff_user.api_token,
    )

    # then
    assert response["errors"][0]["extensions"]["exception"]["field"] == "filter.lastOrderAt.gte"


def test_pages_follow_the_cursor(post, staff_user, ann, bob, guest):
    # given
    sort = {"field": "LAST_ORDER_AT", "direction": "ASC"}
    first_page = post(CUSTOMERS, {"first": 2, "sortBy": sort}, token=staff_user.api_token)
    cursor = first_page["data"]["crmCustomers"]["pageInfo"]["endCursor"]

    # when
    second_page = post(
        CUSTOMERS, {"first": 2, "after": cursor, "sortBy": sort}, token=staff_user.api_token
    )

    # then
    assert [n["email"] for n in _nodes(first_page)] == ["bob@example.com", "ann@example.com"]
    assert first_page["data"]["crmCustomers"]["pageInfo"]["hasNextPage"] is True
    assert [n["email"] for n in _nodes(second_page)] == ["gus@example.com"]
    assert second_page["data"]["crmCustomers"]["pageInfo"]["hasNextPage"] is False


def test_page_size_is_limited(post, staff_user, ann):
    # when
    response = post(CUSTOMERS, {"first": 101}, token=staff_user.api_token)

    # then
    assert response["errors"][0]["message"] == "first: must be between 0 and 100, not 101"


def test_anonymous_cannot_list_customers(post, ann):
    # when
    response = post(CUSTOMERS, {"first": 5})

    # then
    assert response["data"]["crmCustomers"] is None
    assert len(response["errors"]) == 1
    assert (
        response["errors"][0]["message"]
        == "You need one of the following permissions: MANAGE_USERS"
    )
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_customer_cannot_list_customers(post, ann, bob):
    # when
    response = post(CUSTOMERS, {"first": 5}, token=bob.api_token)

    # then
    assert response["data"]["crmCustomers"] is None
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_staff_without_manage_users_cannot_list_customers(post, staff_without_permission, ann):
    # when
    response = post(CUSTOMERS, {"first": 5}, token=staff_without_permission.api_token)

    # then
    assert response["data"]["crmCustomers"] is None
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_wrong_token_is_refused_rather_than_anonymous(post, ann):
    # when
    response = post(CUSTOMERS, {"first": 5}, token="not-a-token")

    # then: Saleor's error for a token of nobody (see test_tokens.py)
    assert [error["extensions"]["exception"]["code"] for error in response["errors"]] == [
        "InvalidTokenError"
    ]


def test_customer_sees_own_profile(post, ann, bob):
    # when
    response = post(ME, token=ann.api_token)

    # then
    assert "errors" not in response
    profile = response["data"]["me"]["crmProfile"]
    assert profile["orderCount"] == 3
    assert profile["isGuest"] is False
    assert profile["spends"][0] == {
        "currency": "JPY",
        "totalSpent": {"amount": 8000.0, "currency": "JPY"},
    }
    assert profile["lastOrderAt"] == (T0 + timedelta(days=30)).isoformat()


def test_customer_without_orders_has_no_profile_yet(post, db):
    # given
    newcomer = make_user("new@example.com")

    # when
    response = post(ME, token=newcomer.api_token)

    # then
    assert response == {"data": {"me": {"crmProfile": None}}}


def test_anonymous_me_is_a_permission_error(post, ann):
    # when
    response = post(ME)

    # then
    assert response["data"]["me"] is None
    assert (
        response["errors"][0]["message"] == "You need to be authenticated to perform this action."
    )
    assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_deleted_customer_is_not_listed(post, staff_user, ann, bob):
    # given
    ingest_customers([customer(str(bob.pk), updated_at=T0 + timedelta(days=90), deleted=True)])

    # when
    response = post(CUSTOMERS, {"first": 5}, token=staff_user.api_token)

    # then
    assert [n["email"] for n in _nodes(response)] == ["ann@example.com"]
    assert CustomerProfile.objects.filter(anonymized_at__isnull=False).count() == 1


def test_get_is_refused(client):
    # when
    response = client.get("/graphql/?query={me{crmProfile{orderCount}}}")

    # then
    assert response.status_code == 405


def test_body_that_is_not_json_is_refused(client):
    # when
    response = client.post("/graphql/", data="{", content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "The request body is not JSON."}]}


SEARCH = "query($s: String) { crmCustomers(first: 10, filter: {search: $s}) { edges { node { email } } } }"


@pytest.mark.parametrize(
    ("text", "emails"),
    [
        ("ANN@", ["ann@example.com"]),
        ("gus", ["gus@example.com"]),
        ("example.com", ["ann@example.com", "bob@example.com", "gus@example.com"]),
        ("Lee", ["bob@example.com"]),
    ],
    ids=["email-any-case", "guest", "domain", "last-name"],
)
def test_free_text_search(post, staff_user, ann, bob, guest, text, emails):
    # given
    bob.last_name = "Lee"
    bob.save(update_fields=["last_name"])

    # when
    response = post(SEARCH, {"s": text}, token=staff_user.api_token)

    # then
    assert sorted(n["email"] for n in _nodes(response)) == emails


def test_search_needs_two_characters(post, staff_user, ann):
    # when
    response = post(SEARCH, {"s": " a "}, token=staff_user.api_token)

    # then
    assert response["errors"][0]["message"] == "filter.search: give at least 2 characters"


MAIN_CHANNEL = "query($id: ID!) { crmCustomer(id: $id) { mainChannel lastOrderChannel } }"


def _orders_in(user, channels, start=0):
    """One counted order a day from `start`, in each (channel, currency) given, in order."""
    return [
        order(
            f"{user.pk}-{start + n}",
            user_id=str(user.pk),
            email=user.email,
            total="10",
            currency=currency,
            channel=channel,
            placed_at=T0 + timedelta(days=start + n),
        )
        for n, (channel, currency) in enumerate(channels)
    ]


def test_the_main_channel_is_where_most_counted_orders_are(post, staff_user):
    from graphql_relay import to_global_id

    # given: four USD orders, then a PLN one last, and a cancelled PLN one after that
    user = make_user("cy@example.com")
    usd, pln = ("default-channel", "USD"), ("channel-pln", "PLN")
    orders = _orders_in(user, [usd] * 4 + [pln] * 2)
    orders[-1] = replace(orders[-1], status=OrderStatus.CANCELED)
    ingest_orders(orders)
    profile = CustomerProfile.objects.get(user_id=str(user.pk))

    # when
    answer = post(
        MAIN_CHANNEL,
        {"id": to_global_id("CRMCustomer", profile.pk)},
        token=staff_user.api_token,
    )

    # then: the channel of most orders; the last order's channel stays as it was
    assert answer == {
        "data": {
            "crmCustomer": {"mainChannel": "default-channel", "lastOrderChannel": "channel-pln"}
        }
    }


def test_the_main_channel_on_a_tie_is_the_one_ordered_in_last(post, staff_user):
    from graphql_relay import to_global_id

    # given: two orders in each channel, the JPY one's last order the latest
    user = make_user("di@example.com")
    usd, jpy = ("default-channel", "USD"), ("channel-jpy", "JPY")
    ingest_orders(_orders_in(user, [jpy, usd, usd, jpy]))
    newest_first = make_user("ed@example.com")
    ingest_orders(_orders_in(newest_first, [usd, jpy, jpy, usd]))
    ids = {
        u.email: to_global_id("CRMCustomer", CustomerProfile.objects.get(user_id=str(u.pk)).pk)
        for u in (user, newest_first)
    }

    # when
    answers = {
        email: post(MAIN_CHANNEL, {"id": node_id}, token=staff_user.api_token)
        for email, node_id in ids.items()
    }

    # then
    assert answers["di@example.com"]["data"]["crmCustomer"]["mainChannel"] == "channel-jpy"
    assert answers["ed@example.com"]["data"]["crmCustomer"]["mainChannel"] == "default-channel"


def test_a_customer_without_a_counted_order_has_no_main_channel(post, staff_user):
    from graphql_relay import to_global_id

    # given: a customer whose only order was cancelled
    user = make_user("fi@example.com")
    ingest_orders(
        [
            order(
                "f1",
                user_id=str(user.pk),
                email=user.email,
                status=OrderStatus.CANCELED,
            )
        ]
    )
    profile = CustomerProfile.objects.get(user_id=str(user.pk))

    # when
    answer = post(
        MAIN_CHANNEL,
        {"id": to_global_id("CRMCustomer", profile.pk)},
        token=staff_user.api_token,
    )

    # then
    assert answer == {"data": {"crmCustomer": {"mainChannel": None, "lastOrderChannel": None}}}

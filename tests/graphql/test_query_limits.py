"""What one request may cost: refused over the maximum cost, the alias cap or the depth cap, in
Saleor's shape (HTTP 400, `extensions.exception.code`, the cost in `extensions`), before
anything runs."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql.language.parser import parse

from saleor_crm_plugin.graphql.core.limits import QueryLimits, check_query
from saleor_crm_plugin.graphql.customers import types as customer_types
from saleor_crm_plugin.graphql.schema import schema

pytestmark = pytest.mark.django_db

HISTORY = "crmPoints { balance history(first: 100) { edges { node { kind points at reason } } } }"
SUBSCRIPTIONS = "crmSubscriptions { id status lines { productName quantity } }"


def _aliases(count: int) -> str:
    """`count` aliases under `me`, half of the points history, half of the subscriptions."""
    fields = [
        f"p{index}: {HISTORY}" if index % 2 == 0 else f"s{index}: {SUBSCRIPTIONS}"
        for index in range(count)
    ]
    return "{ me { " + " ".join(fields) + " } }"


def _send(client, query, variables=None, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql/",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        **headers,
    )
    return response.status_code, response.json()


def _cost(query: str, variables=None) -> int:
    limits = QueryLimits(max_complexity=0, max_aliases=0, max_depth=0)
    cost, errors = check_query(schema, parse(query), variables, limits)
    assert errors == []
    return cost


@pytest.fixture
def resolver_calls(monkeypatch):
    """Count the calls of the storefront's points resolver (`me { crmPoints }`)."""
    calls = []
    original = customer_types.points_of

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(customer_types, "points_of", counted)
    return calls


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        ("{ me { crmPoints { balance } } }", None, 2),
        # a connection multiplies by `first`; its edges and nodes are its rows, paid already
        (f"{{ me {{ {HISTORY} }} }}", None, 102),
        ("query($n: Int) { me { crmPoints { history(first: $n) { totalCount } } } }", {"n": 7}, 9),
        # list fields under a connection cost once per row: 100 + 100 spends + 100 scores
        (
            "{ crmCustomers(first: 100) { totalCount edges { node { id spends { currency } "
            "scores { segment } } } } }",
            None,
            300,
        ),
        # a default `first` counts (crmRecommendations: 5)
        ('{ me { crmRecommendations(channel: "c") { productId } } }', None, 6),
        # a fragment costs where it is spread
        (
            "query { me { ...points } } fragment points on CRMMe { crmPoints { history(last: 4) "
            "{ edges { node { points } } } } }",
            None,
            6,
        ),
        # scalars, enums and introspection cost nothing
        ("{ __typename crmSegments { name } }", None, 1),
    ],
    ids=["object", "connection", "variable", "nested-lists", "default-first", "fragment", "leaf"],
)
def test_the_cost_counts_objects_times_their_page_sizes(query, variables, cost):
    # when / then
    assert _cost(query, variables) == cost


def test_400_aliases_are_refused_by_cost_and_by_the_alias_cap_before_anything_runs(
    client, ann, resolver_calls
):
    # given: the default limits (the sandbox sets none of Saleor's settings)
    query = _aliases(400)

    # when
    with CaptureQueriesContext(connection) as queries:
        status, answer = _send(client, query, token=ann.api_token)

    # then: 1 (me) + 200 x (1 + 100) + 200 x (1 + 1)
    assert status == 400
    assert answer == {
        "errors": [
            {
                "message": "The query exceeds the maximum cost of 5000. Actual cost is 20601",
                "extensions": {
                    "cost": {"requestedQueryCost": 20601, "maximumAvailable": 5000},
                    "exception": {"code": "QueryCostError"},
                },
            },
            {
                "message": "Number of aliases exceed the limit of 100",
                "extensions": {"exception": {"code": "GraphQLError"}},
            },
        ],
        "extensions": {"cost": {"requestedQueryCost": 20601, "maximumAvailable": 5000}},
    }
    assert queries.captured_queries == []  # not even the token was looked up
    assert resolver_calls == []


def test_100_aliases_are_within_the_alias_cap_and_refused_by_cost(client, ann, resolver_calls):
    # when
    with CaptureQueriesContext(connection) as queries:
        status, answer = _send(client, _aliases(100), token=ann.api_token)

    # then
    assert status == 400
    assert [error["message"] for error in answer["errors"]] == [
        "The query exceeds the maximum cost of 5000. Actual cost is 5151"
    ]
    assert queries.captured_queries == []
    assert resolver_calls == []


def test_the_maximum_is_sale_ors_setting_when_set(client, ann, settings):
    # given: the cost of a page of 100 points entries is 102
    settings.GRAPHQL_QUERY_MAX_COMPLEXITY = 101

    # when
    status, answer = _send(client, f"{{ me {{ {HISTORY} }} }}", token=ann.api_token)

    # then
    assert status == 400
    assert answer["errors"] == [
        {
            "message": "The query exceeds the maximum cost of 101. Actual cost is 102",
            "extensions": {
                "cost": {"requestedQueryCost": 102, "maximumAvailable": 101},
                "exception": {"code": "QueryCostError"},
            },
        }
    ]


def test_variables_are_resolved_before_the_cost_is_counted(client, ann, settings):
    # given
    settings.GRAPHQL_QUERY_MAX_COMPLEXITY = 50
    query = "query($n: Int) { me { crmPoints { history(first: $n) { totalCount } } } }"

    # when
    small = _send(client, query, {"n": 48}, token=ann.api_token)
    large = _send(client, query, {"n": 49}, token=ann.api_token)

    # then
    assert small == (200, {"data": {"me": {"crmPoints": {"history": {"totalCount": 1}}}}})
    assert large[0] == 400
    assert large[1]["errors"][0]["message"] == (
        "The query exceeds the maximum cost of 50. Actual cost is 51"
    )


def test_the_alias_cap_is_sale_ors_setting_when_set(client, ann, settings):
    # given
    settings.GRAPHQL_ALIAS_COUNT_LIMIT = 2
    query = "{ me { a: crmPoints { balance } b: crmPoints { balance } c: crmPoints { balance } } }"

    # when
    status, answer = _send(client, query, token=ann.api_token)

    # then
    assert status == 400
    assert answer == {
        "errors": [
            {
                "message": "Number of aliases exceed the limit of 2",
                "extensions": {"exception": {"code": "GraphQLError"}},
            }
        ],
        "extensions": {"cost": {"requestedQueryCost": 4, "maximumAvailable": 5000}},
    }


def test_a_query_deeper_than_the_cap_is_refused(client, ann, settings, resolver_calls):
    # given: me > crmPoints > history > edges > node > points is 6 deep
    settings.CRM_GRAPHQL_MAX_DEPTH = 5
    query = "{ me { crmPoints { history(first: 1) { edges { node { points } } } } } }"

    # when
    with CaptureQueriesContext(connection) as queries:
        status, answer = _send(client, query, token=ann.api_token)

    # then
    assert status == 400
    assert answer["errors"] == [
        {
            "message": "The query is deeper than the limit of 5. Actual depth is 6",
            "extensions": {"exception": {"code": "GraphQLError"}},
        }
    ]
    assert queries.captured_queries == []
    assert resolver_calls == []


def test_zero_switches_the_limits_off(client, ann, settings, resolver_calls):
    # given
    settings.GRAPHQL_QUERY_MAX_COMPLEXITY = 0
    settings.GRAPHQL_ALIAS_COUNT_LIMIT = 0
    settings.CRM_GRAPHQL_MAX_DEPTH = 0

    # when
    status, answer = _send(client, _aliases(120), token=ann.api_token)

    # then: everything ran, and no cost is reported without a maximum
    assert status == 200
    assert "errors" not in answer
    assert "extensions" not in answer
    assert len(answer["data"]["me"]) == 120
    assert len(resolver_calls) == 60


def test_a_syntax_error_is_answered_as_before(post):
    # when
    answer = post("{ me { crmPoints { balance }")

    # then
    assert answer["data"] is None
    assert answer["errors"][0]["message"].startswith("Syntax Error GraphQL (1:29)")

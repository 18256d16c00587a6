"""Our GraphQL endpoint inside a real Saleor 3.23: a bad or expired token gets the error Saleor's
own API gives for it, and a request over Saleor's limits (its `GRAPHQL_QUERY_MAX_COMPLEXITY`
and `GRAPHQL_ALIAS_COUNT_LIMIT`) is refused as Saleor's own API refuses it."""

import json
from datetime import timedelta

import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

import jwt
from saleor.core.jwt import (
    JWT_ACCESS_TYPE,
    create_access_token,
    jwt_decode,
    jwt_encode,
    jwt_user_payload,
)

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

CRM_URL = "/plugins/global/saleor.crm/graphql/"
SALEOR_URL = "/graphql/"
OURS = "{ me { crmPoints { balance } } }"
SALEORS = "{ me { email } }"


def _post(client, url, query, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = client.post(
        url, data=json.dumps({"query": query}), content_type="application/json", **headers
    )
    return response.status_code, response.json()


def _field_error(message, code):
    return {
        "data": {"me": None},
        "errors": [
            {
                "message": message,
                "locations": [{"line": 1, "column": 3}],
                "path": ["me"],
                "extensions": {"exception": {"code": code}},
            }
        ],
    }


def _without_cost(answer):
    """Saleor's API adds `extensions.cost` to every answer while a maximum is set; ours only
    to a refused one."""
    return {key: value for key, value in answer.items() if key != "extensions"}


def _expired(user):
    """An access token as Saleor issues it, expired five minutes ago."""
    return jwt_encode(jwt_user_payload(user, JWT_ACCESS_TYPE, timedelta(minutes=-5)))


def test_an_expired_token_gets_sale_ors_expired_signature_error(client, crm_plugin, customer_user):
    # given
    token = _expired(customer_user)

    # when
    ours = _post(client, CRM_URL, OURS, token)
    saleors = _post(client, SALEOR_URL, SALEORS, token)

    # then: the same message and code as Saleor's own API, in the same place
    assert ours == (200, _field_error("Signature has expired", "ExpiredSignatureError"))
    assert (saleors[0], _without_cost(saleors[1])) == ours


def test_a_forged_signature_gets_sale_ors_error(client, crm_plugin, customer_user):
    # given: a valid token with its signature altered
    token = create_access_token(customer_user)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{'A' * len(signature)}"

    # when
    ours = _post(client, CRM_URL, OURS, forged)
    saleors = _post(client, SALEOR_URL, SALEORS, forged)

    # then
    assert ours == (200, _field_error("Signature verification failed", "InvalidSignatureError"))
    assert (saleors[0], _without_cost(saleors[1])) == ours


def test_a_garbage_token_gets_the_error_sale_ors_decoding_raises(client, crm_plugin):
    # given: Saleor's own decoding of it
    with pytest.raises(jwt.DecodeError) as decoding:
        jwt_decode("garbage")

    # when
    status, answer = _post(client, CRM_URL, OURS, "garbage")

    # then: not anonymous (which would answer PermissionDenied) but the decoding error. Saleor's
    # own API takes a token that is not one of its JWTs for no token at all (`me` is null,
    # without an error); the CRM refuses it, as its issue asks.
    assert str(decoding.value) == "Not enough segments"
    assert (status, answer) == (200, _field_error("Not enough segments", "DecodeError"))
    assert _post(client, SALEOR_URL, SALEORS, "garbage")[1]["data"] == {"me": None}


def test_a_revoked_token_gets_sale_ors_invalid_token_error(client, crm_plugin, customer_user):
    # given: the user's tokens revoked (as `tokensDeactivateAll` does)
    token = create_access_token(customer_user)
    customer_user.jwt_token_key = "revoked"
    customer_user.save(update_fields=["jwt_token_key"])

    # when
    ours = _post(client, CRM_URL, OURS, token)
    saleors = _post(client, SALEOR_URL, SALEORS, token)

    # then
    assert ours == (
        200,
        _field_error(
            "Invalid token. Create new one by using tokenCreate mutation.", "InvalidTokenError"
        ),
    )
    assert (saleors[0], _without_cost(saleors[1])) == ours


def test_an_inactive_users_token_gets_sale_ors_invalid_token_error(
    client, crm_plugin, customer_user
):
    # given
    token = create_access_token(customer_user)
    customer_user.is_active = False
    customer_user.save(update_fields=["is_active"])

    # when
    ours = _post(client, CRM_URL, OURS, token)
    saleors = _post(client, SALEOR_URL, SALEORS, token)

    # then
    assert ours == (
        200,
        _field_error("Invalid token. User does not exist or is inactive.", "InvalidTokenError"),
    )
    assert (saleors[0], _without_cost(saleors[1])) == ours


def test_a_valid_token_still_reads_the_customers_points(client, crm_plugin, customer_user):
    # when
    status, answer = _post(client, CRM_URL, OURS, create_access_token(customer_user))

    # then
    assert (status, answer) == (200, {"data": {"me": {"crmPoints": {"balance": 0}}}})


def test_too_many_aliases_are_refused_with_sale_ors_limit_and_shape(
    client, crm_plugin, customer_user, settings
):
    # given: Saleor's own limits (50,000 and 100 in its settings)
    assert (settings.GRAPHQL_QUERY_MAX_COMPLEXITY, settings.GRAPHQL_ALIAS_COUNT_LIMIT) == (
        50_000,
        100,
    )
    token = create_access_token(customer_user)
    ours = "{ me { " + " ".join(f"a{i}: crmPoints {{ balance }}" for i in range(101)) + " } }"
    saleors = "{ " + " ".join(f"a{i}: shop {{ name }}" for i in range(101)) + " }"

    # when
    our_status, our_answer = _post(client, CRM_URL, ours, token)
    saleor_status, saleor_answer = _post(client, SALEOR_URL, saleors, token)

    # then
    assert our_status == saleor_status == 400
    assert our_answer == {
        "errors": [
            {
                "message": "Number of aliases exceed the limit of 100",
                "extensions": {"exception": {"code": "GraphQLError"}},
            }
        ],
        "extensions": {"cost": {"requestedQueryCost": 102, "maximumAvailable": 50000}},
    }
    assert saleor_answer["errors"] == our_answer["errors"]
    assert saleor_answer["extensions"]["cost"]["maximumAvailable"] == 50000


def test_a_query_over_the_maximum_cost_is_refused_as_saleor_refuses_one(
    client, crm_plugin, customer_user, settings
):
    # given
    settings.GRAPHQL_QUERY_MAX_COMPLEXITY = 99
    token = create_access_token(customer_user)
    ours = "{ me { crmPoints { history(first: 100) { edges { node { points } } } } } }"
    saleors = '{ products(first: 100, channel: "main") { edges { node { id } } } shop { name } }'

    # when
    our_status, our_answer = _post(client, CRM_URL, ours, token)
    saleor_status, saleor_answer = _post(client, SALEOR_URL, saleors, token)

    # then
    assert our_status == saleor_status == 400
    assert our_answer == {
        "errors": [
            {
                "message": "The query exceeds the maximum cost of 99. Actual cost is 102",
                "extensions": {
                    "cost": {"requestedQueryCost": 102, "maximumAvailable": 99},
                    "exception": {"code": "QueryCostError"},
                },
            }
        ],
        "extensions": {"cost": {"requestedQueryCost": 102, "maximumAvailable": 99}},
    }
    saleor_cost = saleor_answer["extensions"]["cost"]["requestedQueryCost"]
    assert saleor_answer == {
        "errors": [
            {
                "message": f"The query exceeds the maximum cost of 99. Actual cost is {saleor_cost}",
                "extensions": {
                    "cost": {"requestedQueryCost": saleor_cost, "maximumAvailable": 99},
                    "exception": {"code": "QueryCostError"},
                },
            }
        ],
        "extensions": {"cost": {"requestedQueryCost": saleor_cost, "maximumAvailable": 99}},
    }

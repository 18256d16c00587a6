"""A token that authenticates nobody gets Saleor's error instead of running as anonymous.

The sandbox's API tokens are opaque: an unknown one, or an inactive user's, is refused as Saleor
refuses a token of a user it does not have (`InvalidTokenError`), in each field that asks who
is calling (Saleor resolves its `context.user` lazily the same way); fields open to anyone
still answer. No Authorization header at all is anonymous, as before.
"""

import json

import pytest

from .conftest import make_user

pytestmark = pytest.mark.django_db

POINTS = "{ me { crmPoints { balance } } }"
INVALID = {
    "message": "Invalid token. User does not exist or is inactive.",
    "locations": [{"line": 1, "column": 3}],
    "path": ["me"],
    "extensions": {"exception": {"code": "InvalidTokenError"}},
}


def test_an_unknown_token_is_refused_with_sale_ors_invalid_token_error(client):
    # when
    response = client.post(
        "/graphql/",
        data=json.dumps({"query": POINTS}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer not-a-token",
    )

    # then: HTTP 200 with the field's error, as Saleor answers an execution error
    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}, "errors": [INVALID]}


def test_an_inactive_users_token_is_refused_the_same_way(post, ann):
    # given
    token = ann.api_token
    ann.is_active = False
    ann.save(update_fields=["is_active"])

    # when
    answer = post(POINTS, token=token)

    # then
    assert answer == {"data": {"me": None}, "errors": [INVALID]}


def test_the_same_users_token_works_while_active(post, ann):
    # when
    answer = post(POINTS, token=ann.api_token)

    # then
    assert answer == {"data": {"me": {"crmPoints": {"balance": 0}}}}


def test_without_a_token_the_request_is_anonymous(post):
    # when
    answer = post(POINTS)

    # then
    assert answer["data"] == {"me": None}
    assert [error["extensions"]["exception"]["code"] for error in answer["errors"]] == [
        "PermissionDenied"
    ]


def test_a_staff_field_answers_the_token_error_and_a_public_one_still_runs(post, db):
    # given: a staff member's token, since revoked (a new one issued)
    staff = make_user("staff@example.com", staff=True, permissions=["MANAGE_USERS"])
    old_token = staff.api_token
    staff.issue_token()
    query = (
        '{ crmAlsoBought(product: "UHJvZHVjdDo3Mg==", channel: "default") { productId } '
        "crmCustomers(first: 1) { totalCount } }"
    )

    # when
    answer = post(query, token=old_token)

    # then
    assert answer == {
        "data": {"crmAlsoBought": [], "crmCustomers": None},
        "errors": [
            {
                "message": "Invalid token. User does not exist or is inactive.",
                "locations": [{"line": 1, "column": 80}],
                "path": ["crmCustomers"],
                "extensions": {"exception": {"code": "InvalidTokenError"}},
            }
        ],
    }

import json
from datetime import timedelta

import pytest

from saleor_crm_plugin.host import MANAGE_USERS, reset_host
from saleor_crm_plugin.sandbox.models import SandboxUser
from tests.factories import T0


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()
    yield
    reset_host()


def make_user(email, *, staff=False, permissions=()):
    user = SandboxUser.objects.create(
        email=email,
        is_staff=staff,
        permissions=list(permissions),
        date_joined=T0 - timedelta(days=60),
        updated_at=T0 - timedelta(days=60),
    )
    user.issue_token()
    return user


@pytest.fixture
def staff_user(db):
    return make_user("staff@example.com", staff=True, permissions=[MANAGE_USERS])


@pytest.fixture
def staff_without_permission(db):
    return make_user("clerk@example.com", staff=True, permissions=[])


@pytest.fixture
def post(client):
    def send(query, variables=None, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = client.post(
            "/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 200, response.content
        return response.json()

    return send

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.host import MANAGE_USERS, reset_host
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.tasks import ingest_orders_task
from tests.factories import T0, order


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


@pytest.fixture
def ann(db):
    """A customer with one paid, unfulfilled order of 12,000 JPY placed yesterday."""
    user = make_user("ann@example.com")
    SandboxOrder.store(
        order(
            "a1",
            user_id=str(user.pk),
            email=user.email,
            total="12000",
            placed_at=timezone.now() - timedelta(days=1),
        )
    )
    ingest_orders_task.delay(["a1"]).get()
    return user

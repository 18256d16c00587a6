"""The Overview's stored figures: computed once when missing, then as the hourly tasks left them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_crm_plugin.analytics.figures import refresh
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.loyalty.services import adjust

pytestmark = pytest.mark.django_db
QUERY = """{ crmOverviewFigures { pointsComputedAt subscriptionsComputedAt
  pointsLiability { currency available pending value { amount currency } }
  subscriptions { channel active } } }"""


def test_the_overview_reads_what_the_hourly_tasks_stored(post, staff_user):
    profile = CustomerProfile.objects.create(user_id="77")
    adjust(
        profile.pk,
        300,
        "a",
        timezone.now() - timedelta(days=1),
        reason="x",
        actor="staff:1",
        currency="JPY",
    )

    first = post(QUERY, token=staff_user.api_token)["data"]["crmOverviewFigures"]
    adjust(
        profile.pk,
        200,
        "b",
        timezone.now() - timedelta(hours=1),
        reason="x",
        actor="staff:1",
        currency="JPY",
    )
    stale = post(QUERY, token=staff_user.api_token)["data"]["crmOverviewFigures"]
    refresh("points_liability", timezone.now())
    fresh = post(QUERY, token=staff_user.api_token)["data"]["crmOverviewFigures"]

    assert first["pointsLiability"] == [
        {
            "currency": "JPY",
            "available": 300,
            "pending": 0,
            "value": {"amount": 300.0, "currency": "JPY"},
        }
    ]
    assert stale["pointsLiability"] == first["pointsLiability"]
    assert stale["pointsComputedAt"] == first["pointsComputedAt"]
    assert fresh["pointsLiability"][0]["available"] == 500
    assert fresh["pointsComputedAt"] > first["pointsComputedAt"]
    assert first["subscriptions"] == []


def test_the_hourly_tasks_refresh_the_stored_figures(staff_user):
    from saleor_crm_plugin.analytics.models import StoredFigures
    from saleor_crm_plugin.tasks import expire_points_task, renew_subscriptions_task

    expire_points_task.delay().get()
    renew_subscriptions_task.delay().get()
    assert set(StoredFigures.objects.values_list("kind", flat=True)) == {
        "points_liability",
        "subscriptions",
    }


def test_only_staff_read_the_overview(post):
    from tests.graphql.conftest import make_user

    customer = make_user("c@example.com")
    for token in (None, customer.api_token):
        answer = post(QUERY, token=token)
        assert answer["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"

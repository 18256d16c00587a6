"""The CRM inside a real Saleor 3.23's Dashboard: its App, its extensions, its tokens."""

from datetime import timedelta
from io import StringIO

import graphene
import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from django.core.management import call_command
from freezegun import freeze_time
from saleor.app.models import App
from saleor.core.jwt import create_access_token, create_access_token_for_app_extension

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.dashboard.app import APP_IDENTIFIER

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]
BASE = "/plugins/global/saleor.crm/dashboard"


def _install():
    out = StringIO()
    call_command("crm_dashboard_app", url="https://shop.example.com", stdout=out)
    return App.objects.get(identifier=APP_IDENTIFIER), out.getvalue()


def test_the_command_makes_the_app_dashboard_shows_and_is_idempotent(crm_plugin):
    app, said = _install()
    again, said_again = _install()

    assert "created" in said
    assert "updated" in said_again
    assert app.pk == again.pk
    assert (again.type, again.is_active) == ("thirdparty", True)
    assert again.app_url == "https://shop.example.com/plugins/global/saleor.crm/dashboard"
    rows = {e.identifier: (e.mount, e.target, e.url, e.settings) for e in again.extensions.all()}
    assert rows == {
        "crm-overview": ("navigation_customers", "app_page", "/overview", {}),
        "crm-customers": ("navigation_customers", "app_page", "/customers", {}),
        "crm-segments": ("navigation_customers", "app_page", "/segments", {}),
        "crm-subscriptions": ("navigation_customers", "app_page", "/subscriptions", {}),
        "crm-customer-widget": (
            "customer_details_widgets",
            "widget",
            "https://shop.example.com/plugins/global/saleor.crm/dashboard/widget/customer",
            {"widgetTarget": {"method": "POST"}},
        ),
    }
    assert [p.codename for p in again.permissions.all()] == ["manage_users"]
    assert App.objects.filter(identifier=APP_IDENTIFIER).count() == 1


def _widget(client, token, user):
    data = {"customerId": graphene.Node.to_global_id("User", user.pk)}
    if token is not None:
        data["accessToken"] = token
    return client.post(f"{BASE}/widget/customer", data)


def test_the_widget_answers_the_dashboards_token_and_nothing_else(
    crm_plugin, client, staff_user, permission_manage_users, customer_user
):
    app, _ = _install()
    widget = app.extensions.get(identifier="crm-customer-widget")
    CustomerProfile.objects.create(user_id=str(customer_user.pk), order_count=3)
    staff_user.user_permissions.add(permission_manage_users)
    token = create_access_token_for_app_extension(widget, widget.permissions.all(), staff_user, app)

    allowed = _widget(client, token, customer_user)
    assert allowed.status_code == 200, allowed.content
    assert 'id="crm-rank">' in allowed.content.decode()

    # a staff user without MANAGE_USERS: the token's permissions are the intersection
    staff_user.user_permissions.clear()
    narrowed = create_access_token_for_app_extension(
        widget, widget.permissions.all(), staff_user, app
    )
    assert _widget(client, narrowed, customer_user).status_code == 403
    # a customer's own token, no token, a tampered one, an expired one
    assert _widget(client, create_access_token(customer_user), customer_user).status_code == 403
    assert _widget(client, None, customer_user).status_code == 401
    assert _widget(client, token[:-4] + "abcd", customer_user).status_code == 401
    with freeze_time(timedelta(minutes=6)):
        expired = _widget(client, token, customer_user)
    assert expired.status_code == 401
    assert "crm-rank" not in expired.content.decode()


def test_the_pages_are_served_through_the_plugin(crm_plugin, client):
    page = client.get(f"{BASE}/overview?theme=dark")
    assert page.status_code == 200
    assert 'data-theme="dark"' in page.content.decode()
    assert client.get(f"{BASE}/static/dashboard.js").status_code == 200

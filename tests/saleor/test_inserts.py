"""Package inserts inside a real Saleor 3.23: a first order paid through Saleor's checkout gets
its insert code in the order's private metadata (written without Saleor's hooks, `updated_at`
untouched) and in the day's picking list, with the name of its shipping address."""

import csv
import io
import json
from datetime import datetime

import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from saleor.core.jwt import create_access_token
from saleor.plugins.manager import get_plugins_manager

from saleor_crm_plugin.campaigns.insert_models import InsertDecision
from saleor_crm_plugin.host.saleor import SaleorHost
from tests.saleor.test_loyalty import _pay_and_complete

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

PICKING_URL = "/plugins/global/saleor.crm/export/picking.csv"
TOKYO_RULES = "WELCOME-LEAFLET: first order\nTHANKS2: order 2"


def test_order_private_metadata_is_merged_without_touching_the_order(order_with_lines):
    # given: a key staff set before
    order = order_with_lines
    order.store_value_in_private_metadata({"staff.note": "gift wrap"})
    order.save(update_fields=["private_metadata"])
    before = dict(order.private_metadata)
    updated_at = order.updated_at
    host = SaleorHost()

    # when
    with host.database_access():
        first = host.write_order_private_metadata({str(order.pk): {"crm.inserts": "A,B"}})
        again = host.write_order_private_metadata({str(order.pk): {"crm.inserts": "A,B"}})
        unknown = host.write_order_private_metadata(
            {"00000000-0000-0000-0000-000000000000": {"crm.inserts": "A"}, "7": {"x": "y"}}
        )

    # then
    order.refresh_from_db()
    assert (first, again, unknown) == (1, 0, 0)
    assert order.private_metadata == {**before, "crm.inserts": "A,B"}
    assert order.private_metadata["staff.note"] == "gift wrap"
    assert order.updated_at == updated_at


def test_shipping_names_are_read_in_one_query(order_with_lines, django_assert_num_queries):
    # given
    address = order_with_lines.shipping_address
    host = SaleorHost()

    # when
    with host.database_access(), django_assert_num_queries(1):
        names = host.order_shipping_names([str(order_with_lines.pk), "not-an-id"])

    # then
    assert names == {str(order_with_lines.pk): f"{address.first_name} {address.last_name}"}


def test_a_first_order_paid_through_the_checkout_carries_its_insert(
    crm_plugin,
    checkout_ready_to_complete,
    customer_user,
    user_api_client,
    app_api_client,
    staff_user,
    permission_group_manage_orders,
    transaction_item_generator,
    transaction_events_generator,
    recorded,
    client,
):
    # given: the store's insert rules
    manager = get_plugins_manager(allow_replica=False)
    manager.save_plugin_configuration(
        "saleor.crm",
        None,
        {"active": True, "configuration": [{"name": "insert-rules", "value": TOKYO_RULES}]},
    )

    # when: the customer pays a checkout (the hooks' changes are recorded by the drain)
    order, _transaction = _pay_and_complete(
        checkout_ready_to_complete,
        customer_user,
        user_api_client,
        app_api_client.app,
        transaction_item_generator,
        transaction_events_generator,
        recorded,
    )

    # then: the code is in the order's private metadata and recorded once
    order.refresh_from_db()
    assert order.private_metadata["crm.inserts"] == "WELCOME-LEAFLET"
    decision = InsertDecision.objects.get()
    assert (decision.order_id, decision.number, decision.codes) == (
        str(order.pk),
        str(order.number),
        "WELCOME-LEAFLET",
    )
    assert decision.written_at is not None

    # when: staff with MANAGE_ORDERS download the day's picking list (store time)
    permission_group_manage_orders.user_set.add(staff_user)
    day = datetime.now(crm_plugin_zone()).date().isoformat()
    response = client.post(
        PICKING_URL,
        data=json.dumps({"day": day}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {create_access_token(staff_user)}",
    )

    # then
    assert response.status_code == 200, response.content
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    address = order.shipping_address
    assert rows == [
        ["order_number", "shipping_name", "inserts"],
        [str(order.number), f"{address.first_name} {address.last_name}", "WELCOME-LEAFLET"],
    ]


def crm_plugin_zone():
    return SaleorHost().config().zone

"""Points and ranks inside a real Saleor 3.23, driven through Saleor's own API.

A customer checks out and pays (a charged transaction, `checkoutComplete`), staff fulfil the
order (`orderFulfill`), the payment app reports a refund (`transactionEventReport`); the
customer redeems points into a gift card that Saleor's checkout accepts
(`checkoutAddPromoCode`); a bad rank table typed into Dashboard (`pluginUpdate`) is refused.
"""

import json
from datetime import timedelta
from decimal import Decimal

import graphene
import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from django.utils import timezone
from saleor.checkout import calculations
from saleor.checkout.fetch import fetch_checkout_info, fetch_checkout_lines
from saleor.core.jwt import create_access_token
from saleor.graphql.tests.utils import get_graphql_content
from saleor.order.models import Order
from saleor.payment import TransactionEventType
from saleor.payment.transaction_item_calculations import recalculate_transaction_amounts
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host.saleor import SaleorHost
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.loyalty.services import balance

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

GRAPHQL_URL = "/plugins/global/saleor.crm/graphql/"

CHECKOUT_COMPLETE = """
mutation($id: ID) { checkoutComplete(id: $id) { order { id } errors { field message code } } }
"""
ORDER_FULFILL = """
mutation($order: ID!, $input: OrderFulfillInput!) {
  orderFulfill(order: $order, input: $input) { errors { field message code } }
}
"""
EVENT_REPORT = """
mutation($id: ID!, $type: TransactionEventTypeEnum!, $amount: PositiveDecimal!, $psp: String!) {
  transactionEventReport(id: $id, type: $type, amount: $amount, pspReference: $psp) {
    alreadyProcessed errors { field message code }
  }
}
"""
ADD_PROMO_CODE = """
mutation($id: ID, $code: String!) {
  checkoutAddPromoCode(id: $id, promoCode: $code) {
    checkout { giftCards { last4CodeChars currentBalance { amount currency } } }
    errors { field message code }
  }
}
"""
PLUGIN_UPDATE = """
mutation($input: PluginUpdateInput!) {
  pluginUpdate(id: "saleor.crm", input: $input) { errors { field message code } }
}
"""


@pytest.fixture
def loyalty_plugin(crm_plugin):
    """The CRM plugin with points on USD orders (the test channel's currency)."""
    manager = get_plugins_manager(allow_replica=False)
    manager.save_plugin_configuration(
        "saleor.crm",
        None,
        {
            "active": True,
            "configuration": [
                {"name": "points-earn-rates", "value": "USD: 1 per 1"},
                {"name": "points-return-window-days", "value": "14"},
                {"name": "points-redemption", "value": "USD: 100 points = 1 USD; min 500"},
            ],
        },
    )
    return get_plugins_manager(allow_replica=False)


def _crm(client, query, variables, token):
    response = client.post(
        GRAPHQL_URL,
        data=json.dumps({"query": query, "variables": variables}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _pay_and_complete(
    checkout,
    user,
    user_api_client,
    app,
    transaction_item_generator,
    transaction_events_generator,
    capture,
):
    """Charge the checkout's total through an app's transaction, then checkoutComplete."""
    checkout.user = user
    checkout.email = user.email
    checkout.save()
    manager = get_plugins_manager(allow_replica=False)
    lines, _ = fetch_checkout_lines(checkout)
    info = fetch_checkout_info(checkout, lines, manager)
    total = calculations.calculate_checkout_total_with_gift_cards(manager, info, lines)
    transaction = transaction_item_generator(checkout_id=checkout.pk, app=app)
    transaction_events_generator(
        transaction=transaction,
        psp_references=["charge-1"],
        types=[TransactionEventType.CHARGE_SUCCESS],
        amounts=[total.gross.amount],
    )
    recalculate_transaction_amounts(transaction)
    checkout.price_expiration = timezone.now()
    checkout.save()
    with capture():
        response = user_api_client.post_graphql(
            CHECKOUT_COMPLETE, {"id": graphene.Node.to_global_id("Checkout", checkout.pk)}
        )
    data = get_graphql_content(response)["data"]["checkoutComplete"]
    assert data["errors"] == []
    _, order_pk = graphene.Node.from_global_id(data["order"]["id"])
    return Order.objects.get(pk=order_pk), transaction


def test_a_paid_checkout_earns_pending_points_fulfilment_releases_them_a_refund_reverses(
    loyalty_plugin,
    checkout_ready_to_complete,
    customer_user,
    user_api_client,
    staff_api_client,
    app_api_client,
    permission_group_manage_orders,
    permission_manage_payments,
    transaction_item_generator,
    transaction_events_generator,
    recorded,
):
    # given: the customer completes a checkout paid in full
    order, transaction = _pay_and_complete(
        checkout_ready_to_complete,
        customer_user,
        user_api_client,
        app_api_client.app,
        transaction_item_generator,
        transaction_events_generator,
        recorded,
    )
    profile = CustomerProfile.objects.get(user_id=str(customer_user.pk))
    total = order.total_gross_amount
    # 1 point per full USD of the total without shipping (the default base), + the first-order
    # bonus
    assert order.shipping_price_gross_amount > 0
    earned = int(total - order.shipping_price_gross_amount) + 100
    now = timezone.now()

    # then: pending, shown in the user's private metadata with the rank
    state = balance(profile.pk, now)
    assert (state.available, state.pending) == (0, earned)
    customer_user.refresh_from_db()
    assert customer_user.private_metadata["crm.points_pending"] == str(earned)
    assert customer_user.private_metadata["crm.rank"] == "REGULAR"

    # when: staff fulfil the whole order through Saleor's API
    permission_group_manage_orders.user_set.add(staff_api_client.user)
    lines = [
        {
            "orderLineId": graphene.Node.to_global_id("OrderLine", line.pk),
            "stocks": [
                {
                    "quantity": line.quantity,
                    "warehouse": graphene.Node.to_global_id(
                        "Warehouse", line.allocations.first().stock.warehouse_id
                    ),
                }
            ],
        }
        for line in order.lines.all()
    ]
    with recorded():
        response = staff_api_client.post_graphql(
            ORDER_FULFILL,
            {
                "order": graphene.Node.to_global_id("Order", order.pk),
                "input": {"lines": lines, "notifyCustomer": False},
            },
        )
    assert get_graphql_content(response)["data"]["orderFulfill"]["errors"] == []

    # then: still pending during the 14-day return window, available after it
    assert balance(profile.pk, now + timedelta(days=13)).pending == earned
    assert balance(profile.pk, now + timedelta(days=15)).available == earned

    # when: the payment app reports a refund of half the order
    half = (total / 2).quantize(Decimal("0.01"))
    with recorded():
        response = app_api_client.post_graphql(
            EVENT_REPORT,
            {
                "id": graphene.Node.to_global_id("TransactionItem", transaction.token),
                "type": "REFUND_SUCCESS",
                "amount": str(half),
                "psp": "refund-1",
            },
            permissions=[permission_manage_payments],
        )
    assert get_graphql_content(response)["data"]["transactionEventReport"]["errors"] == []

    # then: half the points are taken back (rounded half up)
    reversed_points = -sum(
        PointsEntry.objects.filter(kind="reverse").values_list("points", flat=True)
    )
    expected = int((Decimal(earned) * half / total).to_integral_value(rounding="ROUND_HALF_UP"))
    assert reversed_points == expected
    assert balance(profile.pk, now + timedelta(days=15)).available == earned - expected


def test_redeemed_points_become_a_gift_card_saleor_checkout_accepts(
    loyalty_plugin,
    client,
    customer_user,
    staff_user,
    permission_manage_users,
    checkout_with_item,
    user_api_client,
):
    # given: 1,200 points from staff (the staff token has MANAGE_USERS)
    staff_user.user_permissions.add(permission_manage_users)
    CustomerProfile.objects.create(user_id=str(customer_user.pk))
    user_id = graphene.Node.to_global_id("User", customer_user.pk)
    adjusted = _crm(
        client,
        'mutation($c: ID!) { crmPointsAdjust(customerId: $c, points: 1200, reason: "welcome",'
        ' requestId: "w1", currency: "USD") { errors { field message } } }',
        {"c": user_id},
        create_access_token(staff_user),
    )
    assert adjusted["data"]["crmPointsAdjust"]["errors"] == []

    # when: the customer redeems 700 points for a 7 USD gift card
    redeemed = _crm(
        client,
        'mutation { crmPointsRedeem(points: 700, currency: "USD", requestId: "gc-1") '
        "{ giftCard { code amount { amount currency } } points { balance } errors { field message } } }",
        {},
        create_access_token(customer_user),
    )["data"]["crmPointsRedeem"]

    # then: Saleor's checkout takes the code for this customer
    assert redeemed["errors"] == []
    assert redeemed["giftCard"]["amount"] == {"amount": 7.0, "currency": "USD"}
    assert redeemed["points"] == {"balance": 500}
    code = redeemed["giftCard"]["code"]
    checkout_with_item.user = customer_user
    checkout_with_item.email = customer_user.email
    checkout_with_item.save()
    response = user_api_client.post_graphql(
        ADD_PROMO_CODE,
        {"id": graphene.Node.to_global_id("Checkout", checkout_with_item.pk), "code": code},
    )
    data = get_graphql_content(response)["data"]["checkoutAddPromoCode"]
    assert data["errors"] == []
    assert data["checkout"]["giftCards"] == [
        {"last4CodeChars": code[-4:], "currentBalance": {"amount": 7.0, "currency": "USD"}}
    ]


def test_a_bad_rank_table_typed_into_dashboard_is_refused_and_the_old_one_stays(
    loyalty_plugin, staff_api_client, permission_manage_plugins
):
    # when: staff save a ladder whose Silver is below Gold, through Saleor's pluginUpdate
    bad = "Regular (REGULAR)\nGold (GOLD): orders 5\nSilver (SILVER): orders 3"
    response = staff_api_client.post_graphql(
        PLUGIN_UPDATE,
        {"input": {"configuration": [{"name": "ranks", "value": bad}]}},
        permissions=[permission_manage_plugins],
    )

    # then: the message names the setting, the rank and the field; nothing was saved
    errors = get_graphql_content(response)["data"]["pluginUpdate"]["errors"]
    assert len(errors) == 1
    assert errors[0]["field"] == "ranks"
    assert "ranks: Silver.min_orders: 3 is below Gold's 5: ranks go up" in errors[0]["message"]
    saved = PluginConfiguration.objects.get(identifier="saleor.crm").configuration
    ranks = next((item["value"] for item in saved if item["name"] == "ranks"), None)
    assert ranks != bad


def test_with_the_option_on_the_users_customer_type_follows_the_rank(
    crm_plugin, order_with_lines, recorded
):
    # given
    manager = get_plugins_manager(allow_replica=False)
    manager.save_plugin_configuration(
        "saleor.crm",
        None,
        {"active": True, "configuration": [{"name": "rank-customer-types", "value": True}]},
    )
    plugin = get_plugins_manager(allow_replica=False).get_plugin("saleor.crm")

    # when: an order event
    with recorded():
        plugin.order_created(order_with_lines, None)

    # then: Saleor's own Customer Type (staff filter the customer list by it)
    user = order_with_lines.user
    user.refresh_from_db()
    assert user.customer_type.slug == "crm-rank-regular"
    assert user.customer_type.name == "Regular"


def test_a_rank_discount_is_a_personal_voucher_code_saleor_checkout_accepts(
    loyalty_plugin,
    customer_user,
    checkout_with_item,
    user_api_client,
    django_capture_on_commit_callbacks,
):
    # given: staff pin the customer to Gold (the default ladder: discount 3%)
    from saleor.discount.models import VoucherCode

    from saleor_crm_plugin.loyalty.membership import pin_rank
    from saleor_crm_plugin.loyalty.models import MemberRank
    from saleor_crm_plugin.metadata import sync_customer_metadata

    host = SaleorHost()
    profile = CustomerProfile.objects.create(user_id=str(customer_user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        pin_rank(host.config(), profile, "GOLD", "VIP", timezone.now(), actor="staff:1")
        sync_customer_metadata(host, [profile.pk])

    # then: a Saleor voucher of 3% with the customer's own code
    member = MemberRank.objects.get(profile=profile)
    code = VoucherCode.objects.select_related("voucher").get(code=member.voucher_code)
    assert code.voucher.discount_value_type == "percentage"
    assert code.voucher.channel_listings.get(channel=checkout_with_item.channel).discount_value == 3

    # and Saleor's checkout takes it
    checkout_with_item.user = customer_user
    checkout_with_item.email = customer_user.email
    checkout_with_item.save()
    response = user_api_client.post_graphql(
        "mutation($id: ID, $code: String!) { checkoutAddPromoCode(id: $id, promoCode: $code) "
        "{ checkout { voucherCode discount { amount } } errors { field message code } } }",
        {"id": graphene.Node.to_global_id("Checkout", checkout_with_item.pk), "code": code.code},
    )
    data = get_graphql_content(response)["data"]["checkoutAddPromoCode"]
    assert data["errors"] == []
    assert data["checkout"]["voucherCode"] == code.code
    assert data["checkout"]["discount"]["amount"] > 0

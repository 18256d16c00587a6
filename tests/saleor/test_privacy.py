"""Privacy inside a real Saleor 3.23, driven through Saleor's own API.

- Guest history is adopted only when Saleor links it: `accountRegister` on a store that requires
  confirmation leaves the account unconfirmed and the CRM leaves the guest's orders and points
  alone; `confirmAccount` (with the password, Saleor's merging mode) links them, and the CRM
  follows.
- `customerDelete` (what Dashboard's delete button calls) leaves none of the customer's personal
  data in any CRM table.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import graphene
import pytest
from django.utils import timezone

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from saleor.account.models import User
from saleor.core.jwt import create_access_token
from saleor.core.tokens import account_confirm_token_generator
from saleor.graphql.tests.utils import get_graphql_content
from saleor.order import OrderEvents, OrderStatus
from saleor.order.models import Order, OrderEvent
from saleor.plugins.manager import get_plugins_manager
from saleor.site import AccountConfirmMode

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord
from saleor_crm_plugin.host.saleor import SaleorHost
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.loyalty.services import balance
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
from saleor_crm_plugin.subscriptions.services import create_subscription, rules_for
from tests.privacy.leaks import add_copies, find_personal_data

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

ACCOUNT_REGISTER = """
mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { requiresConfirmation errors { field message code } }
}
"""
CONFIRM_ACCOUNT = """
mutation($email: String!, $token: String!, $password: String) {
  confirmAccount(email: $email, token: $token, password: $password) {
    user { email isConfirmed } errors { field message code }
  }
}
"""
GUEST = "guest.privacy@example.com"
PASSWORD = "Secret-Passw0rd!"


@pytest.fixture
def throttling_disabled():
    """Saleor's login throttling off (as its own account tests have it): confirmAccount checks
    the password."""
    with mock.patch("saleor.account.throttling.cache"):
        yield


@pytest.fixture
def points_plugin(crm_plugin):
    """The CRM plugin with points on USD orders (the test channel's currency)."""
    manager = get_plugins_manager(allow_replica=False)
    manager.save_plugin_configuration(
        "saleor.crm",
        None,
        {"active": True, "configuration": [{"name": "points-earn-rates", "value": "USD: 1 per 1"}]},
    )
    return get_plugins_manager(allow_replica=False)


def _guest_orders(orders, email: str, amount: str) -> list:
    """Make these orders a guest's (placed by `email`, no account), paid in full."""
    for order in orders:
        order.user = None
        order.user_email = email
        order.status = OrderStatus.UNFULFILLED
        order.total_gross_amount = order.total_net_amount = Decimal(amount)
        order.undiscounted_total_gross_amount = order.undiscounted_total_net_amount = Decimal(
            amount
        )
        order.total_charged_amount = Decimal(amount)
        order.save()
        OrderEvent.objects.create(order=order, type=OrderEvents.ORDER_FULLY_PAID)
    return orders


def test_an_unconfirmed_registration_adopts_nothing_until_saleor_links_the_orders(
    points_plugin,
    api_client,
    order_list,
    channel_USD,
    site_settings,
    throttling_disabled,
    recorded,
    settings,
):
    # given: two paid guest orders of 51 USD each, recorded as a guest's
    settings.ALLOWED_CLIENT_HOSTS = ["localhost"]
    site_settings.enable_account_confirmation_by_email = True
    site_settings.account_confirm_merge_mode = AccountConfirmMode.REQUIRE_PASSWORD
    site_settings.save()
    orders = _guest_orders(order_list[:2], GUEST, "51.00")
    with recorded():
        for order in orders:
            points_plugin.order_created(order)
    guest = CustomerProfile.objects.get(user_id__isnull=True, order_count=2)

    # when: someone registers the guest's address, on a store that requires confirmation
    with recorded():
        response = api_client.post_graphql(
            ACCOUNT_REGISTER,
            {
                "input": {
                    "email": GUEST,
                    "password": PASSWORD,
                    "redirectUrl": "http://localhost:3000/confirm",
                    "channel": channel_USD.slug,
                }
            },
        )
    registered = get_graphql_content(response)["data"]["accountRegister"]

    # then: Saleor leaves the account unconfirmed and the orders a guest's; so does the CRM
    assert registered == {"requiresConfirmation": True, "errors": []}
    user = User.objects.get(email=GUEST)
    assert user.is_confirmed is False
    assert Order.objects.filter(pk__in=[o.pk for o in orders], user=None).count() == 2
    guest.refresh_from_db()
    assert (guest.user_id, guest.order_count) == (None, 2)
    account = CustomerProfile.objects.get(user_id=str(user.pk))
    assert (account.order_count, account.email_digest) == (0, None)
    assert not PointsEntry.objects.filter(account__profile=account).exists()
    user.refresh_from_db()
    assert not [key for key in user.private_metadata if key.startswith("crm.")]

    # when: the owner of the address confirms it (with the password: Saleor then links)
    token = account_confirm_token_generator.make_token(user)
    with recorded():
        response = api_client.post_graphql(
            CONFIRM_ACCOUNT, {"email": GUEST, "token": token, "password": PASSWORD}
        )
    confirmed = get_graphql_content(response)["data"]["confirmAccount"]

    # then: Saleor's orders carry the user, and the CRM adopts them with their points
    assert confirmed == {"user": {"email": GUEST, "isConfirmed": True}, "errors": []}
    assert Order.objects.filter(pk__in=[o.pk for o in orders], user=user).count() == 2
    account = CustomerProfile.objects.get(user_id=str(user.pk))
    assert account.order_count == 2
    assert set(OrderRecord.objects.values_list("profile_id", flat=True)) == {account.pk}
    # 51 + 51, and the default first-order bonus of 100; pending for the return window
    points = balance(account.pk, timezone.now())
    assert (points.available, points.pending) == (0, 202)
    assert PointsEntry.objects.filter(account__profile=account, kind="earn").count() == 2
    user.refresh_from_db()
    assert user.private_metadata["crm.order_count"] == "2"
    assert user.private_metadata["crm.points_pending"] == "202"


CUSTOMER_DELETE = """
mutation($id: ID!) { customerDelete(id: $id) { errors { field message code } } }
"""


@pytest.fixture
def webhook_plugin(crm_plugin):
    """The CRM plugin with points and a webhook receiver set (deliveries are queued)."""
    manager = get_plugins_manager(allow_replica=False)
    manager.save_plugin_configuration(
        "saleor.crm",
        None,
        {
            "active": True,
            "configuration": [
                {"name": "points-earn-rates", "value": "USD: 1 per 1"},
                {"name": "webhook-url", "value": "http://127.0.0.1:9/hooks"},
                {"name": "webhook-secret", "value": "whsec-0123456789abcdef"},
            ],
        },
    )
    return get_plugins_manager(allow_replica=False)


def test_customer_delete_leaves_no_personal_data_in_any_crm_table(
    webhook_plugin,
    staff_api_client,
    permission_manage_users,
    customer_user,
    order_list,
    recorded,
    django_capture_on_commit_callbacks,
):
    # given: a customer with paid orders (points, rank, scores), a subscription to their own
    # address, a refused campaign email, a webhook about them, package inserts
    address = customer_user.default_shipping_address
    for order in order_list:
        order.shipping_address = address.get_copy()
    _guest_orders(order_list, customer_user.email, "51.00")
    for order in order_list:
        order.user = customer_user
        order.save(update_fields=["user"])
    with recorded():
        for order in order_list:
            webhook_plugin.order_created(order)
        webhook_plugin.customer_updated(customer_user)
    profile = CustomerProfile.objects.get(user_id=str(customer_user.pk))
    host = SaleorHost()
    config = host.config()
    [shipping, _billing] = host.order_addresses(str(order_list[0].pk))
    create_subscription(
        profile,
        channel=order_list[0].channel.slug,
        currency="USD",
        lines=[("VARIANT-1", 1)],
        interval=Interval(1, Unit.MONTH),
        first_delivery=timezone.now().date() + timedelta(days=20),
        actor=f"user:{customer_user.pk}",
        now=timezone.now(),
        rules=rules_for(config),
        zone=config.zone,
        shipping_address=shipping,
        billing_address=shipping,
    )
    add_copies(
        profile,
        customer_user.email,
        customer_user.first_name,
        str(order_list[0].pk),
        config,
        django_capture_on_commit_callbacks,
    )
    personal = [
        customer_user.email,
        customer_user.first_name,
        customer_user.last_name,
        str(address.phone),
        address.first_name,
        address.last_name,
        address.street_address_1,
        address.city,
        address.postal_code,
    ]
    assert PointsEntry.objects.filter(account__profile=profile).count() == 4
    assert {table for table, *_ in find_personal_data(personal)} == {
        "saleor_crm_subscription",
        "saleor_crm_campaignsend",
        "saleor_crm_webhookdelivery",
        # what staff typed about them: an adjustment's and a rank pin's reasons
        "saleor_crm_pointsentry",
        "saleor_crm_auditevent",
        "saleor_crm_rankchange",
        "saleor_crm_memberrank",
    }

    # when: staff delete the customer as Dashboard does (Saleor's customerDelete)
    user_id = graphene.Node.to_global_id("User", customer_user.pk)
    with recorded():
        response = staff_api_client.post_graphql(
            CUSTOMER_DELETE, {"id": user_id}, permissions=[permission_manage_users]
        )
    assert get_graphql_content(response)["data"]["customerDelete"]["errors"] == []

    # then: Saleor no longer has them, and no CRM table or column holds their data
    assert not User.objects.filter(pk=customer_user.pk).exists()
    assert find_personal_data(personal) == []
    profile.refresh_from_db()
    assert profile.anonymized_at is not None
    assert (profile.email_digest, profile.order_count) == (None, 3)


def test_staff_export_what_the_crm_and_saleor_hold_of_a_customer(
    crm_plugin, client, staff_user, permission_manage_users, customer_user, order_list, recorded
):
    # given: a customer with three paid orders shipped to their address
    address = customer_user.default_shipping_address
    _guest_orders(order_list, customer_user.email, "51.00")
    for order in order_list:
        order.user = customer_user
        order.shipping_address = address.get_copy()
        order.save(update_fields=["user", "shipping_address"])
    with recorded():
        for order in order_list:
            crm_plugin.order_created(order)
    staff_user.user_permissions.add(permission_manage_users)
    user_id = graphene.Node.to_global_id("User", customer_user.pk)

    # when: staff download the CSV, as the widget's button does (Dashboard's token in the form)
    response = client.post(
        "/plugins/global/saleor.crm/export/customer-data.csv",
        {"customerId": user_id, "accessToken": create_access_token(staff_user)},
    )

    # then: Saleor's account and order addresses, the CRM's orders; audited
    assert response.status_code == 200, response.content
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = {(section, field): value for section, field, value in rows[1:]}
    assert cells[("store", "account.email")] == customer_user.email
    assert cells[("store", "account.last_name")] == customer_user.last_name
    # a phone starts with +: the CSV guard writes it as text, not a formula
    assert cells[("store", "account.default_shipping_address.phone")] == f"'{address.phone}"
    shipped = [
        value
        for (section, field), value in cells.items()
        if section == "store" and field.endswith(".shipping_address.streetAddress1")
    ]
    assert shipped == [address.street_address_1] * 3
    assert {cells[("orders", f"{n}.order_id")] for n in range(3)} == {
        str(order.pk) for order in order_list
    }
    event = AuditEvent.objects.get(action=AuditEvent.CUSTOMER_DATA_EXPORTED)
    assert (event.actor, event.detail) == (f"staff:{staff_user.pk}", {"format": "csv"})

"""Privacy inside a real Saleor 3.23, driven through Saleor's own API.

- Guest history is adopted only when Saleor links it: `accountRegister` on a store that requires
  confirmation leaves the account unconfirmed and the CRM leaves the guest's orders and points
  alone; `confirmAccount` (with the password, Saleor's merging mode) links them, and the CRM
  follows.
- `customerDelete` (what Dashboard's delete button calls) leaves none of the customer's personal
  data in any CRM table.
"""

from decimal import Decimal

import pytest
from django.utils import timezone

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from saleor.account.models import User
from saleor.core.tokens import account_confirm_token_generator
from saleor.graphql.tests.utils import get_graphql_content
from saleor.order import OrderEvents, OrderStatus
from saleor.order.models import Order, OrderEvent
from saleor.plugins.manager import get_plugins_manager
from saleor.site import AccountConfirmMode

from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.loyalty.services import balance

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
):
    # given: two paid guest orders of 51 USD each, recorded as a guest's
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
    points = balance(account.pk, timezone.now())  # pending for the return window
    assert (points.available, points.pending) == (0, 102)
    user.refresh_from_db()
    assert user.private_metadata["crm.order_count"] == "2"
    assert user.private_metadata["crm.points_pending"] == "102"

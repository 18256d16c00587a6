"""The `Host` protocol on a real Saleor 3.23: the only module (with plugin.py) importing saleor.*.

Thin by design: it reads Saleor's models into snapshots and answers who is calling; every
rule lives in the engines. Tested against a real Saleor in tests/saleor/.
"""

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

import graphene
import jwt
from django.db import connection, transaction
from django.db.models import F, Max, Min, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone
from saleor.account.models import CustomerType, User
from saleor.channel.models import Channel
from saleor.core.auth import get_token_from_request
from saleor.core.db.connection import allow_writer
from saleor.core.jwt import (
    JWT_ACCESS_TYPE,
    JWT_THIRDPARTY_ACCESS_TYPE,
    get_user_from_access_payload,
    jwt_decode,
)
from saleor.core.utils.promo_code import generate_promo_code
from saleor.discount import DiscountValueType, VoucherType
from saleor.discount.models import Voucher, VoucherChannelListing, VoucherCode
from saleor.giftcard import events as gift_card_events
from saleor.giftcard.models import GiftCard
from saleor.order import OrderEvents, OrderStatus
from saleor.order.models import Order, OrderEvent, OrderLine
from saleor.payment import ChargeStatus, TransactionEventType, TransactionKind
from saleor.payment.models import Payment, Transaction, TransactionEvent, TransactionItem
from saleor.permission.enums import AccountPermissions, OrderPermissions, PluginsPermissions
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration

from ..conf import CRMConfig, parse_config
from ..customers.search import profile_emails
from ..customers.snapshots import CustomerSnapshot, LineSnapshot, OrderSnapshot, SnapshotError
from ..expressions import AnyOf
from . import attributes
from .protocol import (
    CONTACT_COLUMNS,
    MANAGE_ORDERS,
    MANAGE_PLUGINS,
    MANAGE_USERS,
    Batch,
    InvalidToken,
    Requester,
    changed_page,
    split_keys,
)

logger = logging.getLogger(__name__)

# Saleor's messages for a token it cannot take as a user's (`saleor.core.jwt`), and, in its API
# (`saleor.core.auth_backend.load_user_from_request`), for one of a user it does not have or
# who is inactive.
UNUSABLE_TOKEN_MESSAGE = "Invalid token. Create new one by using tokenCreate mutation."  # noqa: S105
NO_USER_MESSAGE = "Invalid token. User does not exist or is inactive."


def _api_message(payload: dict, error: Exception) -> str:
    """The message Saleor's API gives for a decoded token `get_user_from_access_payload`
    refused: that function says "create new one" also where the API names a missing or
    inactive user (an access token with its key claim, of nobody active)."""
    of_nobody = (
        payload.get("type") in (JWT_ACCESS_TYPE, JWT_THIRDPARTY_ACCESS_TYPE)
        and payload.get("token")
        and not User.objects.filter(email=payload.get("email"), is_active=True).exists()
    )
    return NO_USER_MESSAGE if of_nobody else str(error)


PLUGIN_ID = "saleor.crm"
# The checkout (and checkout line) metadata key a storefront sets to start a subscription.
SUBSCRIPTION_KEY = "crm.subscription_interval"
# Our permission codes -> Saleor's permission enums (checked with `user.has_perm`).
PERMISSIONS = {
    MANAGE_USERS: AccountPermissions.MANAGE_USERS,
    MANAGE_PLUGINS: PluginsPermissions.MANAGE_PLUGINS,
    MANAGE_ORDERS: OrderPermissions.MANAGE_ORDERS,
}
_PAID_EVENTS = (
    OrderEvents.ORDER_FULLY_PAID,
    OrderEvents.ORDER_MARKED_AS_PAID,
    OrderEvents.PAYMENT_CAPTURED,
)

# Statuses an order reaches once every line was fulfilled.
_FULFILLED = (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_RETURNED, OrderStatus.RETURNED)


RENEWAL_KEY = "crm.renewal_key"  # in a renewal order's private metadata: the cycle's key
CHECKOUT_CREATE = """mutation($input: CheckoutCreateInput!) { checkoutCreate(input: $input) {
  checkout { id shippingMethods { id } } errors { field message code } } }"""
CHECKOUT_ATTACH = """mutation($id: ID!, $customerId: ID!) {
  checkoutCustomerAttach(id: $id, customerId: $customerId) { errors { field message code } } }"""
CHECKOUT_DELIVERY = """mutation($id: ID!, $method: ID!) {
  checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $method) {
    checkout { totalPrice { gross { amount } } } errors { field message code } } }"""
CHECKOUT_PROMO = """mutation($id: ID!, $code: String!) {
  checkoutAddPromoCode(id: $id, promoCode: $code) { errors { field message code } } }"""
ORDER_FROM_CHECKOUT = """mutation($id: ID!, $metadata: [MetadataInput!], $private: [MetadataInput!]) {
  orderCreateFromCheckout(id: $id, metadata: $metadata, privateMetadata: $private) {
    order { id } errors { field message code } } }"""


def _renewal_app():
    """The plugin's own local App, which creates renewal orders (created once)."""
    from saleor.app.models import App
    from saleor.permission.models import Permission

    app, created = App.objects.get_or_create(
        identifier="saleor.crm.renewals",
        defaults={"name": "CRM renewals", "is_active": True},
    )
    if created:
        codenames = ["handle_checkouts", "manage_checkouts", "impersonate_user", "manage_orders"]
        app.permissions.set(Permission.objects.filter(codename__in=codenames))
    return app


def _import_app():
    """The plugin's own local App that imports order history (`orderBulkCreate` needs
    MANAGE_ORDERS_IMPORT); created once."""
    from saleor.app.models import App
    from saleor.permission.models import Permission

    app, created = App.objects.get_or_create(
        identifier="saleor.crm.imports",
        defaults={"name": "CRM imports", "is_active": True},
    )
    if created:
        app.permissions.set(Permission.objects.filter(codename="manage_orders_import"))
    return app


# History is imported as it happened: the stock it sold then is not taken from today's (SKIP).
_ORDER_BULK_CREATE = """
mutation CrmImportOrders($orders: [OrderBulkCreateInput!]!) {
  orderBulkCreate(orders: $orders, errorPolicy: REJECT_FAILED_ROWS, stockUpdatePolicy: SKIP) {
    results { order { id } errors { path code message } }
  }
}
"""


def _run(query: str, variables: dict, name: str) -> dict:
    """Execute Saleor's GraphQL in process as the renewal App; raise RenewalError on errors."""
    from saleor.graphql.api import schema as saleor_schema
    from saleor.graphql.webhook.subscription_payload import initialize_request

    from ..subscriptions.renewals import RenewalError

    app = _renewal_app()
    context = initialize_request(app=app, requestor=app)
    context.app, context.user = app, None
    result = saleor_schema.execute(query, variable_values=variables, context_value=context)
    if result.errors:
        raise RenewalError(f"{name}: {result.errors[0]}")
    data = result.data[name]
    if data.get("errors"):
        error = data["errors"][0]
        raise RenewalError(f"{name}: {error['field'] or ''} {error['message']}".strip())
    return data


def _address_input(address) -> dict:
    if address is None:
        return {}
    fields = {
        "firstName": address.first_name,
        "lastName": address.last_name,
        "companyName": address.company_name,
        "streetAddress1": address.street_address_1,
        "streetAddress2": address.street_address_2,
        "city": address.city,
        "cityArea": address.city_area,
        "postalCode": address.postal_code,
        "country": str(address.country.code) if address.country else "",
        "countryArea": address.country_area,
        "phone": str(address.phone) if address.phone else "",
    }
    return {key: value for key, value in fields.items() if value}


def _merge_private_metadata(model, id_type: str, given: list[tuple]) -> int:
    """Merge each (id, JSON patch) into the rows' private metadata in one UPDATE, where a value
    differs; return how many rows changed."""
    if not given:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("private_metadata").column)
    held = f"coalesce(u.{column}, '{{}}'::jsonb)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS u SET {column} = {held} || given.patch "
            f"FROM unnest(%s::{id_type}[], %s::jsonb[]) AS given(id, patch) "
            f"WHERE u.id = given.id AND NOT {held} @> given.patch",
            [[pk for pk, _ in given], [patch for _, patch in given]],
        )
        return cursor.rowcount


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


_ORDER_COLUMNS = (
    "pk",
    "number",
    "channel__slug",
    "currency",
    "channel__currency_code",
    "status",
    "user_id",
    "user_email",
    "user__email",
    "created_at",
    "updated_at",
    "total_gross_amount",
    "total_net_amount",
    "total_charged_amount",
    "shipping_price_gross_amount",
    "shipping_price_net_amount",
    "subscription",
)
_LINE_COLUMNS = (
    "order_id",
    "pk",
    "quantity",
    "unit_price_gross_amount",
    "product_name",
    "product_sku",
    "subscription",
    "product_variant_id",
    "variant_id",
    "variant__product_id",
    "variant__product__category_id",
)


_NO_EVENTS = (None, None, None, None)
_NO_REFUND = (Decimal(0), None)


def _global_id(type_name: str, pk) -> str | None:
    return None if pk is None else graphene.Node.to_global_id(type_name, pk)


def read_orders(orders) -> tuple[list[OrderSnapshot], list[tuple[str, str]]]:
    """Read these Saleor orders (a queryset, in its order) as snapshots, in bulk.

    A fixed handful of queries whatever the number of orders (their rows, lines, event times,
    and the payments and transactions of the few that have any): plain values, no model
    instances. Returns the snapshots and the (order id, reason) of orders that cannot be read.
    """
    rows = list(
        orders.annotate(subscription=KeyTextTransform(SUBSCRIPTION_KEY, "metadata")).values_list(
            *_ORDER_COLUMNS
        )
    )
    if not rows:
        return [], []
    # The rows around the orders are selected by the orders' own condition (a subquery), not
    # by a list of their ids: a list of thousands of parameters costs more than the rows.
    ids = orders.order_by().values("pk")
    lines = defaultdict(list)
    line_rows = (
        OrderLine.objects.filter(order_id__in=ids)
        .annotate(subscription=KeyTextTransform(SUBSCRIPTION_KEY, "metadata"))
        .order_by("order_id", "created_at", "pk")
        .values_list(*_LINE_COLUMNS)
    )
    for (
        order_id,
        pk,
        quantity,
        price,
        name,
        sku,
        chosen,
        variant,
        old_variant,
        product,
        category,
    ) in line_rows:
        lines[order_id].append(
            LineSnapshot(
                line_id=str(pk),
                quantity=quantity,
                unit_price_gross=price,
                product_name=name,
                sku=sku,
                subscription=chosen,
                variant_id=variant or (str(old_variant) if old_variant else None),
                product_id=_global_id("Product", product),
                category_id=_global_id("Category", category) if product else None,
            )
        )
    events = {
        row[0]: row[1:]
        for row in OrderEvent.objects.filter(order_id__in=ids)
        .values("order_id")
        .annotate(
            latest=Max("date"),
            paid=Min("date", filter=Q(type__in=_PAID_EVENTS)),
            cancelled=Max("date", filter=Q(type=OrderEvents.CANCELED)),
            fulfilled=Max("date", filter=Q(type=OrderEvents.FULFILLMENT_FULFILLED_ITEMS)),
        )
        .order_by()
        .values_list("order_id", "latest", "paid", "cancelled", "fulfilled")
    }
    refunds, changed = _refunds(ids)
    snapshots, skipped = [], []
    for row in rows:
        (pk, number, channel, currency, channel_currency, status, user_id, user_email) = row[:8]
        (account_email, placed, updated, gross, net, charged, shipping, shipping_net) = row[8:16]
        latest, paid_at, cancelled_at, fulfilled_at = events.get(pk, _NO_EVENTS)
        # (Most orders have no payment rows: no lookup for them.)
        refunded, refunded_at = refunds.get(pk, _NO_REFUND) if refunds else _NO_REFUND
        try:
            snapshots.append(
                OrderSnapshot(
                    order_id=str(pk),
                    number=str(number),
                    channel=channel,
                    currency=currency or channel_currency,
                    status=status,
                    user_id=str(user_id) if user_id else None,
                    email=user_email or (account_email if user_id else None),
                    placed_at=placed,
                    # The newest time of the order and the rows around it: a refund or capture
                    # may change payments, transactions and events without saving the order.
                    updated_at=max(t for t in (updated, latest, changed and changed.get(pk)) if t),
                    total_gross=gross,
                    total_net=net,
                    paid_amount=charged,
                    paid_at=paid_at,
                    refunded_amount=min(refunded, gross),
                    refunded_at=refunded_at,
                    cancelled_at=cancelled_at if status == OrderStatus.CANCELED else None,
                    # The last fulfilment completed the order.
                    fulfilled_at=fulfilled_at if status in _FULFILLED else None,
                    shipping_gross=shipping,
                    shipping_net=shipping_net,
                    subscription=row[16],
                    lines=tuple(lines.get(pk, ())),
                )
            )
        except SnapshotError as error:
            skipped.append((str(pk), str(error)))
    return snapshots, skipped


def _refunds(order_ids) -> tuple[dict, dict]:
    """Return what was refunded and when, per order, the way Saleor's `Order.totalRefunded`
    counts it, and the newest change time of each order's payments and transactions.

    Orders with a payment count the successful refunds of their last payment while it is
    active or fully refunded; the others the refunded value of their transaction items.
    """
    refunds: dict = {}
    changed: dict = {}

    def seen(order_id, when) -> None:
        if when is not None and (changed.get(order_id) is None or when > changed[order_id]):
            changed[order_id] = when

    last_payment = {}
    for pk, order_id, active, charge_status, modified in (
        Payment.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "pk")
        .values_list("pk", "order_id", "is_active", "charge_status", "modified_at")
    ):
        seen(order_id, modified)
        last_payment[order_id] = (pk, active or charge_status == ChargeStatus.FULLY_REFUNDED)
    if last_payment:
        counted = {pk: order_id for order_id, (pk, counts) in last_payment.items() if counts}
        for payment_id, order_id, kind, success, amount, created in Transaction.objects.filter(
            payment__order_id__in=list(last_payment)
        ).values_list(
            "payment_id", "payment__order_id", "kind", "is_success", "amount", "created_at"
        ):
            seen(order_id, created)
            if counted.get(payment_id) == order_id and kind == TransactionKind.REFUND and success:
                amount_so_far, when = refunds.get(order_id, (Decimal(0), None))
                refunds[order_id] = (amount_so_far + amount, max(filter(None, (when, created))))
        for order_id in counted.values():
            refunds.setdefault(order_id, (Decimal(0), None))
    with_items = defaultdict(Decimal)
    for order_id, refunded, modified in TransactionItem.objects.filter(
        order_id__in=order_ids
    ).values_list("order_id", "refunded_value", "modified_at"):
        seen(order_id, modified)
        if order_id not in refunds:  # no payment counts: the transactions do
            with_items[order_id] += refunded
    refunded_items = {order_id: amount for order_id, amount in with_items.items() if amount}
    if refunded_items:
        latest = dict(
            TransactionEvent.objects.filter(
                transaction__order_id__in=list(refunded_items),
                type=TransactionEventType.REFUND_SUCCESS,
            )
            .values("transaction__order_id")
            .annotate(latest=Max("created_at"))
            .order_by()
            .values_list("transaction__order_id", "latest")
        )
        for order_id, amount in refunded_items.items():
            refunds[order_id] = (amount, latest.get(order_id))
    return refunds, changed


def read_customers(users) -> list[CustomerSnapshot]:
    """Read these Saleor users (a queryset, in its order) as snapshots: one query of values."""
    return [
        CustomerSnapshot(
            user_id=str(pk),
            email=email,
            joined_at=joined,
            updated_at=updated,
            email_confirmed=confirmed,
        )
        for pk, email, joined, updated, confirmed in users.values_list(
            "pk", "email", "date_joined", "updated_at", "is_confirmed"
        )
    ]


_USER_COLUMNS = attributes.UserColumns(
    model=User,
    first_name="first_name",
    last_name="last_name",
    country="default_shipping_address__country",
    country_area="default_shipping_address__country_area",
    city="default_shipping_address__city",
    metadata="metadata",
    private_metadata="private_metadata",
    customers=Q(is_staff=False),
)


class SaleorHost:
    """Saleor 3.23 as the store."""

    def config(self) -> CRMConfig:
        configuration = (
            PluginConfiguration.objects.filter(identifier=PLUGIN_ID)
            .values_list("configuration", flat=True)
            .first()
        )
        return parse_config(configuration or None)

    def plugin_active(self) -> bool:
        return PluginConfiguration.objects.filter(identifier=PLUGIN_ID, active=True).exists()

    def update_settings(self, change) -> CRMConfig:
        with allow_writer(), transaction.atomic():
            stored = (
                PluginConfiguration.objects.select_for_update()
                .filter(identifier=PLUGIN_ID, channel=None)
                .first()
            )
            saved = (stored.configuration if stored else None) or []
            values = dict(change(parse_config(saved or None)))
            # Checked first so the error names the field (Saleor's would be a bare message).
            config = parse_config({**{item["name"]: item.get("value") for item in saved}, **values})
            # Saleor's own path for its settings form: merge, validate, pre-save hooks, save.
            get_plugins_manager(allow_replica=False).save_plugin_configuration(
                PLUGIN_ID,
                None,
                {"configuration": [{"name": name, "value": v} for name, v in values.items()]},
            )
        return config

    def order_snapshots(self, order_ids: Iterable[str]) -> dict[str, OrderSnapshot]:
        ids = [str(i) for i in order_ids if _is_uuid(str(i))]
        snapshots, skipped = read_orders(Order.objects.non_draft().filter(pk__in=ids))
        for order_id, reason in skipped:
            logger.warning("CRM: order %s cannot be recorded: %s", order_id, reason)
        return {snapshot.order_id: snapshot for snapshot in snapshots}

    def customer_snapshots(self, user_ids: Iterable[str]) -> dict[str, CustomerSnapshot]:
        pks = [int(i) for i in map(str, user_ids) if i.isdigit()]
        snapshots = read_customers(User.objects.filter(pk__in=pks, is_staff=False))
        return {snapshot.user_id: snapshot for snapshot in snapshots}

    def changed_since(self, kind: str, since, after: str | None, limit: int) -> list:
        if kind == "order":
            return changed_page(Order.objects.non_draft(), "pk", since, after, limit)
        return changed_page(User.objects.filter(is_staff=False), "pk", since, after, limit)

    def order_count(self) -> int:
        return Order.objects.non_draft().count()

    def order_batches(self, cursor: str, batch_size: int, until: str = "") -> Iterator[Batch]:
        last = int(cursor or 0)
        orders = Order.objects.non_draft()
        if until:
            orders = orders.filter(number__lte=int(until))
        while True:
            numbers = list(
                orders.filter(number__gt=last)
                .order_by("number")
                .values_list("number", flat=True)[:batch_size]
            )
            if not numbers:
                return
            snapshots, skipped = read_orders(
                Order.objects.non_draft()
                .filter(number__gte=numbers[0], number__lte=numbers[-1])
                .order_by("number")
            )
            last = numbers[-1]
            yield Batch(snapshots, str(last), skipped)

    def customer_parts(self, parts: int) -> list[tuple[str, str]]:
        bounds = User.objects.filter(is_staff=False).aggregate(low=Min("pk"), high=Max("pk"))
        return split_keys(bounds["low"], bounds["high"], parts)

    def order_parts(self, parts: int) -> list[tuple[str, str]]:
        bounds = Order.objects.non_draft().aggregate(low=Min("number"), high=Max("number"))
        return split_keys(bounds["low"], bounds["high"], parts)

    def customer_batches(self, cursor: str, batch_size: int, until: str = "") -> Iterator[Batch]:
        last = int(cursor or 0)
        users = User.objects.filter(is_staff=False)
        if until:
            users = users.filter(pk__lte=int(until))
        while True:
            snapshots = read_customers(users.filter(pk__gt=last).order_by("pk")[:batch_size])
            if not snapshots:
                return
            last = snapshots[-1].user_id
            yield Batch(snapshots, last)

    def requester(self, request) -> Requester | None:
        return self.requester_from_token(get_token_from_request(request) or "")

    def ensure_dashboard_app(self, app_url: str, extensions: list) -> str:
        from saleor.app.models import App, AppExtension
        from saleor.app.types import AppType
        from saleor.permission.models import Permission

        from ..dashboard.app import APP_IDENTIFIER, APP_NAME

        def permissions(codes):
            names = [PERMISSIONS[code].codename for code in codes]
            return list(Permission.objects.filter(codename__in=names))

        with transaction.atomic():
            app, created = App.objects.get_or_create(
                identifier=APP_IDENTIFIER,
                defaults={"name": APP_NAME, "type": AppType.THIRDPARTY, "app_url": app_url},
            )
            app.name, app.type, app.app_url, app.is_active = (
                APP_NAME,
                AppType.THIRDPARTY,
                app_url,
                True,
            )
            app.save()
            wanted = set()
            for extension in extensions:
                wanted.add(extension.identifier)
                row, _ = AppExtension.objects.update_or_create(
                    app=app,
                    identifier=extension.identifier,
                    defaults={
                        "label": extension.label,
                        "url": extension.url,
                        "mount": extension.mount,
                        "target": extension.target,
                        "settings": extension.settings,
                    },
                )
                row.permissions.set(permissions(extension.permissions))
            app.permissions.set(
                permissions(sorted({code for e in extensions for code in e.permissions}))
            )
            app.extensions.exclude(identifier__in=wanted).delete()
        verb = "created" if created else "updated"
        return f"CRM App {verb} at {app_url} with {len(extensions)} extensions."

    def requester_from_token(self, token: str) -> Requester | None:
        """A staff or customer access token, or the Dashboard's app-extension token (its
        permissions narrowed to the extension's). A token that authenticates nobody (expired,
        forged, revoked, an inactive user's) raises `InvalidToken` with the error Saleor's API
        answers for it: PyJWT's error class name and Saleor's message."""
        if not token:
            return None
        try:
            payload = jwt_decode(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error), type(error).__name__) from error
        try:
            user = get_user_from_access_payload(payload)
        except jwt.PyJWTError as error:
            raise InvalidToken(_api_message(payload, error), type(error).__name__) from error
        except (KeyError, TypeError, AttributeError) as error:  # a JWT without a user's claims
            raise InvalidToken(UNUSABLE_TOKEN_MESSAGE) from error
        if user is None or not user.is_active:
            raise InvalidToken(NO_USER_MESSAGE)
        permissions = frozenset(code for code, perm in PERMISSIONS.items() if user.has_perm(perm))
        return Requester(user_id=str(user.pk), is_staff=user.is_staff, permissions=permissions)

    def customer_emails(self, profiles: Iterable) -> dict[int, str]:
        def user_emails(user_ids):
            pks = [int(u) for u in user_ids if u.isdigit()]
            users = User.objects.filter(pk__in=pks).values_list("pk", "email")
            return {str(pk): email for pk, email in users}

        def order_emails(order_ids):
            orders = Order.objects.filter(pk__in=order_ids).values_list("pk", "user_email")
            return {str(pk): email for pk, email in orders}

        return profile_emails(profiles, user_emails, order_emails)

    def user_contacts(self):
        # One LEFT JOIN over the address book; the phone as stored text (no parsing per row).
        return (
            User.objects.filter(is_staff=False)
            .annotate(
                crm_id=Cast("pk", TextField()),
                crm_email=F("email"),
                crm_first_name=Coalesce(NullIf("addresses__first_name", Value("")), "first_name"),
                crm_last_name=Coalesce(NullIf("addresses__last_name", Value("")), "last_name"),
                crm_phone=Cast("addresses__phone", TextField()),
                crm_postal_code=F("addresses__postal_code"),
            )
            .order_by()
            .values_list(*CONTACT_COLUMNS)
        )

    def order_contacts(self, order_ids: list[str]):
        # One array parameter of UUIDs (the primary key's type, so its index serves).
        pks = [uuid.UUID(pk) for pk in order_ids if _is_uuid(pk)]
        orders = Order.objects.filter(AnyOf("pk", pks))
        billing, shipping = (
            orders.annotate(
                crm_id=Cast("pk", TextField()),
                crm_email=F("user_email"),
                crm_first_name=F(f"{kind}__first_name"),
                crm_last_name=F(f"{kind}__last_name"),
                crm_phone=Cast(f"{kind}__phone", TextField()),
                crm_postal_code=F(f"{kind}__postal_code"),
            )
            .order_by()
            .values_list(*CONTACT_COLUMNS)
            for kind in ("billing_address", "shipping_address")
        )
        return billing.union(shipping, all=True)

    def find_customers(self, text: str, limit: int) -> tuple[list[str], list[str]]:
        # Saleor's `ilike` lookup (saleor.core.db.filters) is what its trigram GIN indexes on
        # email, first_name, last_name and order user_email serve; `icontains` would scan.
        users = User.objects.filter(
            Q(email__ilike=text) | Q(first_name__ilike=text) | Q(last_name__ilike=text),
            is_staff=False,
        ).values_list("pk", flat=True)[:limit]
        orders = Order.objects.filter(user__isnull=True, user_email__ilike=text).values_list(
            "pk", flat=True
        )[:limit]
        return [str(pk) for pk in users], [str(pk) for pk in orders]

    def users_where(self, attribute: str, values):
        return attributes.users_where(_USER_COLUMNS, self.config(), attribute, values)

    def user_sort_expression(self, attribute: str):
        return attributes.user_sort_expression(_USER_COLUMNS, self.config(), attribute)

    def user_values(self, attribute: str):
        return attributes.user_values(_USER_COLUMNS, self.config(), attribute)

    def user_details(self, user_ids: Iterable[str]) -> dict:
        return attributes.user_details(_USER_COLUMNS, self.config(), user_ids)

    def private_metadata(self, user_ids: Iterable[str], keys: Iterable[str]) -> dict:
        return attributes.private_metadata(_USER_COLUMNS, user_ids, keys)

    def issue_gift_card(self, user_id: str, amount, currency: str, note: str) -> str:
        user = User.objects.get(pk=int(user_id))
        card = GiftCard.objects.create(
            code=generate_promo_code(),
            currency=currency,
            initial_balance_amount=amount,
            current_balance_amount=amount,
            created_by=user,
            created_by_email=user.email,
            assigned_to=user,
            assigned_to_email=user.email,
            is_active=True,
        )
        gift_card_events.gift_card_issued_event(gift_card=card, user=user, app=None)
        gift_card_events.gift_card_note_added_event(
            gift_card=card, user=None, app=None, message=note
        )
        # Saleor's GIFT_CARD_CREATED webhooks and plugins, once the card is committed.
        transaction.on_commit(
            lambda: get_plugins_manager(allow_replica=False).gift_card_created(card)
        )
        return card.code

    def issue_voucher(
        self, user_id: str, percent, name: str, *, ends_at=None, single_use: bool = False
    ) -> str:
        voucher = Voucher.objects.create(
            type=VoucherType.ENTIRE_ORDER,
            name=name,
            discount_value_type=DiscountValueType.PERCENTAGE,
            end_date=ends_at,
            single_use=single_use,
        )
        code = generate_promo_code()
        VoucherCode.objects.create(voucher=voucher, code=code)
        VoucherChannelListing.objects.bulk_create(
            VoucherChannelListing(
                voucher=voucher,
                channel=channel,
                discount_value=percent,
                currency=channel.currency_code,
            )
            for channel in Channel.objects.all()
        )
        transaction.on_commit(
            lambda: get_plugins_manager(allow_replica=False).voucher_created(voucher, code)
        )
        return code

    def absolute_url(self, path: str) -> str:
        from saleor.core.utils import build_absolute_uri

        return build_absolute_uri(f"/plugins/global/{PLUGIN_ID}/{path.lstrip('/')}")

    def revoke_voucher(self, code: str) -> None:
        voucher_code = VoucherCode.objects.select_related("voucher").filter(code=code).first()
        if voucher_code is None:
            return
        voucher_code.is_active = False
        voucher_code.save(update_fields=["is_active"])
        voucher = voucher_code.voucher
        voucher.end_date = timezone.now()
        voucher.save(update_fields=["end_date"])
        transaction.on_commit(
            lambda: get_plugins_manager(allow_replica=False).voucher_updated(voucher, code)
        )

    def subscription_offers(self, variant_ids) -> dict:
        from saleor.product.models import ProductVariant

        from ..graphql.core.errors import decode_id
        from ..subscriptions.schedule import OFFER_KEY, ScheduleError, parse_offer

        wanted = {}  # key given -> variant pk or SKU
        for key in variant_ids:
            kind, pk = decode_id(key)
            wanted[key] = int(pk) if kind == "ProductVariant" and pk.isdigit() else None
        pks = [pk for pk in wanted.values() if pk is not None]
        skus = [key for key, pk in wanted.items() if pk is None]
        variants = ProductVariant.objects.filter(Q(pk__in=pks) | Q(sku__in=skus)).select_related(
            "product"
        )
        by_pk, by_sku = {}, {}
        for variant in variants:
            text = (variant.metadata or {}).get(OFFER_KEY) or (variant.product.metadata or {}).get(
                OFFER_KEY
            )
            if not text:
                continue
            try:
                intervals = parse_offer(text)
            except ScheduleError as error:
                logger.warning(
                    "CRM: %s of variant %s: %s", OFFER_KEY, variant.sku or variant.pk, error.message
                )
                continue
            by_pk[variant.pk] = intervals
            if variant.sku:
                by_sku[variant.sku] = intervals
        found = {}
        for key, pk in wanted.items():
            intervals = by_pk.get(pk) if pk is not None else by_sku.get(key)
            if intervals:
                found[key] = intervals
        return found

    def available_products(self, product_ids, channel: str) -> dict[str, str]:
        """Saleor's own rule for a shopper (`Product.objects.published_with_variants`: an
        active channel, a published listing, a variant priced there), and available for
        purchase now."""
        from saleor.channel.models import Channel
        from saleor.product.models import Product

        from ..graphql.core.errors import decode_id

        pks = {}
        for product_id in product_ids:
            kind, pk = decode_id(product_id)
            if kind == "Product" and pk.isdigit():
                pks[int(pk)] = product_id
        shop_channel = Channel.objects.filter(slug=channel).first()
        if not pks or shop_channel is None:
            return {}
        now = timezone.now()
        products = (
            Product.objects.published_with_variants(shop_channel)
            .filter(
                pk__in=list(pks),
                channel_listings__channel=shop_channel,
                channel_listings__available_for_purchase_at__lte=now,
            )
            .values_list("pk", "name")
        )
        return {pks[pk]: name for pk, name in products}

    def order_addresses(self, order_id: str) -> tuple[dict, dict]:
        order = (
            Order.objects.filter(pk=order_id)
            .select_related("shipping_address", "billing_address")
            .first()
        )
        if order is None:
            return {}, {}
        return _address_input(order.shipping_address), _address_input(order.billing_address)

    def find_renewal_order(self, key: str) -> str | None:
        found = (
            Order.objects.filter(private_metadata__contains={RENEWAL_KEY: key})
            .values_list("pk", flat=True)
            .first()
        )
        return str(found) if found else None

    def create_renewal_order(self, request) -> str:
        """Saleor's own path, in process, as the plugin's local App: checkoutCreate (lines,
        addresses) -> checkoutCustomerAttach -> checkoutDeliveryMethodUpdate (the first
        shipping method) -> [checkoutAddPromoCode: a gift card of the customer's points] ->
        orderCreateFromCheckout carrying the key; the rest is left unpaid."""
        from ..subscriptions.renewals import RenewalError

        user = User.objects.filter(pk=int(request.user_id), is_active=True).first()
        if user is None:
            raise RenewalError(f"the customer {request.user_id} has no active account")
        address = request.shipping_address or _address_input(user.default_shipping_address)
        if not address:
            raise RenewalError("the customer has no shipping address")
        billing = request.billing_address or _address_input(user.default_billing_address) or address
        created = _run(
            CHECKOUT_CREATE,
            {
                "input": {
                    "channel": request.channel,
                    "email": user.email,
                    "lines": [{"variantId": v, "quantity": q} for v, q in request.lines],
                    "shippingAddress": address,
                    "billingAddress": billing,
                }
            },
            "checkoutCreate",
        )
        checkout = created["checkout"]
        _run(
            CHECKOUT_ATTACH,
            {"id": checkout["id"], "customerId": graphene.Node.to_global_id("User", user.pk)},
            "checkoutCustomerAttach",
        )
        methods = checkout["shippingMethods"]
        if not methods:
            raise RenewalError("no shipping method delivers to the customer's address")
        delivered = _run(
            CHECKOUT_DELIVERY,
            {"id": checkout["id"], "method": methods[0]["id"]},
            "checkoutDeliveryMethodUpdate",
        )
        if request.pay_with_points is not None:
            total = Decimal(str(delivered["checkout"]["totalPrice"]["gross"]["amount"]))
            code = request.pay_with_points(total)
            if code:  # Saleor charges the gift card when it creates the order
                _run(CHECKOUT_PROMO, {"id": checkout["id"], "code": code}, "checkoutAddPromoCode")
        order = _run(
            ORDER_FROM_CHECKOUT,
            {
                "id": checkout["id"],
                "metadata": [{"key": k, "value": v} for k, v in request.metadata.items()],
                "private": [{"key": RENEWAL_KEY, "value": request.key}],
            },
            "orderCreateFromCheckout",
        )["order"]
        return str(graphene.Node.from_global_id(order["id"])[1])

    def set_customer_types(self, items: dict[str, tuple[str, str]]) -> int:
        types = {}
        for slug, name in sorted(set(items.values())):
            types[slug], _ = CustomerType.objects.get_or_create(slug=slug, defaults={"name": name})
        pks = [int(user_id) for user_id in items if user_id.isdigit()]
        changed = []
        with transaction.atomic():
            for user in User.objects.select_for_update().filter(pk__in=pks).order_by("pk"):
                wanted = types[items[str(user.pk)][0]]
                if user.customer_type_id != wanted.pk:
                    user.customer_type = wanted
                    changed.append(user)
            User.objects.bulk_update(changed, ["customer_type"])
        return len(changed)

    def staff_members(self, user_ids: Iterable[str]) -> dict:
        return attributes.staff_members(_USER_COLUMNS, user_ids)

    def personal_data(self, user_id: str | None, order_ids: Iterable[str]) -> dict:
        account = None
        if user_id and str(user_id).isdigit():
            user = (
                User.objects.filter(pk=int(user_id))
                .select_related("default_shipping_address", "default_billing_address")
                .prefetch_related("addresses")
                .first()
            )
            if user is not None:
                account = {
                    "email": user.email,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "is_active": user.is_active,
                    "is_confirmed": user.is_confirmed,
                    "date_joined": user.date_joined,
                    "language_code": user.language_code,
                    "note": user.note or "",
                    "external_reference": user.external_reference or "",
                    "default_shipping_address": _address_input(user.default_shipping_address),
                    "default_billing_address": _address_input(user.default_billing_address),
                    "addresses": [_address_input(address) for address in user.addresses.all()],
                    "metadata": user.metadata,
                    "private_metadata": user.private_metadata,
                }
        ids = [order_id for order_id in map(str, order_ids) if _is_uuid(order_id)]
        orders = Order.objects.filter(pk__in=ids).select_related(
            "shipping_address", "billing_address"
        )
        return {
            "account": account,
            "orders": {
                str(order.pk): {
                    "email": order.user_email,
                    "shipping_address": _address_input(order.shipping_address),
                    "billing_address": _address_input(order.billing_address),
                }
                for order in orders
            },
        }

    def user_global_id(self, user_id: str) -> str:
        return graphene.Node.to_global_id("User", user_id)

    def write_private_metadata(self, items: dict[str, dict[str, str]]) -> int:
        """Merge these keys into the users' private metadata; return how many users changed.

        One UPDATE a call, in SQL: the keys are merged (`||`) into what the user holds, only
        where a value differs, without loading the users or touching their `updated_at` (as
        `store_value_in_private_metadata` and `bulk_update` of the one field would not).
        """
        given = [
            (int(user_id), json.dumps(wanted))
            for user_id, wanted in items.items()
            if user_id.isdigit() and wanted
        ]
        return _merge_private_metadata(User, "int", given)

    def write_order_private_metadata(self, items: dict[str, dict[str, str]]) -> int:
        """`write_private_metadata` on Saleor's `Order` (UUID ids): an `updated_at` left alone
        keeps the catch-up sweep from reading the order again for our own write."""
        given = [
            (order_id, json.dumps(wanted))
            for order_id, wanted in items.items()
            if _is_uuid(order_id) and wanted
        ]
        return _merge_private_metadata(Order, "uuid", given)

    def order_shipping_names(self, order_ids) -> dict[str, str]:
        ids = [order_id for order_id in map(str, order_ids) if _is_uuid(order_id)]
        rows = Order.objects.filter(pk__in=ids).values_list(
            "pk", "shipping_address__first_name", "shipping_address__last_name"
        )
        names = {str(pk): " ".join(filter(None, (first, last))) for pk, first, last in rows}
        return {order_id: name for order_id, name in names.items() if name}

    def find_users(self, emails, external_ids=()) -> tuple[dict[str, str], dict[str, str]]:
        customers = User.objects.filter(is_staff=False)
        by_email = customers.filter(AnyOf("email", list(emails))).values_list("email", "pk")
        references = [reference for reference in external_ids if reference]
        by_reference = (
            customers.filter(external_reference__in=references).values_list(
                "external_reference", "pk"
            )
            if references
            else []
        )
        return (
            {email: str(pk) for email, pk in by_email},
            {reference: str(pk) for reference, pk in by_reference},
        )

    def create_customers(self, customers) -> dict[str, str]:
        """Saleor's `customerCreate` without its mutation: the default customer type, the
        address on the user and as both defaults, the search vector, the account-created
        event. No `customer_created` hook: the importer ingests the new users itself."""
        from saleor.account import events as account_events
        from saleor.account.models import Address
        from saleor.account.search import update_user_search_vector
        from saleor.account.utils import get_default_customer_type

        wanted = {customer.email: customer for customer in customers}
        with transaction.atomic():
            taken = set(User.objects.filter(email__in=list(wanted)).values_list("email", flat=True))
            new = [customer for email, customer in wanted.items() if email not in taken]
            if not new:
                return {}
            customer_type = get_default_customer_type()
            addresses = {
                customer.email: Address(
                    first_name=customer.address.get("firstName", ""),
                    last_name=customer.address.get("lastName", ""),
                    company_name=customer.address.get("companyName", ""),
                    street_address_1=customer.address.get("streetAddress1", ""),
                    street_address_2=customer.address.get("streetAddress2", ""),
                    city=customer.address.get("city", ""),
                    postal_code=customer.address.get("postalCode", ""),
                    country=customer.address.get("country", ""),
                    country_area=customer.address.get("countryArea", ""),
                    phone=customer.address.get("phone", "") or customer.phone,
                )
                for customer in new
                if customer.address
            }
            Address.objects.bulk_create(list(addresses.values()))
            users = []
            for customer in new:
                address = addresses.get(customer.email)
                user = User(
                    email=customer.email,
                    first_name=customer.first_name[:256],
                    last_name=customer.last_name[:256],
                    note=customer.note or None,
                    external_reference=customer.external_reference or None,
                    private_metadata=dict(customer.private_metadata),
                    default_shipping_address=address,
                    default_billing_address=address,
                    customer_type=customer_type,
                )
                user.set_unusable_password()
                users.append(user)
            User.objects.bulk_create(users)
            User.addresses.through.objects.bulk_create(
                [
                    User.addresses.through(user_id=user.pk, address_id=addresses[user.email].pk)
                    for user in users
                    if user.email in addresses
                ]
            )
            for user in users:
                update_user_search_vector(user, attach_addresses_data=user.email in addresses)
                account_events.customer_account_created_event(user=user)
        return {user.email: str(user.pk) for user in users}

    def create_orders_in_bulk(self, orders: list[dict]) -> list[dict]:
        from saleor.graphql.api import schema as saleor_schema
        from saleor.graphql.webhook.subscription_payload import initialize_request

        app = _import_app()
        context = initialize_request(app=app, requestor=app)
        context.app, context.user = app, None
        result = saleor_schema.execute(
            _ORDER_BULK_CREATE, variable_values={"orders": orders}, context_value=context
        )
        if result.errors:
            raise ValueError(f"orderBulkCreate: {result.errors[0]}")
        return [
            {
                "order_id": (
                    graphene.Node.from_global_id(row["order"]["id"])[1] if row["order"] else None
                ),
                "errors": row["errors"] or [],
            }
            for row in result.data["orderBulkCreate"]["results"]
        ]

    def database_access(self):
        return allow_writer()


__all__ = ["PLUGIN_ID", "SaleorHost", "read_customers", "read_orders"]

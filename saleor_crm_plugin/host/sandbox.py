"""The `Host` protocol on the sandbox store's own tables (`saleor_crm_plugin.sandbox`)."""

import base64
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min

from ..conf import CRMConfig, parse_config
from ..customers.search import profile_emails
from ..customers.snapshots import CustomerSnapshot, OrderSnapshot, order_from_dict
from ..expressions import AnyOf
from . import attributes
from .protocol import CONTACT_COLUMNS, Batch, InvalidToken, Requester, changed_page, split_keys

# Saleor's answer to a token of a user it does not have or who is inactive
# (`saleor.core.auth_backend.load_user_from_request`).
INVALID_TOKEN_MESSAGE = "Invalid token. User does not exist or is inactive."  # noqa: S105


def _user_snapshot(user) -> CustomerSnapshot:
    return CustomerSnapshot(
        user_id=str(user.pk),
        email=user.email,
        joined_at=user.date_joined,
        updated_at=user.updated_at,
    )


class SandboxHost:
    """The embedded default store: orders and users live in `SandboxOrder` / `SandboxUser`."""

    def config(self) -> CRMConfig:
        from ..sandbox.models import SandboxSettings

        stored = SandboxSettings.objects.filter(pk=1).values_list("values", flat=True).first() or {}
        return parse_config({**getattr(settings, "CRM_CONFIG", {}), **stored})

    def plugin_active(self) -> bool:
        return True

    def update_settings(self, change) -> CRMConfig:
        from ..sandbox.models import SandboxSettings

        SandboxSettings.objects.get_or_create(pk=1)  # one row; a racing creator gets it too
        with transaction.atomic():
            row = SandboxSettings.objects.select_for_update().get(pk=1)
            start = {**getattr(settings, "CRM_CONFIG", {}), **row.values}
            values = {**row.values, **change(parse_config(start))}
            config = parse_config({**getattr(settings, "CRM_CONFIG", {}), **values})
            row.values = values
            row.save()
        return config

    def order_snapshots(self, order_ids: Iterable[str]) -> dict[str, OrderSnapshot]:
        from ..sandbox.models import SandboxOrder

        rows = SandboxOrder.objects.filter(order_id__in=[str(i) for i in order_ids])
        return {
            order_id: order_from_dict(data)
            for order_id, data in rows.values_list("order_id", "data")
        }

    def customer_snapshots(self, user_ids: Iterable[str]) -> dict[str, CustomerSnapshot]:
        from ..sandbox.models import SandboxUser

        pks = [int(i) for i in map(str, user_ids) if i.isdigit()]
        users = SandboxUser.objects.filter(pk__in=pks, is_staff=False)
        return {str(user.pk): _user_snapshot(user) for user in users}

    def changed_since(self, kind: str, since, after: str | None, limit: int) -> list:
        from ..sandbox.models import SandboxOrder, SandboxUser

        if kind == "order":
            return changed_page(SandboxOrder.objects.all(), "order_id", since, after, limit)
        return changed_page(SandboxUser.objects.filter(is_staff=False), "pk", since, after, limit)

    def order_count(self) -> int:
        from ..sandbox.models import SandboxOrder

        return SandboxOrder.objects.count()

    def order_batches(self, cursor: str, batch_size: int, until: str = "") -> Iterator[Batch]:
        from ..sandbox.models import SandboxOrder

        last = int(cursor or 0)
        orders = SandboxOrder.objects.filter(pk__lte=int(until)) if until else SandboxOrder.objects
        while True:
            rows = list(
                orders.filter(pk__gt=last).order_by("pk").values_list("pk", "data")[:batch_size]
            )
            if not rows:
                return
            last = rows[-1][0]
            yield Batch([order_from_dict(data) for _, data in rows], str(last))

    def customer_parts(self, parts: int) -> list[tuple[str, str]]:
        from ..sandbox.models import SandboxUser

        users = SandboxUser.objects.filter(is_staff=False)
        bounds = users.aggregate(low=Min("pk"), high=Max("pk"))
        return split_keys(bounds["low"], bounds["high"], parts)

    def order_parts(self, parts: int) -> list[tuple[str, str]]:
        from ..sandbox.models import SandboxOrder

        bounds = SandboxOrder.objects.aggregate(low=Min("pk"), high=Max("pk"))
        return split_keys(bounds["low"], bounds["high"], parts)

    def customer_batches(self, cursor: str, batch_size: int, until: str = "") -> Iterator[Batch]:
        from ..sandbox.models import SandboxUser

        last = int(cursor or 0)
        users = SandboxUser.objects.filter(is_staff=False)
        if until:
            users = users.filter(pk__lte=int(until))
        while True:
            users_page = list(users.filter(pk__gt=last).order_by("pk")[:batch_size])
            if not users_page:
                return
            last = users_page[-1].pk
            yield Batch([_user_snapshot(user) for user in users_page], str(last))

    def requester(self, request) -> Requester | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.requester_from_token(token)

    def ensure_dashboard_app(self, app_url: str, extensions: list) -> str:
        pages = ", ".join(e.url for e in extensions)
        return f"The sandbox has no Dashboard; it serves the pages at {app_url} ({pages})."

    def requester_from_token(self, token: str) -> Requester | None:
        """The user whose API token this is (opaque, issued by the sandbox); an unknown token
        or an inactive user's is refused with Saleor's message for a user it cannot find."""
        from ..sandbox.models import SandboxUser

        if not str(token or "").strip():
            return None
        user = SandboxUser.objects.filter(api_token=token.strip(), is_active=True).first()
        if user is None:
            raise InvalidToken(INVALID_TOKEN_MESSAGE, "InvalidTokenError")
        permissions = frozenset(user.permissions) if user.is_staff else frozenset()
        return Requester(user_id=str(user.pk), is_staff=user.is_staff, permissions=permissions)

    def customer_emails(self, profiles: Iterable) -> dict[int, str]:
        from ..sandbox.models import SandboxOrder, SandboxUser

        def user_emails(user_ids):
            pks = [int(u) for u in user_ids if u.isdigit()]
            users = SandboxUser.objects.filter(pk__in=pks).values_list("pk", "email")
            return {str(pk): email for pk, email in users}

        def order_emails(order_ids):
            orders = SandboxOrder.objects.filter(order_id__in=order_ids)
            return dict(orders.values_list("order_id", "email"))

        return profile_emails(profiles, user_emails, order_emails)

    def user_contacts(self):
        """The sandbox store keeps no address book: a user's `phone` and `postal_code`
        metadata keys play its one address."""
        from django.db.models import F, TextField
        from django.db.models.fields.json import KeyTextTransform
        from django.db.models.functions import Cast

        from ..sandbox.models import SandboxUser

        return (
            SandboxUser.objects.filter(is_staff=False)
            .annotate(
                crm_id=Cast("pk", TextField()),
                crm_email=F("email"),
                crm_first_name=F("first_name"),
                crm_last_name=F("last_name"),
                crm_phone=KeyTextTransform("phone", "metadata"),
                crm_postal_code=KeyTextTransform("postal_code", "metadata"),
            )
            .order_by()
            .values_list(*CONTACT_COLUMNS)
        )

    def order_contacts(self, order_ids: list[str]):
        """The sandbox store keeps no addresses: an order's email and its user's name."""
        from django.db.models import CharField, F, Value

        from ..sandbox.models import SandboxOrder

        return (
            SandboxOrder.objects.filter(AnyOf("order_id", order_ids))
            .annotate(
                crm_id=F("order_id"),
                crm_email=F("email"),
                crm_first_name=F("user__first_name"),
                crm_last_name=F("user__last_name"),
                crm_phone=Value(None, output_field=CharField()),
                crm_postal_code=Value(None, output_field=CharField()),
            )
            .order_by()
            .values_list(*CONTACT_COLUMNS)
        )

    def find_customers(self, text: str, limit: int) -> tuple[list[str], list[str]]:
        from django.db.models import Q

        from ..sandbox.models import SandboxOrder, SandboxUser

        users = SandboxUser.objects.filter(
            Q(email__icontains=text) | Q(first_name__icontains=text) | Q(last_name__icontains=text),
            is_staff=False,
        ).values_list("pk", flat=True)[:limit]
        orders = SandboxOrder.objects.filter(user__isnull=True, email__icontains=text).values_list(
            "order_id", flat=True
        )[:limit]
        return [str(pk) for pk in users], list(orders)

    def _columns(self) -> attributes.UserColumns:
        from django.db.models import Q

        from ..sandbox.models import SandboxUser

        return attributes.UserColumns(
            model=SandboxUser,
            first_name="first_name",
            last_name="last_name",
            country="country",
            country_area="country_area",
            city="city",
            metadata="metadata",
            private_metadata="private_metadata",
            customers=Q(is_staff=False),
        )

    def users_where(self, attribute: str, values):
        return attributes.users_where(self._columns(), self.config(), attribute, values)

    def user_sort_expression(self, attribute: str):
        return attributes.user_sort_expression(self._columns(), self.config(), attribute)

    def user_values(self, attribute: str):
        return attributes.user_values(self._columns(), self.config(), attribute)

    def user_details(self, user_ids: Iterable[str]) -> dict:
        return attributes.user_details(self._columns(), self.config(), user_ids)

    def private_metadata(self, user_ids: Iterable[str], keys: Iterable[str]) -> dict:
        return attributes.private_metadata(self._columns(), user_ids, keys)

    def issue_gift_card(self, user_id: str, amount, currency: str, note: str) -> str:
        from ..sandbox.models import SandboxGiftCard, SandboxUser

        card = SandboxGiftCard.objects.create(
            code=SandboxGiftCard.new_code(),
            user=SandboxUser.objects.get(pk=int(user_id)),
            currency=currency,
            initial_balance_amount=amount,
            current_balance_amount=amount,
            note=note[:255],
        )
        return card.code

    def issue_voucher(
        self, user_id: str, percent, name: str, *, ends_at=None, single_use: bool = False
    ) -> str:
        # The sandbox store's vouchers keep no end or use limit; the CRM's send ledger keeps
        # when a campaign's code ends.
        from ..sandbox.models import SandboxGiftCard, SandboxUser, SandboxVoucher

        voucher = SandboxVoucher.objects.create(
            code=SandboxGiftCard.new_code(),
            user=SandboxUser.objects.get(pk=int(user_id)),
            name=name[:255],
            percent=percent,
        )
        return voucher.code

    def absolute_url(self, path: str) -> str:
        from django.conf import settings

        base = getattr(settings, "CRM_PUBLIC_URL", "http://127.0.0.1:8000/")
        return f"{base.rstrip('/')}/{path.lstrip('/')}"

    def revoke_voucher(self, code: str) -> None:
        from ..sandbox.models import SandboxVoucher

        SandboxVoucher.objects.filter(code=code).update(is_active=False)

    def subscription_offers(self, variant_ids) -> dict:
        return {}  # the sandbox store has no catalog: the setting alone offers intervals

    def available_products(self, product_ids, channel: str) -> dict[str, str]:
        from ..sandbox.models import SandboxProduct

        return {
            product_id: name
            for product_id, name, channels in SandboxProduct.objects.filter(
                product_id__in=list(product_ids)
            ).values_list("product_id", "name", "channels")
            if channel in channels
        }

    def order_addresses(self, order_id: str) -> tuple[dict, dict]:
        return {}, {}  # the sandbox store keeps no addresses (its renewals need none)

    def order_shipping_names(self, order_ids) -> dict[str, str]:
        """The sandbox store keeps no addresses: the name of the order's customer."""
        from ..sandbox.models import SandboxOrder

        rows = SandboxOrder.objects.filter(order_id__in=[str(i) for i in order_ids]).values_list(
            "order_id", "user__first_name", "user__last_name"
        )
        names = {order_id: " ".join(filter(None, (first, last))) for order_id, first, last in rows}
        return {order_id: name for order_id, name in names.items() if name}

    def find_renewal_order(self, key: str) -> str | None:
        from ..sandbox.models import SandboxOrder

        return SandboxOrder.objects.filter(order_id=key).values_list("order_id", flat=True).first()

    def create_renewal_order(self, request) -> str:
        """The sandbox store has no catalog: a line costs what the subscription last paid for it,
        else what a recent order of the variant in that currency did."""
        from django.utils import timezone

        from ..customers.snapshots import LineSnapshot, OrderStatus
        from ..sandbox.models import SandboxGiftCard, SandboxOrder, SandboxUser
        from ..subscriptions.renewals import RenewalError

        user = SandboxUser.objects.filter(pk=int(request.user_id)).first()
        if user is None or not user.is_active:
            raise RenewalError(f"the customer {request.user_id} has no active account")
        known = {}
        if any(variant not in request.prices for variant, _ in request.lines):
            recent = SandboxOrder.objects.order_by("-placed_at").values_list("data", flat=True)
            for data in recent[:2000]:
                for line in data.get("lines", ()):
                    if data["currency"] == request.currency:
                        known.setdefault(line.get("variant_id"), line)
        lines = []
        for index, (variant_id, quantity) in enumerate(request.lines):
            line = known.get(variant_id, {})
            price = request.prices.get(variant_id, line.get("unit_price_gross"))
            if price is None:
                raise RenewalError(f"variant {variant_id} is not sold in {request.currency}")
            lines.append(
                LineSnapshot(
                    line_id=f"{request.key}-{index + 1}",
                    quantity=quantity,
                    unit_price_gross=Decimal(price),
                    product_name=line.get("product_name", ""),
                    sku=line.get("sku"),
                    variant_id=variant_id,
                )
            )
        if not lines:
            raise RenewalError("the cycle has no lines to order")
        total = sum((line.unit_price_gross * line.quantity for line in lines), Decimal(0))
        paid = Decimal(0)
        code = request.pay_with_points(total) if request.pay_with_points else None
        if code:  # the gift card of points pays what it covers
            card = SandboxGiftCard.objects.select_for_update().get(code=code)
            paid = min(card.current_balance_amount, total)
            card.current_balance_amount -= paid
            card.save(update_fields=["current_balance_amount"])
        now = timezone.now()
        snapshot = OrderSnapshot(
            order_id=request.key,
            channel=request.channel,
            currency=request.currency,
            status=OrderStatus.UNFULFILLED,
            placed_at=now,
            updated_at=now,
            total_gross=total,
            paid_amount=paid,
            paid_at=now if paid else None,
            user_id=request.user_id,
            email=user.email,
            lines=tuple(lines),
        )
        SandboxOrder.from_snapshot(snapshot, user).save()
        return request.key

    def set_customer_types(self, items: dict[str, tuple[str, str]]) -> int:
        from ..sandbox.models import SandboxUser

        pks = [int(user_id) for user_id in items if user_id.isdigit()]
        changed = []
        for user in SandboxUser.objects.filter(pk__in=pks):
            slug = items[str(user.pk)][0]
            if user.customer_type != slug:
                user.customer_type = slug
                changed.append(user)
        SandboxUser.objects.bulk_update(changed, ["customer_type"])
        return len(changed)

    def staff_members(self, user_ids: Iterable[str]) -> dict:
        return attributes.staff_members(self._columns(), user_ids)

    def personal_data(self, user_id: str | None, order_ids: Iterable[str]) -> dict:
        from ..sandbox.models import SandboxOrder, SandboxUser

        account = None
        user = None
        if user_id and str(user_id).isdigit():
            user = SandboxUser.objects.filter(pk=int(user_id), is_staff=False).first()
        if user is not None:
            address = {
                key: value
                for key, value in (
                    ("city", user.city),
                    ("country", user.country),
                    ("countryArea", user.country_area),
                )
                if value
            }
            account = {
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "is_active": user.is_active,
                "is_confirmed": True,
                "date_joined": user.date_joined,
                "default_shipping_address": address,
                "metadata": user.metadata,
                "private_metadata": user.private_metadata,
            }
        orders = SandboxOrder.objects.filter(order_id__in=[str(i) for i in order_ids])
        return {
            "account": account,
            "orders": {
                order_id: {"email": email, "shipping_address": {}, "billing_address": {}}
                for order_id, email in orders.values_list("order_id", "email")
            },
        }

    def user_global_id(self, user_id: str) -> str:
        return base64.b64encode(f"User:{user_id}".encode()).decode()

    def write_private_metadata(self, items: dict[str, dict[str, str]]) -> int:
        from ..sandbox.models import SandboxUser

        pks = [int(user_id) for user_id in items if user_id.isdigit()]
        with transaction.atomic():
            changed = []
            for user in SandboxUser.objects.select_for_update().filter(pk__in=pks).order_by("pk"):
                wanted = items[str(user.pk)]
                if any(user.private_metadata.get(key) != value for key, value in wanted.items()):
                    user.private_metadata = {**user.private_metadata, **wanted}
                    changed.append(user)
            SandboxUser.objects.bulk_update(changed, ["private_metadata"])
        return len(changed)

    def write_order_private_metadata(self, items: dict[str, dict[str, str]]) -> int:
        from ..sandbox.models import SandboxOrder

        with transaction.atomic():
            changed = []
            for order in (
                SandboxOrder.objects.select_for_update()
                .filter(order_id__in=list(items))
                .order_by("pk")
            ):
                wanted = items[order.order_id]
                if any(order.private_metadata.get(key) != value for key, value in wanted.items()):
                    order.private_metadata = {**order.private_metadata, **wanted}
                    changed.append(order)
            SandboxOrder.objects.bulk_update(changed, ["private_metadata"])
        return len(changed)

    # The sandbox store's users have no external-reference column: it is kept in their
    # private metadata under this key.
    EXTERNAL_REFERENCE_KEY = "external_reference"

    def find_users(self, emails, external_ids=()) -> tuple[dict[str, str], dict[str, str]]:
        from ..sandbox.models import SandboxUser

        customers = SandboxUser.objects.filter(is_staff=False)
        by_email = customers.filter(AnyOf("email", list(emails))).values_list("email", "pk")
        references = [reference for reference in external_ids if reference]
        found = {}
        if references:
            key = f"private_metadata__{self.EXTERNAL_REFERENCE_KEY}"
            found = {
                reference: str(pk)
                for pk, reference in customers.filter(**{f"{key}__in": references}).values_list(
                    "pk", key
                )
            }
        return {email: str(pk) for email, pk in by_email}, found

    def create_customers(self, customers) -> dict[str, str]:
        """The sandbox store keeps the name, the address's country, area and city, and the
        private metadata (the external reference too); not the street, postal code or phone."""
        from django.utils import timezone

        from ..rows import add_rows
        from ..sandbox.models import SandboxUser

        wanted = {customer.email: customer for customer in customers}
        now = timezone.now()
        rows = []
        for email, customer in wanted.items():
            private = dict(customer.private_metadata)
            if customer.external_reference:
                private[self.EXTERNAL_REFERENCE_KEY] = customer.external_reference
            rows.append(
                (
                    email,
                    customer.first_name[:256],
                    customer.last_name[:256],
                    customer.address.get("country", ""),
                    customer.address.get("countryArea", "")[:128],
                    customer.address.get("city", "")[:256],
                    {},
                    private,
                    False,
                    True,
                    [],
                    "",
                    now,
                    now,
                )
            )
        with transaction.atomic():
            before = dict(
                SandboxUser.objects.filter(email__in=list(wanted)).values_list("email", "pk")
            )
            add_rows(
                SandboxUser,
                [
                    "email",
                    "first_name",
                    "last_name",
                    "country",
                    "country_area",
                    "city",
                    "metadata",
                    "private_metadata",
                    "is_staff",
                    "is_active",
                    "permissions",
                    "customer_type",
                    "date_joined",
                    "updated_at",
                ],
                [row for row in rows if row[0] not in before],
                unique=["email"],
                update=[],
            )
            created = SandboxUser.objects.filter(
                email__in=[email for email in wanted if email not in before]
            ).values_list("email", "pk")
        return {email: str(pk) for email, pk in created}

    def create_orders_in_bulk(self, orders: list[dict]) -> list[dict]:
        """The sandbox store has no `orderBulkCreate`: its history comes from
        `saleor-crm import orders.csv`. Every order is answered with that error."""
        message = "the sandbox store imports orders with `saleor-crm import orders.csv`"
        return [
            {"order_id": None, "errors": [{"path": "", "code": "INVALID", "message": message}]}
            for _ in orders
        ]

    def database_access(self):
        return nullcontext()

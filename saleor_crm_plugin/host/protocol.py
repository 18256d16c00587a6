"""What the engines need from a store. The Saleor adapter and the sandbox both implement it."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..conf import CRMConfig
from ..customers.snapshots import CustomerSnapshot, OrderSnapshot

__all__ = [
    "CONTACT_COLUMNS",
    "MANAGE_ORDERS",
    "MANAGE_PLUGINS",
    "MANAGE_USERS",
    "Batch",
    "Host",
    "InvalidToken",
    "NewCustomer",
    "Requester",
    "changed_page",
]

# Saleor's permission codes (`AccountPermissions.MANAGE_USERS.codename` upper-cased), as in
# its GraphQL `PermissionEnum`.
MANAGE_USERS = "MANAGE_USERS"
# Writing the plugin's settings (Saleor guards its plugin settings form with it).
MANAGE_PLUGINS = "MANAGE_PLUGINS"
# Orders' fulfilment data (package inserts, the picking list): what Saleor's order pages need.
MANAGE_ORDERS = "MANAGE_ORDERS"
# What `Host.user_contacts` and `Host.order_contacts` select, in this order (all text).
CONTACT_COLUMNS = (
    "crm_id",
    "crm_email",
    "crm_first_name",
    "crm_last_name",
    "crm_phone",
    "crm_postal_code",
)


@dataclass(frozen=True)
class Requester:
    """Who is calling: a customer (`user_id`), a staff user, or an app acting for one."""

    user_id: str | None
    is_staff: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)

    def has_permission(self, code: str) -> bool:
        return code in self.permissions

    @property
    def actor(self) -> str:
        """How audit records name the requester: `staff:<id>`, `user:<id>` or `…:app`."""
        return f"{'staff' if self.is_staff else 'user'}:{self.user_id or 'app'}"


class InvalidToken(Exception):
    """A request carried a token that authenticates nobody: expired, forged, revoked, unknown,
    or an inactive user's. `code` is the name of the error Saleor answers for it (PyJWT's
    `ExpiredSignatureError`, `InvalidSignatureError`, `DecodeError`, `InvalidTokenError`...),
    the message its text."""

    def __init__(self, message: str, code: str = "InvalidTokenError"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Batch:
    """One page of a backfill: the snapshots and the cursor that resumes after them.

    `skipped` lists (store id, reason) of records the store holds but no snapshot can be
    made of (a backfill reports them instead of stopping).
    """

    snapshots: list
    cursor: str
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class NewCustomer:
    """A customer to create in the store (an import): plain values, personal data included,
    which only the store keeps."""

    email: str  # normalised (`imports.files.normalise_email`)
    first_name: str = ""
    last_name: str = ""
    # The default shipping and billing address as Saleor's AddressInput keys ({}: none).
    address: dict = field(default_factory=dict)
    phone: str = ""  # kept on the address (Saleor's users have no phone of their own)
    note: str = ""
    external_reference: str = ""
    private_metadata: dict = field(default_factory=dict)  # string values


@runtime_checkable
class Host(Protocol):
    """A store the CRM reads from and writes its effects to."""

    def config(self) -> CRMConfig:
        """Return the plugin's current configuration."""

    def plugin_active(self) -> bool:
        """Whether the store has the plugin switched on (the sandbox always has)."""

    def update_settings(self, change: Callable[[CRMConfig], Mapping[str, str]]) -> CRMConfig:
        """Write some of the plugin's settings, as its settings form would, and return the new
        configuration. In one transaction, with the stored settings locked: `change(current)`
        returns the values to write (or raises, and nothing is written); the whole result is
        validated (`ConfigError` names the first wrong field). Other settings are kept."""

    def order_snapshots(self, order_ids: Iterable[str]) -> dict[str, OrderSnapshot]:
        """Return the current state of these orders, by id, read in bulk (one query set for
        any number). Orders the store does not have, or cannot read as snapshots (logged),
        are left out."""

    def customer_snapshots(self, user_ids: Iterable[str]) -> dict[str, CustomerSnapshot]:
        """Return the current state of these customers, by user id, read in bulk. Users the
        store does not have, and staff (a staff account is not a customer; its own orders
        still count), are left out."""

    def changed_since(
        self, kind: str, since: datetime, after: str | None, limit: int
    ) -> list[tuple[datetime, str]]:
        """Return (updated_at, id) of the orders (`kind` "order") or customers ("customer")
        changed at or after `since`, in (updated_at, id) order, at most `limit`; with `after`,
        only those past (since, after) (the previous page's last row). One indexed query."""

    def order_count(self) -> int:
        """Return how many orders a full backfill reads (for its progress bar)."""

    def order_batches(self, cursor: str, batch_size: int, until: str = "") -> Iterator[Batch]:
        """Yield the store's orders after `cursor` ("" = from the start) in a stable order, up
        to and including the cursor `until` ("" = to the last)."""

    def order_parts(self, parts: int) -> list[tuple[str, str]]:
        """Split the orders into at most `parts` parts of about the same size, for backfill
        processes: (cursor, until) of each, as `order_batches` takes them, in order."""

    def customer_batches(self, cursor: str, batch_size: int, until: str = "") -> Iterator[Batch]:
        """Yield the store's registered customers after `cursor` in a stable order, up to and
        including the cursor `until` ("" = to the last)."""

    def customer_parts(self, parts: int) -> list[tuple[str, str]]:
        """`order_parts` for the registered customers."""

    def requester(self, request) -> Requester | None:
        """Authenticate an HTTP request: None when it carries no token (anonymous); raise
        `InvalidToken` when it carries one that authenticates nobody."""

    def ensure_dashboard_app(self, app_url: str, extensions: list) -> str:
        """Make the store's Dashboard show the CRM pages (`dashboard.app`), idempotently;
        return what it did, for the command's output."""

    def requester_from_token(self, token: str) -> Requester | None:
        """Authenticate a bare token (a Dashboard widget's form field): None when it is empty;
        raise `InvalidToken` when it authenticates nobody."""

    def customer_emails(self, profiles: Iterable) -> dict[int, str]:
        """Return the email of each profile (by profile pk) as the store keeps it."""

    def user_contacts(self):
        """Every customer's contact facts, for the duplicate search: a queryset of the
        columns `CONTACT_COLUMNS` in that order, `crm_id` being the user id as text.

        One row per user and address book entry (one with no address when there is none);
        the address's names when it has them, else the user's; the phone as stored. The
        CRM joins it with its profiles and reads the result in bulk (one query, no model
        instances).
        """

    def order_contacts(self, order_ids: list[str]):
        """The contact facts of these orders (guests' latest, hundreds of thousands of them):
        a queryset of `CONTACT_COLUMNS`, `crm_id` being the order id as text, a row per
        billing and shipping address; orders the store no longer has are left out."""

    def find_customers(self, text: str, limit: int) -> tuple[list[str], list[str]]:
        """Find customers whose email or name contains `text` (case-insensitive).

        Returns (user ids, order ids of guest orders whose email matches), each at most
        `limit` long.
        """

    def users_where(self, attribute: str, values):
        """Return a subquery of the ids (as text) of customers whose attribute matches.

        See `host.attributes` for the attributes: address parts take a list of values,
        `marketing_consent` takes True. The CRM combines it with its own tables in one query.
        """

    def user_sort_expression(self, attribute: str):
        """Return an expression giving each `CustomerProfile`'s user attribute, to sort by."""

    def user_values(self, attribute: str):
        """Return a subquery of (`crm_id`: user id as text, `crm_value`) of the users who have
        the attribute, to join with the profiles (the campaign facts read every customer)."""

    def user_details(self, user_ids: Iterable[str]) -> dict:
        """Return what the customer list shows of each user (`attributes.UserDetails`)."""

    def staff_members(self, user_ids: Iterable[str]) -> dict:
        """Return the email and name of each of these users (`attributes.StaffMember`), by user
        id, in one query; users the store no longer has are left out."""

    def personal_data(self, user_id: str | None, order_ids: Iterable[str]) -> dict:
        """What the store holds of one person, for their data-subject export, in a few queries:
        `{"account": {...} | None, "orders": {order id: {"email", "shipping_address",
        "billing_address"}}}`. The account (with `user_id`; None for a guest or a user the store
        no longer has): email, names, whether active and confirmed, when joined, language,
        note, addresses, metadata. Addresses as Saleor's AddressInput fields. Orders the store
        does not have are left out."""

    def user_global_id(self, user_id: str) -> str:
        """Return the store's GraphQL ID of a user (Saleor's `User:<pk>` in base64)."""

    def private_metadata(self, user_ids: Iterable[str], keys: Iterable[str]) -> dict:
        """Return {user id: {key: value}} of these keys in each user's *private* metadata.

        Only private metadata: staff and apps write it, the customer cannot (a value that earns
        points, such as a linked messaging account or a birth date, is read from it alone).
        """

    def issue_gift_card(self, user_id: str, amount, currency: str, note: str) -> str:
        """Create a gift card of `amount` `currency` assigned to the user (only they can use it
        at checkout), inside the caller's transaction; return its code.
        """

    def issue_voucher(
        self, user_id: str, percent, name: str, *, ends_at=None, single_use: bool = False
    ) -> str:
        """Create a voucher of `percent` % off the whole order in every channel, with one new
        code (the customer's own, to keep), inside the caller's transaction; return the code.
        `ends_at`: it stops working then; `single_use`: the code works for one order.
        """

    def absolute_url(self, path: str) -> str:
        """The public URL of one of the plugin's pages (`path` below the plugin's root), as a
        link in an email must carry it."""

    def revoke_voucher(self, code: str) -> None:
        """Deactivate a code `issue_voucher` returned (it ends now); unknown codes are ignored."""

    def subscription_offers(self, variant_ids: Iterable[str]) -> dict:
        """The intervals the store's catalog offers for these variants (IDs or SKUs), from the
        `crm.subscription_intervals` metadata of the variant, else of its product; variants
        without it are left out."""

    def available_products(self, product_ids: Iterable[str], channel: str) -> dict[str, str]:
        """Of these products (IDs as the ledger's lines hold them), those a shopper of the
        channel can buy now (published, available for purchase, a variant priced in the
        channel), with their names: all a storefront may be offered."""

    def order_addresses(self, order_id: str) -> tuple[dict, dict]:
        """The order's shipping and billing addresses as Saleor's AddressInput fields ({}:
        none)."""

    def order_shipping_names(self, order_ids: Iterable[str]) -> dict[str, str]:
        """The name on each order's shipping address ("first last"), by order id, read in one
        query (a picking list of any length); orders without a name are left out."""

    def find_renewal_order(self, key: str) -> str | None:
        """The id of the order carrying this renewal idempotency key, if the store has one."""

    def create_renewal_order(self, request) -> str:
        """Create a subscription's renewal order through the store's own order creation (its
        stock, prices, taxes and webhooks), carrying `request.key`; left unpaid for the store's
        payment flow. Return its id, or raise `subscriptions.renewals.RenewalError` saying why.
        """

    def set_customer_types(self, items: dict[str, tuple[str, str]]) -> int:
        """Give each user (by id) the Customer Type (slug, name), created when missing, without
        the store's mutations; return how many users changed.
        """

    def write_private_metadata(self, items: dict[str, dict[str, str]]) -> int:
        """Merge string values into users' private metadata (staff see them in Dashboard).

        `items` maps user id -> {key: value}. Only users whose values differ are written, in
        one locked batch, without the store's hooks and without touching `updated_at`.
        Unknown users are skipped. Returns how many users were written.
        """

    def write_order_private_metadata(self, items: dict[str, dict[str, str]]) -> int:
        """Merge string values into orders' private metadata (staff see them on the order's
        page in Dashboard), as `write_private_metadata` does for users: `items` maps order id
        -> {key: value}; only orders whose values differ are written, in one statement,
        without the store's hooks and without touching `updated_at`. Unknown orders are
        skipped. Returns how many orders were written.
        """

    def find_users(
        self, emails: Iterable[str], external_ids: Iterable[str] = ()
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Return ({email: user id}, {external reference: user id}) of the store's customers
        with these normalised emails or these external references (the old system's ids), in
        one query each. Staff accounts are left out."""

    def create_customers(self, customers: list[NewCustomer]) -> dict[str, str]:
        """Create these customers (`NewCustomer`) in the store with its own model and
        defaults, without its mutations' hooks: the user, the address (default shipping and
        billing), the private metadata. Return {email: user id} of those created; an email the
        store already has is skipped and left as it is. The CRM profiles come afterwards
        through ingestion (`customer_snapshots`)."""

    def create_orders_in_bulk(self, orders: list[dict]) -> list[dict]:
        """Create historical orders through the store's own bulk import (Saleor's
        `orderBulkCreate`, `OrderBulkCreateInput` dicts, with the CRM's own App as requestor),
        so the store's rules and its `order_bulk_created` event apply. Return one result per
        order: {"order_id": id or None, "errors": [{"path", "code", "message"}, ...]}."""

    def database_access(self) -> AbstractContextManager:
        """Return a context in which the CRM may read and write the primary database.

        Saleor restricts its writer connection outside `allow_writer()` (an error in its
        tests, a logged warning in production); every CRM entry point (task, view, command)
        runs inside this context.
        """


def changed_page(rows, id_field: str, since: datetime, after: str | None, limit: int) -> list:
    """`Host.changed_since` on a queryset of rows with `updated_at` (both hosts use it)."""
    from django.db.models import Q

    rows = rows.filter(updated_at__gte=since)
    if after is not None:
        rows = rows.filter(Q(updated_at__gt=since) | Q(**{f"{id_field}__gt": after}))
    page = rows.order_by("updated_at", id_field).values_list("updated_at", id_field)[:limit]
    return [(at, str(object_id)) for at, object_id in page]


def split_keys(low: int | None, high: int | None, parts: int) -> list[tuple[str, str]]:
    """`Host.order_parts` for integer keys from `low` to `high`: even spans of keys, as
    (cursor after which a part starts, its last key); the first part starts at the start."""
    if low is None or high is None:
        return []
    parts = max(1, min(parts, high - low + 1))
    step = (high - low + 1) / parts
    ends = [low - 1 + round(step * (index + 1)) for index in range(parts)]
    starts = ["", *(str(end) for end in ends[:-1])]
    return list(zip(starts, (str(end) for end in ends), strict=True))


_host = None


def get_host() -> Host:
    """Return the configured host: `settings.CRM_HOST` (a dotted path) or Saleor's adapter."""
    global _host
    if _host is None:
        from django.conf import settings
        from django.utils.module_loading import import_string

        path = getattr(settings, "CRM_HOST", "saleor_crm_plugin.host.saleor.SaleorHost")
        _host = import_string(path)()
    return _host


def reset_host() -> None:
    """Forget the cached host (tests that switch settings call this)."""
    global _host
    _host = None

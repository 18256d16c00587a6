"""Plain snapshots of a store's orders and customers: what sources hand to ingestion.

Pure: no Django, no Saleor. A snapshot is the *current state* of an order or customer as the
source read it at `updated_at`; ingestion keeps the newest one it has seen, so snapshots may
arrive twice and in any order.
"""

import enum
import hashlib
import hmac
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from ..errors import FieldError
from ..money import quantize_amount, validate_currency

__all__ = [
    "CustomerSnapshot",
    "LineSnapshot",
    "OrderSnapshot",
    "OrderStatus",
    "SnapshotError",
    "email_digest",
    "normalize_email",
]


class SnapshotError(FieldError):
    """A snapshot field is wrong; `field` names it."""


class OrderStatus(enum.StrEnum):
    """Saleor's order statuses (`saleor.order.OrderStatus`), spelled as identifiers."""

    DRAFT = "draft"
    UNCONFIRMED = "unconfirmed"
    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @classmethod
    def parse(cls, value: str) -> "OrderStatus":
        """Accept Saleor's spelling ("partially fulfilled") as well as ours."""
        key = str(value).strip().lower().replace(" ", "_").replace("-", "_")
        if key == "cancelled":
            key = "canceled"
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise SnapshotError("status", f"'{value}' is not an order status ({names})") from None


# Statuses in which an order was never placed or no longer stands.
NOT_PLACED = frozenset({OrderStatus.DRAFT, OrderStatus.EXPIRED})


def paid_in_full(status: str, total: Decimal, paid: Decimal, refunded: Decimal) -> bool:
    """Placed and paid in full: what was charged (and given back since) covers the total.

    The one statement of the rule (`loyalty.membership.paid_in_full` is its SQL filter)."""
    return OrderStatus(status) not in NOT_PLACED and total > 0 and paid + refunded >= total


def normalize_email(email: str | None) -> str | None:
    """Return the email trimmed and lower-cased, or None when there is none."""
    if email is None:
        return None
    text = email.strip().lower()
    return text or None


def email_digest(email: str | None, key: bytes) -> str | None:
    """Return the keyed SHA-256 digest of the normalized email (how CRM tables name guests)."""
    normalized = normalize_email(email)
    if normalized is None:
        return None
    return hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


def _aware(field_name: str, value: datetime | None, required: bool = True) -> datetime | None:
    if value is None:
        if required:
            raise SnapshotError(field_name, "is required")
        return None
    if not isinstance(value, datetime):
        raise SnapshotError(field_name, f"'{value}' is not a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise SnapshotError(field_name, f"'{value.isoformat()}' has no time zone")
    return value.astimezone(UTC)


def _amount(field_name: str, value, currency: str) -> Decimal:
    if type(value) is Decimal:
        amount = value
    else:
        try:
            amount = Decimal(value)
        except Exception:
            raise SnapshotError(field_name, f"'{value}' is not a number") from None
    if not amount.is_finite():
        raise SnapshotError(field_name, f"'{value}' is not a finite number")
    if amount < 0:
        raise SnapshotError(field_name, f"'{value}' is negative")
    return quantize_amount(amount, currency)


@dataclass(frozen=True)
class LineSnapshot:
    line_id: str
    quantity: int
    unit_price_gross: Decimal
    product_name: str = ""
    sku: str | None = None
    variant_id: str | None = None
    # The store's ids of the variant's product and of the product's category, when known.
    product_id: str | None = None
    category_id: str | None = None
    # The delivery interval the customer chose for this line (`crm.subscription_interval` in
    # the checkout line's metadata), e.g. "30 days".
    subscription: str | None = None


@dataclass(frozen=True)
class OrderSnapshot:
    """One order as the source sees it now.

    `paid_amount` is what was charged so far and `refunded_amount` what was given back;
    `updated_at` orders the snapshots of one order (the newest wins).
    """

    order_id: str
    channel: str
    currency: str
    status: OrderStatus
    placed_at: datetime
    updated_at: datetime
    total_gross: Decimal
    total_net: Decimal | None = None
    user_id: str | None = None
    email: str | None = None
    number: str | None = None
    paid_amount: Decimal = Decimal(0)
    paid_at: datetime | None = None
    refunded_amount: Decimal = Decimal(0)
    refunded_at: datetime | None = None
    cancelled_at: datetime | None = None
    # When the order was fulfilled in full (points pending until then plus the return window).
    fulfilled_at: datetime | None = None
    shipping_gross: Decimal = Decimal(0)
    shipping_net: Decimal | None = None
    # The interval chosen for every subscribable line (`crm.subscription_interval` in the
    # checkout's metadata); a line's own choice wins.
    subscription: str | None = None
    lines: tuple[LineSnapshot, ...] = field(default=())

    def __post_init__(self):
        set_ = object.__setattr__
        if not str(self.order_id or "").strip():
            raise SnapshotError("order_id", "is required")
        set_(self, "order_id", str(self.order_id).strip())
        try:
            currency = validate_currency(self.currency)
        except ValueError as error:
            raise SnapshotError("currency", str(error)) from None
        set_(self, "currency", currency)
        if not str(self.channel or "").strip():
            raise SnapshotError("channel", "is required")
        if not isinstance(self.status, OrderStatus):
            set_(self, "status", OrderStatus.parse(self.status))
        if self.user_id is not None:
            set_(self, "user_id", str(self.user_id))
        set_(self, "email", normalize_email(self.email))
        if self.user_id is None and self.email is None:
            raise SnapshotError("email", "a guest order needs an email")
        for name in ("placed_at", "updated_at"):
            set_(self, name, _aware(name, getattr(self, name)))
        for name in ("paid_at", "refunded_at", "cancelled_at", "fulfilled_at"):
            set_(self, name, _aware(name, getattr(self, name), required=False))
        total = _amount("total_gross", self.total_gross, currency)
        set_(self, "total_gross", total)
        net = total if self.total_net is None else _amount("total_net", self.total_net, currency)
        set_(self, "total_net", net)
        shipping = _amount("shipping_gross", self.shipping_gross, currency)
        set_(self, "shipping_gross", shipping)
        shipping_net = self.shipping_net
        set_(
            self,
            "shipping_net",
            shipping if shipping_net is None else _amount("shipping_net", shipping_net, currency),
        )
        set_(self, "paid_amount", _amount("paid_amount", self.paid_amount, currency))
        refunded = _amount("refunded_amount", self.refunded_amount, currency)
        set_(self, "refunded_amount", refunded)
        lines = tuple(self.lines)
        for index, line in enumerate(lines):
            if line.quantity < 0:
                raise SnapshotError(f"lines[{index}].quantity", f"'{line.quantity}' is negative")
            price = _amount(f"lines[{index}].unit_price_gross", line.unit_price_gross, currency)
            if price != line.unit_price_gross:
                lines = (*lines[:index], _replace_price(line, price), *lines[index + 1 :])
        set_(self, "lines", lines)

    @property
    def is_placed(self) -> bool:
        return self.status not in NOT_PLACED

    @property
    def is_cancelled(self) -> bool:
        return self.status == OrderStatus.CANCELED

    @property
    def is_paid_in_full(self) -> bool:
        return paid_in_full(self.status, self.total_gross, self.paid_amount, self.refunded_amount)

    @property
    def net_spend(self) -> Decimal:
        """What the customer spent on this order: total less refunds, zero when it doesn't count."""
        if not self.counts:
            return Decimal(0)
        return max(self.total_gross - self.refunded_amount, Decimal(0))

    @property
    def counts(self) -> bool:
        """Whether the order counts toward order count and spend.

        Placed, not cancelled, and not refunded in full (a free order still counts).
        """
        if not self.is_placed or self.is_cancelled:
            return False
        return self.total_gross == 0 or self.refunded_amount < self.total_gross

    def fingerprint(self) -> str:
        """Digest of the whole snapshot: breaks ties between snapshots with one `updated_at`."""
        return hashlib.sha256(repr(self).encode()).hexdigest()

    def version_key(self) -> tuple[datetime, str]:
        """Total order over the snapshots of one order: the greatest wins.

        Newest `updated_at` first; two different snapshots with the same `updated_at` are
        ordered by fingerprint, so the winner does not depend on the order they arrive in.
        """
        return (self.updated_at, self.fingerprint())


def _replace_price(line: LineSnapshot, price: Decimal) -> LineSnapshot:
    return replace(line, unit_price_gross=price)


@dataclass(frozen=True)
class CustomerSnapshot:
    """A registered customer as the source sees it now, or the fact that it was deleted."""

    user_id: str
    updated_at: datetime
    email: str | None = None
    joined_at: datetime | None = None
    deleted: bool = False
    # Whether the customer has shown they own the email (Saleor's `is_confirmed`). Until then
    # the email is not theirs to the CRM: their guest history stays where it is, as Saleor
    # links guest orders to an account only once its address is confirmed.
    email_confirmed: bool = True

    def __post_init__(self):
        if not str(self.user_id or "").strip():
            raise SnapshotError("user_id", "is required")
        object.__setattr__(self, "user_id", str(self.user_id).strip())
        object.__setattr__(self, "email", normalize_email(self.email))
        object.__setattr__(self, "updated_at", _aware("updated_at", self.updated_at))
        object.__setattr__(self, "joined_at", _aware("joined_at", self.joined_at, required=False))

    def fingerprint(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()

    def version_key(self) -> tuple[datetime, str]:
        """Newest wins (ingestion applies a deletion whatever its version: it is final)."""
        return (self.updated_at, self.fingerprint())


# --- plain-data form (JSON-safe), for stores that keep snapshots and for fixtures ----------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def order_to_dict(snapshot: OrderSnapshot) -> dict:
    """Return the snapshot as JSON-safe plain data (`order_from_dict` reads it back)."""
    return {
        "order_id": snapshot.order_id,
        "number": snapshot.number,
        "channel": snapshot.channel,
        "currency": snapshot.currency,
        "status": snapshot.status.value,
        "user_id": snapshot.user_id,
        "email": snapshot.email,
        "placed_at": _iso(snapshot.placed_at),
        "updated_at": _iso(snapshot.updated_at),
        "paid_at": _iso(snapshot.paid_at),
        "refunded_at": _iso(snapshot.refunded_at),
        "cancelled_at": _iso(snapshot.cancelled_at),
        "fulfilled_at": _iso(snapshot.fulfilled_at),
        "total_gross": str(snapshot.total_gross),
        "total_net": str(snapshot.total_net),
        "paid_amount": str(snapshot.paid_amount),
        "refunded_amount": str(snapshot.refunded_amount),
        "shipping_gross": str(snapshot.shipping_gross),
        "shipping_net": str(snapshot.shipping_net),
        "subscription": snapshot.subscription,
        "lines": [
            {
                "line_id": line.line_id,
                "quantity": line.quantity,
                "unit_price_gross": str(line.unit_price_gross),
                "product_name": line.product_name,
                "sku": line.sku,
                "variant_id": line.variant_id,
                "product_id": line.product_id,
                "category_id": line.category_id,
                "subscription": line.subscription,
            }
            for line in snapshot.lines
        ],
    }


def order_from_dict(data: dict) -> OrderSnapshot:
    """Build an `OrderSnapshot` from `order_to_dict`'s output (validating it again)."""
    values = dict(data)
    for name in ("placed_at", "updated_at", "paid_at", "refunded_at", "cancelled_at"):
        values[name] = _from_iso(values.get(name))
    if "fulfilled_at" in values:
        values["fulfilled_at"] = _from_iso(values["fulfilled_at"])
    money = ("total_gross", "total_net", "paid_amount", "refunded_amount")
    for name in (*money, "shipping_gross", "shipping_net"):
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    values["lines"] = tuple(
        LineSnapshot(**{**line, "unit_price_gross": Decimal(line["unit_price_gross"])})
        for line in values.get("lines", ())
    )
    return OrderSnapshot(**values)

"""Snapshot builders shared by the tests (plain data; no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from saleor_crm_plugin.customers.snapshots import (
    CustomerSnapshot,
    LineSnapshot,
    OrderSnapshot,
    OrderStatus,
)

T0 = datetime(2025, 1, 10, 3, 0, tzinfo=UTC)


def order(
    order_id="o1",
    *,
    user_id=None,
    email="guest@example.com",
    total="1000",
    currency="JPY",
    status=OrderStatus.UNFULFILLED,
    placed_at=T0,
    updated_at=None,
    paid=None,
    refunded="0",
    lines=None,
    channel=None,
    **extra,
) -> OrderSnapshot:
    total = Decimal(total)
    return OrderSnapshot(
        order_id=order_id,
        number=extra.pop("number", order_id),
        channel=channel or ("default-channel" if currency == "USD" else "channel-jpy"),
        currency=currency,
        status=status,
        user_id=user_id,
        email=email,
        placed_at=placed_at,
        updated_at=updated_at or placed_at,
        total_gross=total,
        paid_amount=total if paid is None else Decimal(paid),
        paid_at=placed_at if (paid is None or Decimal(paid) > 0) else None,
        refunded_amount=Decimal(refunded),
        lines=tuple(
            lines
            if lines is not None
            else [
                LineSnapshot(
                    line_id=f"{order_id}-1",
                    quantity=1,
                    unit_price_gross=total,
                    product_name="Green tea",
                    sku="TEA-1",
                    variant_id="v1",
                ),
            ]
        ),
        **extra,
    )


def customer(
    user_id="1", *, email="user1@example.com", updated_at=T0, deleted=False, joined_at=None
) -> CustomerSnapshot:
    return CustomerSnapshot(
        user_id=user_id,
        email=email,
        updated_at=updated_at,
        joined_at=joined_at or T0 - timedelta(days=30),
        deleted=deleted,
    )


def scored():
    """The spend rows that carry RFM scores (a fresh queryset each call)."""
    from saleor_crm_plugin.customers.models import CustomerSpend

    return CustomerSpend.objects.filter(segment__isnull=False)

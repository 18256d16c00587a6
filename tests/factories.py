"""Snapshot builders shared by the tests (plain data), and one scored store (`ten_scored_customers`)."""

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
    user_id="1",
    *,
    email="user1@example.com",
    updated_at=T0,
    deleted=False,
    joined_at=None,
    email_confirmed=True,
) -> CustomerSnapshot:
    return CustomerSnapshot(
        user_id=user_id,
        email=email,
        updated_at=updated_at,
        joined_at=joined_at or T0 - timedelta(days=30),
        deleted=deleted,
        email_confirmed=email_confirmed,
    )


def scored():
    """The spend rows that carry RFM scores (a fresh queryset each call)."""
    from saleor_crm_plugin.customers.models import CustomerSpend

    return CustomerSpend.objects.filter(segment__isnull=False)


def ten_scored_customers():
    """Ten JPY guests with 1..10 orders of 1,000 JPY (days apart), in the sandbox store and the
    ledger, scored as of 200 days after T0; returns the recompute's report."""
    from zoneinfo import ZoneInfo

    from saleor_crm_plugin.customers.ingest import ingest_orders
    from saleor_crm_plugin.sandbox.models import SandboxOrder
    from saleor_crm_plugin.segments.services import recompute_rfm

    snapshots = [
        order(
            f"j{i}-{n}",
            email=f"c{i}@example.com",
            total="1000",
            placed_at=T0 + timedelta(days=10 * i + n),
        )
        for i in range(10)
        for n in range(i + 1)
    ]
    for snapshot in snapshots:
        SandboxOrder.store(snapshot)
    ingest_orders(snapshots)
    return recompute_rfm(ZoneInfo("Asia/Tokyo"), as_of=T0 + timedelta(days=200))


def repeat_buyers(
    customers: int,
    until: datetime,
    currency: str = "USD",
    seed: int = 5,
    prefix: str = "u",
    total: str | None = None,
) -> list:
    """Record the paid orders of repeat buyers drawn from BG/NBD-like behaviour (each starts
    in T0's first 200 days, orders at their own pace until `until` or until they drop out);
    user ids and emails `{prefix}{n}`. Returns the snapshots."""
    import numpy as np

    from saleor_crm_plugin.customers.ingest import ingest_orders

    rng = np.random.default_rng(seed)
    snapshots = []
    for n in range(customers):
        at = T0 + timedelta(days=float(rng.uniform(0, 200)))
        gap, drop, value = rng.gamma(2.0, 20.0), rng.beta(1.0, 4.0), rng.gamma(3.0, 15.0)
        k = 0
        while at < until:
            snapshots.append(
                order(
                    f"{prefix}{n}-{k}",
                    user_id=f"{prefix}{n}",
                    email=f"{prefix}{n}@example.com",
                    total=total or str(int(rng.gamma(5.0, value / 5.0)) + 1),
                    currency=currency,
                    placed_at=at,
                )
            )
            k += 1
            if rng.random() < drop:
                break
            at += timedelta(days=float(rng.exponential(gap)) + 1)
    ingest_orders(snapshots)
    return snapshots


# A small catalogue for the analytics tests: product id -> (name, category id).
TEA_SHOP = {"P1": ("Tea", "C1"), "P2": ("Cup", "C1"), "P3": ("Bowl", "C2")}


def product_order(order_id, customer, day, products, *, currency="JPY", catalogue=TEA_SHOP):
    """A paid order of `customer` placed `day` days after T0, a line of one unit for each of
    `products` (product id -> price), named and categorised by `catalogue`."""
    return order(
        order_id,
        user_id=customer,
        email=f"{customer}@example.com",
        currency=currency,
        total=str(sum(Decimal(price) for price in products.values())),
        placed_at=T0 + timedelta(days=day),
        lines=[
            LineSnapshot(
                line_id=f"{order_id}-{n}",
                quantity=1,
                unit_price_gross=Decimal(price),
                product_name=catalogue[product][0],
                variant_id=f"v-{product}",
                product_id=product,
                category_id=catalogue[product][1],
            )
            for n, (product, price) in enumerate(products.items())
        ],
    )

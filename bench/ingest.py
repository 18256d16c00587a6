"""Ingestion throughput into PostgreSQL, and a hook's outbox write in a warm process.

Run with `make bench` (starts its own PostgreSQL and Redis), or by hand with DATABASE_URL
(PostgreSQL) set:

    python bench/ingest.py [--orders 50000] [--customers 10000] [--batch 500] [--hooks 2000]

What a hook costs the shopper is measured end to end by bench/checkout_saleor.py.

Prints one line per measurement; the figures of the last run are in bench/README.md.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from saleor_crm_plugin.customers.ingest import ingest_orders  # noqa: E402
from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord  # noqa: E402
from saleor_crm_plugin.customers.snapshots import LineSnapshot, OrderSnapshot  # noqa: E402

START = datetime(2023, 1, 1, tzinfo=UTC)


def synthetic_orders(orders: int, customers: int, seed: int = 7) -> list[OrderSnapshot]:
    """Orders among customers with a long-tailed repeat rate; 30% guests, JPY and USD."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(customers)]
    owners = rng.choices(range(customers), weights=weights, k=orders)
    snapshots = []
    for index, owner in enumerate(owners):
        currency = "JPY" if owner % 10 < 7 else "USD"
        price = (
            Decimal(rng.randrange(980, 12_800))
            if currency == "JPY"
            else Decimal(rng.randrange(800, 9_500)) / 100
        )
        quantity = rng.randint(1, 3)
        placed_at = START + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        snapshots.append(
            OrderSnapshot(
                order_id=f"bench-{index:08d}",
                number=str(index),
                channel="channel-jpy" if currency == "JPY" else "default-channel",
                currency=currency,
                status="fulfilled",
                user_id=str(owner) if owner % 10 >= 3 else None,
                email=f"customer{owner}@example.com",
                placed_at=placed_at,
                updated_at=placed_at + timedelta(hours=1),
                total_gross=price * quantity,
                paid_amount=price * quantity,
                paid_at=placed_at,
                lines=(
                    LineSnapshot(
                        line_id=f"{index}-1",
                        quantity=quantity,
                        unit_price_gross=price,
                        product_name="Sencha",
                        sku=f"SKU-{rng.randrange(40)}",
                    ),
                ),
            )
        )
    return snapshots


def _reset():
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE saleor_crm_orderlinerecord, saleor_crm_orderrecord, "
            "saleor_crm_customerspend, saleor_crm_customerprofile RESTART IDENTITY CASCADE"
        )


def _batched(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bench_ingest(snapshots, batch):
    _reset()
    started = time.perf_counter()
    for chunk in _batched(snapshots, batch):
        ingest_orders(chunk)
    first = time.perf_counter() - started
    assert OrderRecord.objects.count() == len(snapshots)
    print(
        f"ingest, new orders, batches of {batch}: {len(snapshots):,} orders in {first:.1f} s "
        f"= {len(snapshots) / first:,.0f} orders/s ({CustomerProfile.objects.count():,} profiles)"
    )

    started = time.perf_counter()
    for chunk in _batched(snapshots, batch):
        ingest_orders(chunk)
    again = time.perf_counter() - started
    print(
        f"ingest, same orders again (no-op), batches of {batch}: "
        f"{len(snapshots) / again:,.0f} orders/s"
    )

    sample = snapshots[:1000]
    _reset()
    timings = []
    for snapshot in sample:
        started = time.perf_counter()
        ingest_orders([snapshot])
        timings.append(time.perf_counter() - started)
    print(
        f"ingest, one order per call (the task path), {len(sample)} orders: "
        f"median {statistics.median(timings) * 1000:.2f} ms, "
        f"p95 {statistics.quantiles(timings, n=20)[-1] * 1000:.2f} ms, "
        f"{len(sample) / sum(timings):,.0f} orders/s"
    )


def bench_record(count):
    """What a hook does in the shopper's request: one outbox row on the request's connection."""
    from saleor_crm_plugin.intake.models import PendingChange
    from saleor_crm_plugin.intake.outbox import record_changes

    timings = []
    for index in range(count):
        started = time.perf_counter()
        record_changes(PendingChange.ORDER, [f"bench-hook-{index}"])
        timings.append(time.perf_counter() - started)
    PendingChange.objects.filter(object_id__startswith="bench-hook-").delete()
    print(
        f"hook (one outbox row), {count} calls: median {statistics.median(timings) * 1e6:.0f} µs, "
        f"p95 {statistics.quantiles(timings, n=20)[-1] * 1e6:.0f} µs"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--hooks", type=int, default=2_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (make bench starts one)")
    call_command("migrate", verbosity=0)
    snapshots = synthetic_orders(args.orders, args.customers)
    bench_ingest(snapshots, args.batch)
    bench_record(args.hooks)


if __name__ == "__main__":
    main()

"""Basket pairs over a million orders: the pure counting, and the whole nightly service.

    .venv/bin/python bench/baskets.py [--orders 1000000] [--products 2000] [--window 30]
        [--shape store|heavy] [--seed 3]
    bash scripts/bench.sh bench/baskets.py --service [same options]

The orders are drawn with a fixed seed, in one channel, over three years:

- `store` (the default): customers as the sandbox generator draws them (55% buy once, 25% 2-4
  times, 15% 5-20, 5% 20-150 at their own rhythm), about 135,000 customers for 1M orders;
- `heavy`: owners drawn as bench/fill.py draws them (`customers * random()^3`), so a few
  customers have thousands of orders (the first about 15,000 at 1M orders, one every two hours):
  the customer kind's worst case.

1-4 lines an order (50/30/15/5%), products skewed (the product is `products * random()^2`).
Each step runs in a fresh process (this script with `--step`) and prints its wall time, CPU
time and the process's peak RSS before and after the step:

- `order`: `baskets.order_pairs` (same basket);
- `customer`: `baskets.customer_pairs` within `--window` days;
- with `--service` (DATABASE_URL naming PostgreSQL; scripts/bench.sh starts one): the ledger is
  filled with these orders and lines by COPY (profiles, orders, lines), then
  `basket_services.compute_baskets` is timed: the COPY out of the ledger, both kinds, and the
  pairs stored (first run, then again).

Minimum support: pairs of at least `--min-count` (5) orders or customers. mlxtend's fpgrowth
took 13.2 s and 5.2 GB on the order kind of this shape (DESIGN.md section 7).
"""

import argparse
import io
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = datetime(2023, 1, 1, tzinfo=UTC)
AS_OF = datetime(2026, 1, 2, tzinfo=UTC)
DAYS = 1095


def draw(orders: int, products: int, shape: str, seed: int) -> dict[str, np.ndarray]:
    """Orders (customer, day) and their lines (order, product), as arrays."""
    rng = np.random.default_rng(seed)
    if shape == "heavy":
        customers = max(orders // 10, 1)
        customer = np.sort((customers * rng.random(orders) ** 3).astype(np.int64))
        day = rng.uniform(0, DAYS, orders)
    else:
        roll = rng.random(orders)
        counts = np.where(
            roll < 0.55,
            1,
            np.where(
                roll < 0.80,
                rng.integers(2, 5, orders),
                np.where(roll < 0.95, rng.integers(5, 21, orders), rng.integers(20, 151, orders)),
            ),
        )
        total = np.cumsum(counts)
        customers = int(np.searchsorted(total, orders)) + 1
        counts = counts[:customers]
        counts[-1] -= int(total[customers - 1]) - orders
        rhythm = np.where(
            counts > 20, rng.uniform(6, 40, customers), rng.uniform(20, 200, customers)
        )
        customer = np.repeat(np.arange(customers), counts)
        gaps = rng.exponential(np.repeat(rhythm, counts)) + 0.5
        first = np.r_[0, np.cumsum(counts)[:-1]]
        gaps[first] = 0
        elapsed = np.cumsum(gaps)
        day = (
            rng.uniform(0, DAYS * 0.97, customers)[customer]
            + elapsed
            - np.repeat(elapsed[first], counts)
        )
        day = day % DAYS  # a history longer than three years wraps round to its start
    per_order = rng.choice([1, 2, 3, 4], size=orders, p=[0.5, 0.3, 0.15, 0.05])
    line_order = np.repeat(np.arange(orders), per_order)
    product = np.minimum(
        (products * rng.random(len(line_order)) ** 2).astype(np.int64), products - 1
    )
    return {"customer": customer, "day": day, "line_order": line_order, "product": product}


def frame(data: dict, products: int) -> pd.DataFrame:
    """The lines as the service hands them to the pure functions."""
    order = data["line_order"]
    seconds = (START.timestamp() + data["day"][order] * 86400).astype(np.int64)
    return pd.DataFrame(
        {
            "order_id": order,
            "customer_id": data["customer"][order],
            "placed_at": pd.to_datetime(seconds, unit="s", utc=True),
            "product_id": pd.Categorical.from_codes(
                data["product"], [f"UHJvZHVjdDo{i:06d}" for i in range(products)]
            ),
        }
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, work):
    before = peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU; peak RSS {before:,.0f} MB before, "
        f"{peak_mb():,.0f} MB after",
        flush=True,
    )
    return result


def pure_step(args) -> None:
    from saleor_crm_plugin.analytics import baskets

    data = draw(args.orders, args.products, args.shape, args.seed)
    lines = frame(data, args.products)
    del data
    if args.step == "order":
        pairs = timed(
            f"order_pairs ({len(lines):,} lines)",
            lambda: baskets.order_pairs(lines, AS_OF, min_count=args.min_count),
        )
    else:
        pairs = timed(
            f"customer_pairs within {args.window} days ({len(lines):,} lines)",
            lambda: baskets.customer_pairs(lines, AS_OF, args.window, min_count=args.min_count),
        )
    print(
        f"  {pairs.transactions:,} transactions, {pairs.products:,} products, "
        f"{len(pairs.table):,} pairs",
        flush=True,
    )


FILL = """
TRUNCATE saleor_crm_basketpair, saleor_crm_basketrun, saleor_crm_orderlinerecord,
         saleor_crm_orderrecord, saleor_crm_customerspend, saleor_crm_customerprofile
         RESTART IDENTITY CASCADE;
INSERT INTO saleor_crm_customerprofile
    (id, user_id, order_count, source_fingerprint, created_at, updated_at)
SELECT g, g::text, 0, '', now(), now() FROM generate_series(1, %(customers)s) AS g;
SELECT setval(pg_get_serial_sequence('saleor_crm_customerprofile', 'id'), %(customers)s);
"""
ORDERS = """
INSERT INTO saleor_crm_orderrecord
    (id, order_id, number, profile_id, channel, currency, status, counts, placed_at, paid_at,
     total_gross_amount, total_net_amount, shipping_gross_amount, shipping_net_amount,
     paid_amount, refunded_amount, net_spend_amount, source_updated_at, source_fingerprint,
     created_at, updated_at)
SELECT o, 'bench-' || o, o::text, c, 'channel-jpy', 'JPY', 'fulfilled', true, t, t,
       1000, 1000, 0, 0, 1000, 0, 1000, t, '', now(), now()
FROM bench_orders;
SELECT setval(pg_get_serial_sequence('saleor_crm_orderrecord', 'id'),
              (SELECT max(id) FROM saleor_crm_orderrecord));
INSERT INTO saleor_crm_orderlinerecord
    (order_id, line_id, variant_id, product_id, category_id, product_name, quantity,
     unit_price_gross_amount, currency)
SELECT o, o || '-' || n, 'v' || p, 'UHJvZHVjdDo' || lpad(p::text, 6, '0'), 'c' || (p % 40),
       'Product ' || p, 1, 1000, 'JPY'
FROM bench_lines;
DROP TABLE bench_orders, bench_lines;
"""


def fill(data: dict) -> None:
    from django.db import connection

    orders = len(data["customer"])
    customers = int(data["customer"].max()) + 1
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"customers": customers})
        cursor.execute(
            "CREATE TEMP TABLE bench_orders (o bigint, c bigint, t timestamptz);"
            "CREATE TEMP TABLE bench_lines (o bigint, n int, p int)"
        )
        at = pd.to_datetime(START.timestamp() + data["day"] * 86400, unit="s", utc=True)
        _copy(
            cursor,
            "bench_orders",
            {
                "o": np.arange(1, orders + 1),
                "c": data["customer"] + 1,
                "t": at.strftime("%Y-%m-%d %H:%M:%S+00"),
            },
        )
        order = data["line_order"]
        number = np.arange(len(order)) - np.searchsorted(order, order)
        _copy(cursor, "bench_lines", {"o": order + 1, "n": number, "p": data["product"]})
        cursor.execute(ORDERS)
        cursor.execute("ANALYZE")


def _copy(cursor, table: str, columns: dict) -> None:
    text = io.StringIO()
    pd.DataFrame(columns).to_csv(text, header=False, index=False)
    with cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
        copy.write(text.getvalue())


def service_step(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from saleor_crm_plugin.analytics.basket_services import compute_baskets, ledger_lines

    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")
    call_command("migrate", verbosity=0)
    if args.step == "fill":
        data = draw(args.orders, args.products, args.shape, args.seed)
        timed(f"fill the ledger ({len(data['customer']):,} orders)", lambda: fill(data))
        return
    if args.step == "read":
        lines = timed("read the ledger (COPY, parsed in blocks)", lambda: ledger_lines(AS_OF))
        print(f"  {len(lines):,} lines", flush=True)
        return
    for attempt in ("first", "again"):
        runs = timed(
            f"compute_baskets, {attempt} (read + both kinds + store)",
            lambda: compute_baskets(AS_OF, args.window, args.min_count, 0.0),
        )
        for run in runs:
            print(
                f"  {run.kind}: {run.transactions:,} transactions, {run.pairs:,} pairs "
                f"stored ({run.seconds:.2f} s counting and storing)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--shape", choices=("store", "heavy"), default="store")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--service", action="store_true", help="also the service on PostgreSQL")
    parser.add_argument("--step", choices=("order", "customer", "fill", "read", "service"))
    args = parser.parse_args()
    if args.step in ("order", "customer"):
        pure_step(args)
        return
    if args.step:
        service_step(args)
        return
    print(f"{args.orders:,} orders, {args.products:,} products, shape {args.shape}", flush=True)
    steps = ["order", "customer"] + (["fill", "read", "service"] if args.service else [])
    for step in steps:
        subprocess.run(  # noqa: S603 (this script, our arguments)
            [sys.executable, __file__, *sys.argv[1:], "--step", step], check=True
        )


if __name__ == "__main__":
    main()

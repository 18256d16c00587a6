"""Fill the ledger tables with a synthetic store by SQL (shared by bench/rfm.py, bench/search.py).

generate_series makes `customers` profiles (70% with a store account, user id = profile id)
and `orders` counted JPY orders over three years, owned with a long tail (a few customers buy
very often, most rarely: the owner id is `customers * random()^3`), with the profile figures
(order count, first/last order, lapse time) and the per-currency spend rows (with their copies
of the profile's figures) the way ingestion keeps them. Each row is written once.
"""

import argparse
import sys
import time

from django.core.management import call_command
from django.db import connection

FILL = """
TRUNCATE saleor_crm_segmentsize, saleor_crm_scorecutpoints,
         saleor_crm_recomputechunk, saleor_crm_recomputerun,
         saleor_crm_orderlinerecord, saleor_crm_orderrecord, saleor_crm_customerspend,
         saleor_crm_customerprofile RESTART IDENTITY CASCADE;
CREATE TEMP TABLE bench_orders AS
SELECT g, 1 + floor(%(customers)s * power(random(), 3))::bigint AS p,
       now() - random() * interval '1095 days' AS t,
       (980 + floor(random() * 20000))::numeric AS amount
FROM generate_series(1, %(orders)s) AS g;
CREATE TEMP TABLE bench_figures AS
SELECT p, count(*) AS n, sum(amount) AS spent, round(avg(amount)) AS average,
       min(t) AS first, max(t) AS last
FROM bench_orders GROUP BY p;
CREATE INDEX ON bench_figures (p);
"""
# Every row is written once, with its final figures: a second pass would leave each table and
# index with dead versions that a store growing into its ledger never has.
# 70% of the customers have an account in the store (user id = profile id), all an email.
LEDGER = """
INSERT INTO saleor_crm_customerprofile
    (id, user_id, email_digest, order_count, first_order_at, last_order_at, lapse_at,
     source_fingerprint, created_at, updated_at)
SELECT g, CASE WHEN g %% 10 < 7 THEN g::text END, md5(g::text) || md5('x' || g::text),
       coalesce(f.n, 0), f.first, f.last,
       CASE WHEN f.n > 1 THEN f.last + (f.last - f.first) / (f.n - 1) END, '', now(), now()
FROM generate_series(1, %(customers)s) AS g LEFT JOIN bench_figures f ON f.p = g;
SELECT setval(pg_get_serial_sequence('saleor_crm_customerprofile', 'id'), %(customers)s);
INSERT INTO saleor_crm_orderrecord
    (order_id, number, profile_id, user_id, email_digest, channel, currency, status, counts,
     placed_at, paid_at, fulfilled_at, total_gross_amount, total_net_amount,
     shipping_gross_amount, shipping_net_amount, paid_amount, refunded_amount,
     net_spend_amount, source_updated_at, source_fingerprint, created_at, updated_at)
SELECT 'bench-' || g, g::text, p, NULL, NULL, 'channel-jpy', 'JPY', 'fulfilled', true, t, t,
       t + interval '2 days', amount, amount, 0, 0, amount, 0, amount, t, '', now(), now()
FROM bench_orders;
INSERT INTO saleor_crm_customerspend
    (profile_id, currency, order_count, total_spent_amount, average_order_amount,
     first_order_at, last_order_at, profile_order_count, profile_first_order_at,
     profile_last_order_at, profile_lapse_at, profile_active)
SELECT f.p, 'JPY', f.n, f.spent, f.average, f.first, f.last, f.n, f.first, f.last,
       CASE WHEN f.n > 1 THEN f.last + (f.last - f.first) / (f.n - 1) END, true
FROM bench_figures f ORDER BY f.p;
DROP TABLE bench_orders, bench_figures;
"""

# A store account for each registered customer (user id = profile id), a prefecture each.
ACCOUNTS = """
TRUNCATE saleor_crm_sandbox_sandboxuser RESTART IDENTITY CASCADE;
INSERT INTO saleor_crm_sandbox_sandboxuser
    (id, email, first_name, last_name, is_staff, is_active, permissions, metadata,
     private_metadata, country, country_area, city, customer_type, date_joined, updated_at)
SELECT id, 'c' || id || '@example.com', 'First' || (id % 97), 'Last' || (id % 89), false, true,
       '[]', '{}', '{}', 'JP',
       (ARRAY['東京都','大阪府','神奈川県','愛知県','福岡県','北海道','京都府'])[1 + id % 7],
       'City', '', now(), now()
FROM saleor_crm_customerprofile WHERE user_id IS NOT NULL;
SELECT setval(pg_get_serial_sequence('saleor_crm_sandbox_sandboxuser', 'id'),
              (SELECT max(id) FROM saleor_crm_sandbox_sandboxuser));
"""


def paid_order(order_id: str, user_id: str, rng, at):
    """A new JPY order of a registered customer (its store account `c<id>@example.com`), paid
    in full at `at`, of a random total: what the order benchmarks feed in."""
    from dataclasses import replace
    from decimal import Decimal

    from saleor_crm_plugin.customers.snapshots import OrderSnapshot, OrderStatus

    snapshot = OrderSnapshot(
        order_id=order_id,
        number=order_id,
        channel="channel-jpy",
        currency="JPY",
        status=OrderStatus.UNFULFILLED,
        placed_at=at,
        updated_at=at,
        total_gross=Decimal(rng.randint(1000, 30000)),
        user_id=user_id,
        email=f"c{user_id}@example.com",
        paid_at=at,
    )
    return replace(snapshot, paid_amount=snapshot.total_gross)


def fill_ledger(customers: int, orders: int) -> None:
    """Fill the ledger (every CRM table emptied first) and ANALYZE it."""
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(FILL, {"customers": customers, "orders": orders})
        print(
            f"generate {customers:,} customers' {orders:,} orders: "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        started = time.perf_counter()
        cursor.execute(LEDGER, {"customers": customers})
        cursor.execute("VACUUM ANALYZE")
        print(f"profiles, orders and spend rows: {time.perf_counter() - started:.1f} s", flush=True)


def ledger_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the ledger's size and `--no-fill`; add the benchmark's own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument(
        "--no-fill",
        action="store_true",
        help="measure the ledger already in DATABASE_URL (filled by an earlier run)",
    )
    return parser


def prepare_ledger(args, extra_sql: str = "") -> None:
    """Migrate, then fill the ledger (and run `extra_sql`) unless `--no-fill` was given."""
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")
    call_command("migrate", verbosity=0)
    if args.no_fill:
        return
    fill_ledger(args.customers, args.orders)
    if extra_sql:
        with connection.cursor() as cursor:
            cursor.execute(extra_sql)

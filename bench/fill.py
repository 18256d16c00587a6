"""Fill the ledger tables with a synthetic store by SQL (shared by bench/rfm.py, bench/search.py).

generate_series makes `customers` guest profiles and `orders` counted JPY orders over three
years, owned with a long tail (a few customers buy very often, most rarely: the owner id is
`customers * random()^3`), then derives the per-currency spend rows and the profile figures
(order count, first/last order, lapse time) the way ingestion keeps them.
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
INSERT INTO saleor_crm_customerprofile
    (user_id, email_digest, order_count, source_fingerprint, created_at, updated_at)
SELECT NULL, md5(g::text) || md5('x' || g::text), 0, '', now(), now()
FROM generate_series(1, %(customers)s) AS g;
INSERT INTO saleor_crm_orderrecord
    (order_id, number, profile_id, user_id, email_digest, channel, currency, status, counts,
     placed_at, total_gross_amount, total_net_amount, paid_amount, refunded_amount,
     net_spend_amount, source_updated_at, source_fingerprint, created_at, updated_at)
SELECT 'bench-' || g, g::text, p, NULL, NULL, 'channel-jpy', 'JPY', 'fulfilled', true, t,
       amount, amount, amount, 0, amount, t, '', now(), now()
FROM (
    SELECT g,
           1 + floor(%(customers)s * power(random(), 3))::bigint AS p,
           now() - random() * interval '1095 days' AS t,
           (980 + floor(random() * 20000))::numeric AS amount
    FROM generate_series(1, %(orders)s) AS g
) AS o;
"""
AGGREGATE = """
INSERT INTO saleor_crm_customerspend
    (profile_id, currency, order_count, total_spent_amount, average_order_amount,
     first_order_at, last_order_at, profile_order_count, profile_active)
SELECT profile_id, currency, count(*), sum(net_spend_amount), round(avg(net_spend_amount)),
       min(placed_at), max(placed_at), 0, true
FROM saleor_crm_orderrecord WHERE counts GROUP BY profile_id, currency;
UPDATE saleor_crm_customerprofile p
SET order_count = s.order_count, first_order_at = s.first_order_at,
    last_order_at = s.last_order_at,
    lapse_at = CASE WHEN s.order_count > 1 THEN s.last_order_at
                    + (s.last_order_at - s.first_order_at) / (s.order_count - 1) END
FROM saleor_crm_customerspend s WHERE s.profile_id = p.id;
UPDATE saleor_crm_customerspend s
SET profile_order_count = p.order_count, profile_first_order_at = p.first_order_at,
    profile_last_order_at = p.last_order_at, profile_lapse_at = p.lapse_at,
    profile_active = p.anonymized_at IS NULL
FROM saleor_crm_customerprofile p WHERE p.id = s.profile_id;
"""


def fill_ledger(customers: int, orders: int) -> None:
    """Fill the ledger (every CRM table emptied first) and ANALYZE it."""
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(FILL, {"customers": customers, "orders": orders})
        print(
            f"fill {customers:,} customers and {orders:,} orders: "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        started = time.perf_counter()
        cursor.execute(AGGREGATE)
        cursor.execute("VACUUM ANALYZE")
        print(f"spend rows and profile figures: {time.perf_counter() - started:.1f} s", flush=True)


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

"""Full RFM recompute at scale, against a bare GROUP BY over the same order table.

    bash scripts/bench.sh bench/rfm.py [--customers 1000000] [--orders 10000000]

Fills the ledger tables directly with SQL (generate_series; long-tailed repeat buying, one
currency), then measures in the same run: the bare `GROUP BY profile` aggregate over the order
table, and `recompute_rfm` (wall time and the process's peak memory).
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from saleor_crm_plugin.segments.services import recompute_rfm  # noqa: E402

FILL = """
TRUNCATE saleor_crm_customerscore, saleor_crm_segmentsize, saleor_crm_scorecutpoints,
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
           -- a few customers buy very often, most rarely: the owner is skewed to low ids
           1 + floor(%(customers)s * power(random(), 3))::bigint AS p,
           now() - random() * interval '1095 days' AS t,
           (980 + floor(random() * 20000))::numeric AS amount
    FROM generate_series(1, %(orders)s) AS g
) AS o;
"""
AGGREGATE = """
INSERT INTO saleor_crm_customerspend
    (profile_id, currency, order_count, total_spent_amount, average_order_amount,
     first_order_at, last_order_at)
SELECT profile_id, currency, count(*), sum(net_spend_amount), round(avg(net_spend_amount)),
       min(placed_at), max(placed_at)
FROM saleor_crm_orderrecord WHERE counts GROUP BY profile_id, currency;
"""
BARE_GROUP_BY = (
    "SELECT profile_id, max(placed_at), count(*), sum(net_spend_amount)"
    " FROM saleor_crm_orderrecord GROUP BY profile_id"
)


def _timed(label, work):
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.1f} s", flush=True)
    return elapsed, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        _timed(
            f"fill {args.customers:,} customers and {args.orders:,} orders",
            lambda: cursor.execute(FILL, vars(args)),
        )
        _timed("per-customer spend rows", lambda: cursor.execute(AGGREGATE))
        cursor.execute("ANALYZE")
        bare = [
            _timed(
                "bare GROUP BY profile over the order table",
                lambda: (cursor.execute(BARE_GROUP_BY), cursor.fetchall()),
            )[0]
            for _ in range(3)
        ]
    bare_median = sorted(bare)[1]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed, report = _timed(
        "full recompute (first: every score written)", lambda: recompute_rfm(ZoneInfo("Asia/Tokyo"))
    )
    again, _ = _timed(
        "full recompute (again: only changes written)",
        lambda: recompute_rfm(ZoneInfo("Asia/Tokyo")),
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"scored {report.scored:,} customers; ratio to the bare GROUP BY (median {bare_median:.1f} s): "
        f"{elapsed / bare_median:.1f}x first, {again / bare_median:.1f}x again; "
        f"peak memory {peak / 1024:,.0f} MB (before the recompute {before / 1024:,.0f} MB)"
    )


if __name__ == "__main__":
    main()

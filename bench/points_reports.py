"""The points reports at scale: the paid points base dates and the free points by month.

    bash scripts/bench.sh bench/points_reports.py [--customers 1000000] [--entries 5]
        [--paid-share 0.02] [--no-fill]

Fills, by SQL, `--customers` profiles with a points account each and `--entries` entries per
account on average over the last two years (JPY): free earnings (each expiring 12 months on),
a redemption, an expiry; `--paid-share` of the accounts also bought paid points (an earning
with its price) and spent from them. Then times, in process, as the staff API runs them:

- the Payment Services Act base-date report (`paid_points_report`) over the last three years
  (six base dates): it replays only the accounts with paid points;
- the free points by month (`free_points_report`) over the last 24 months: it replays every
  entry;

wall time (median of `--repeat`) and the process's peak memory, with the rows checked
(closing = opening + issued - used - expired - reversed, each month opening where the last
closed).
"""

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from saleor_crm_plugin.conf import parse_config  # noqa: E402
from saleor_crm_plugin.loyalty.point_report_services import (  # noqa: E402
    free_points_report,
    history_sql,
    paid_points_report,
)

# Per account a: `earns` free earnings spread over two years, a redemption after the second,
# an expiry of the first one year after it was earned (when the account's fifth entry is due),
# and for a `paid` share a paid earning of 1,000 to 10,000 points at 1 JPY each.
FILL = """
TRUNCATE saleor_crm_pointsentry, saleor_crm_pointslot, saleor_crm_pointsaccount,
         saleor_crm_customerspend, saleor_crm_customerprofile RESTART IDENTITY CASCADE;
INSERT INTO saleor_crm_customerprofile
    (id, user_id, email_digest, order_count, source_fingerprint, created_at, updated_at)
SELECT g, g::text, md5(g::text) || md5('x' || g::text), 0, '', now(), now()
FROM generate_series(1, %(customers)s) AS g;
INSERT INTO saleor_crm_pointsaccount
    (id, profile_id, total, remaining, debt, lost, applied_key, created_at, updated_at)
SELECT g, g, 0, 0, 0, 0, '', now(), now() FROM generate_series(1, %(customers)s) AS g;
CREATE TEMP TABLE bench_earn AS
SELECT a, i, now() - interval '730 days' + random() * interval '700 days' AS at,
       (50 + floor(random() * 450))::int AS points
FROM generate_series(1, %(customers)s) AS a, generate_series(1, %(earns)s) AS i;
INSERT INTO saleor_crm_pointsentry
    (account_id, key, kind, points, at, lot, available_at, expires_at, held, currency,
     funding, paid_amount, order_id, reference, reason, actor, created_at)
SELECT a, 'earn:' || a || ':' || i, 'earn', points, at, NULL, at, at + interval '12 months',
       false, 'JPY', 'free', NULL::numeric, '', '', '', '', now()
FROM bench_earn
UNION ALL
SELECT a, 'redeem:' || a, 'redeem', -200, at + interval '3 days', NULL, NULL, NULL, false,
       'JPY', 'free', NULL, '', '', '', '', now()
FROM bench_earn WHERE i = 2
UNION ALL
SELECT a, 'expire:earn:' || a || ':1', 'expire', -points, at + interval '12 months',
       'earn:' || a || ':1', NULL, NULL, false, 'JPY', 'free', NULL, '', '', 'expired', '', now()
FROM bench_earn WHERE i = 1 AND at + interval '12 months' < now()
UNION ALL
SELECT a, 'paid:' || a, 'earn', points * 20, at - interval '1 day', NULL, at - interval '1 day',
       NULL, false, 'JPY', 'paid', points * 20, '', '', '', '', now()
FROM bench_earn WHERE i = 1 AND random() < %(paid)s;
DROP TABLE bench_earn;
"""


def _fill(customers: int, entries: int, paid: float) -> None:
    earns = max(entries - 2, 1)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"customers": customers, "earns": earns, "paid": paid})
        cursor.execute("VACUUM ANALYZE saleor_crm_pointsentry")
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE funding = 'paid') FROM saleor_crm_pointsentry"
        )
        written, bought = cursor.fetchone()
    print(
        f"points ledger: {customers:,} accounts, {written:,} entries ({bought:,} paid "
        f"earnings): {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _timed(run, repeat: int):
    times, rows = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=5, help="per account, on average")
    parser.add_argument("--paid-share", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-fill", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the reads' plans")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")
    call_command("migrate", verbosity=0)
    if not args.no_fill:
        _fill(args.customers, args.entries, args.paid_share)
    config = parse_config({"store-time-zone": "Asia/Tokyo"})
    now = datetime.now(UTC)
    if args.explain:
        for only_paid in (True, False):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + history_sql(only_paid), ["", now])
                print("\n".join(line for (line,) in cursor.fetchall()), flush=True)

    seconds, paid = _timed(lambda: paid_points_report(config, now.year - 2, now.year), args.repeat)
    print(
        f"paid points base dates ({now.year - 2}-{now.year}, {len(paid)} rows): {seconds:.2f} s",
        flush=True,
    )
    for row in paid:
        print(
            f"  {row.base_date} {row.currency}: {row.points:,} points unused, {row.amount:,} "
            f"(issued {row.issued_amount:,}; over the threshold: {row.exceeds_threshold})"
        )

    first = f"{now.year - 2}-{now.month:02d}"
    last = f"{now.year}-{now.month:02d}"
    seconds, free = _timed(lambda: free_points_report(config, first, last), args.repeat)
    print(f"free points by month ({first} to {last}, {len(free)} rows): {seconds:.2f} s")
    opening = None
    for row in free:
        assert row.closing == row.opening + row.issued - row.used - row.expired - row.reversed
        assert opening is None or row.opening == opening
        opening = row.closing
    print(
        f"  last month: opening {free[-1].opening:,}, issued {free[-1].issued:,}, used "
        f"{free[-1].used:,}, expired {free[-1].expired:,}, closing {free[-1].closing:,}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()

"""Subscription renewals at scale: the claim query with 1M subscriptions, a day of 100k renewals.

    bash scripts/bench.sh bench/subscriptions.py [--customers 1000000] [--orders 10000000]
        [--subscriptions 1000000] [--due 100000] [--workers 1] [--samples 200] [--no-fill]

Fills the ledger (bench/fill.py) unless `--no-fill`, then subscriptions by SQL: `--subscriptions`
subscriptions of the registered customers (one line each, at a price, every 30 days), each
with its three upcoming cycle rows as `sync_cycles` keeps them (`services.HORIZON`). The first
`--due` have their next delivery three days from now, so their renewal orders are due today;
the others fall over the next two months. Then it measures:

- the claim query (`renewals.claim_due`, 500 cycles, rolled back each time) when 100k are due
  and when none are: median and p99 of `--samples` runs, and PostgreSQL's plan;
- the renewal run (`renewals.run_renewals`) over the due cycles with the sandbox host (it
  stores each renewal order as the sandbox store's order), in `--workers` processes at once:
  wall time, orders per second, peak memory per worker, and that every due cycle has one
  order.
"""

import multiprocessing
import os
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from fill import ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.host.sandbox import SandboxHost  # noqa: E402
from saleor_crm_plugin.subscriptions.renewals import claim_due, run_renewals  # noqa: E402
from saleor_crm_plugin.subscriptions.services import rules_for  # noqa: E402

# Subscriptions of registered customers (customers are reused when there are more
# subscriptions than customers). $1 = subscriptions, $2 = due ones, $3 = today (store date),
# $4 = the store's zone.
FILL = """
TRUNCATE saleor_crm_subscriptionevent, saleor_crm_cycle, saleor_crm_subscriptionline,
         saleor_crm_subscription RESTART IDENTITY CASCADE;
DELETE FROM saleor_crm_sandbox_sandboxorder WHERE order_id LIKE 'crm-subscription-%%';
CREATE TEMP TABLE bench_buyers AS
SELECT row_number() OVER (ORDER BY id) AS n, id, user_id
FROM saleor_crm_customerprofile WHERE user_id IS NOT NULL;
CREATE TEMP TABLE bench_subscriptions AS
SELECT g, b.id AS profile_id, b.user_id,
       %(today)s::date + CASE WHEN g <= %(due)s THEN 3 ELSE 4 + (g %% 60) END AS first
FROM generate_series(1, %(subscriptions)s) AS g
JOIN bench_buyers b ON b.n = 1 + (g - 1) %% (SELECT count(*) FROM bench_buyers);
INSERT INTO saleor_crm_subscription
    (id, profile_id, user_id, channel, currency, status, plan, next_delivery_on, per_month,
     shipping_address, billing_address, time_slot, use_points, source_order_id, deliveries,
     cancel_reason, created_at, updated_at)
SELECT g, profile_id, user_id, 'channel-jpy', 'JPY', 'active',
       jsonb_build_object('segments', jsonb_build_array(jsonb_build_object(
           'first', 1, 'anchor', first, 'count', 30, 'unit', 'day')),
           'skipped', '[]'::jsonb, 'pauses', '[]'::jsonb, 'ordered_through', 0,
           'weekdays', '[]'::jsonb),
       first, 1.014583, '{}'::jsonb, '{}'::jsonb, '', false, '', 0, '', now(), now()
FROM bench_subscriptions ORDER BY g;
SELECT setval(pg_get_serial_sequence('saleor_crm_subscription', 'id'), %(subscriptions)s);
INSERT INTO saleor_crm_subscriptionline
    (subscription_id, variant_id, quantity, product_name, unit_price)
SELECT g, 'bench-variant-' || (g %% 50), 1 + g %% 3, 'Bench item ' || (g %% 50),
       980 + (g %% 50) * 100
FROM bench_subscriptions ORDER BY g;
INSERT INTO saleor_crm_cycle
    (subscription_id, sequence, delivery_on, renewal_due_at, status, order_id, attempts,
     last_error, updated_at)
SELECT g, s, first + 30 * (s - 1),
       ((first + 30 * (s - 1) - 3)::timestamp + interval '9 hours') AT TIME ZONE %(zone)s,
       'scheduled', '', 0, '', now()
FROM bench_subscriptions, generate_series(1, 3) AS s ORDER BY g, s;
INSERT INTO saleor_crm_sandbox_sandboxuser
    (id, email, first_name, last_name, is_staff, permissions, private_metadata, date_joined,
     updated_at, city, country, country_area, is_active, metadata, customer_type)
SELECT DISTINCT user_id::bigint, 'buyer' || user_id || '@example.com', '', '', false,
       '[]'::jsonb, '{}'::jsonb, now(), now(), '', 'JP', '', true, '{}'::jsonb, ''
FROM bench_subscriptions WHERE g <= %(due)s
ON CONFLICT DO NOTHING;
DROP TABLE bench_buyers, bench_subscriptions;
"""


def _ms(samples):
    ordered = sorted(samples)
    return (
        f"median {1000 * statistics.median(ordered):.2f} ms, "
        f"p99 {1000 * ordered[int(0.99 * (len(ordered) - 1))]:.2f} ms"
    )


def _fill(subscriptions: int, due: int, today, zone: str) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            FILL, {"subscriptions": subscriptions, "due": due, "today": today, "zone": zone}
        )
        for table in ("subscription", "subscriptionline", "cycle"):
            cursor.execute(f"VACUUM ANALYZE saleor_crm_{table}")
        cursor.execute("VACUUM ANALYZE saleor_crm_sandbox_sandboxuser")
        cursor.execute("SELECT count(*) FROM saleor_crm_cycle")
        (cycles,) = cursor.fetchone()
    print(
        f"subscriptions: {subscriptions:,} ({due:,} due today), {cycles:,} cycle rows: "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


class _Rollback(Exception):
    pass


def _claim(now: datetime, samples: int) -> tuple[list[float], int]:
    times, claimed = [], 0
    for _ in range(samples):
        try:
            with transaction.atomic():
                started = time.perf_counter()
                claimed = len(claim_due(now, 500))
                times.append(time.perf_counter() - started)
                raise _Rollback
        except _Rollback:
            pass
    return times, claimed


def _plan(now: datetime) -> str:
    """PostgreSQL's plan of the claim's due-cycles query, as `claim_due` sends it."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        try:
            with transaction.atomic():
                claim_due(now, 500)
                raise _Rollback
        except _Rollback:
            pass
    [select] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")][:1]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + select)
        return "\n".join(row[0] for row in cursor.fetchall())


def _worker(now: datetime, queue) -> None:
    connections.close_all()
    host = SandboxHost()
    config = host.config()
    started = time.perf_counter()
    report = run_renewals(host, now, rules_for(config), config.zone)
    queue.put(
        (
            report.ordered,
            report.failed,
            time.perf_counter() - started,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
    )


def _renewals(now: datetime, workers: int, due: int) -> None:
    connections.close_all()
    queue = multiprocessing.get_context("fork").Queue()
    started = time.perf_counter()
    processes = [
        multiprocessing.get_context("fork").Process(target=_worker, args=(now, queue))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    wall = time.perf_counter() - started
    ordered = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT order_id) FROM saleor_crm_cycle "
            "WHERE status = 'ordered' AND order_id <> ''"
        )
        rows, orders = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM saleor_crm_sandbox_sandboxorder "
            "WHERE order_id LIKE 'crm-subscription-%%'"
        )
        (stored,) = cursor.fetchone()
    print(
        f"renewal run, {workers} worker(s): {ordered:,} orders ({failed:,} failed) in "
        f"{wall:.1f} s = {ordered / wall:,.0f} orders/s; peak memory per worker "
        f"{max(r[3] for r in results):.0f} MB",
        flush=True,
    )
    print(
        f"  due {due:,}; ordered cycles {rows:,}, distinct orders {orders:,}, "
        f"renewal orders in the store {stored:,}",
        flush=True,
    )


def main() -> None:
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    prepare_ledger(args)
    host = SandboxHost()
    config = host.config()
    today = timezone.now().astimezone(config.zone).date()
    _fill(args.subscriptions, args.due, today, config.store_time_zone)
    # The due cycles' renewal time: today at the renewal hour (store time); run just after.
    now = datetime.combine(today, datetime.min.time(), tzinfo=config.zone) + timedelta(
        hours=config.subscription_renewal_hour, minutes=5
    )
    times, claimed = _claim(now, args.samples)
    print(f"claim query, {args.due:,} due: {_ms(times)} ({claimed} claimed a run)", flush=True)
    quiet, none = _claim(now - timedelta(days=1), args.samples)
    print(f"claim query, nothing due: {_ms(quiet)} ({none} claimed)", flush=True)
    print("  plan (due):\n    " + _plan(now).replace("\n", "\n    "), flush=True)
    _renewals(now, args.workers, args.due)


if __name__ == "__main__":
    main()

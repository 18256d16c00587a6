"""The points reports at scale: the paid points base dates and the free points by month.

    bash scripts/bench.sh bench/points_reports.py [--customers 1000000] [--entries 5]
        [--paid-share 0.02] [--workers 2] [--chunk-size 100000] [--repeat 3] [--no-fill]

Fills, by SQL, `--customers` profiles with a points account each and `--entries` entries per
account on average over the last two years (JPY): free earnings (each expiring 12 months on),
a redemption, an expiry; `--paid-share` of the accounts also bought paid points (an earning
with its price) and spent from them. Then times, in process, as the staff API runs them:

- the Payment Services Act base-date report (`paid_points_report`) over the last three years
  (six base dates): it replays only the accounts with paid points;
- the nightly computation of the free points months (`compute_free_points_months`): every
  entry replayed, in one process (one chunk), then split into chunks of `--chunk-size`
  points account ids taken by `--workers` processes (as Celery workers take the chunk tasks); both
  must store the same months;
- the request: the free points by month over the last 24 months (`free_points_report`),
  read from the stored months;

wall time (the request: median of `--repeat`, at least 20) and the process's peak memory,
with the rows checked (closing = opening + issued - used - expired - reversed, each month
opening where the last closed).
"""

import argparse
import multiprocessing
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
from django.db import connection, connections  # noqa: E402

from saleor_crm_plugin.conf import parse_config  # noqa: E402
from saleor_crm_plugin.loyalty.models import FreePointsMonth, FreePointsRun  # noqa: E402
from saleor_crm_plugin.loyalty.point_report_services import (  # noqa: E402
    compute_free_points_chunk,
    compute_free_points_months,
    free_points_report,
    history_sql,
    paid_points_report,
    start_free_points_run,
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


def _worker(config, queue, results):
    """A chunk worker: take chunk ids until the queue is empty (like a Celery worker)."""
    connections.close_all()  # never share the parent's connection
    customers = 0
    while True:
        chunk_id = queue.get()
        if chunk_id is None:
            break
        customers += compute_free_points_chunk(chunk_id, config).customers
    connections.close_all()
    results.put((customers, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _chunked(config, now, workers: int, chunk_size: int):
    """The nightly task's way: a run of chunks, the chunks taken by `workers` processes."""
    run = start_free_points_run(config, now, chunk_size)
    context = multiprocessing.get_context("fork")
    queue, results = context.Queue(), context.Queue()
    for chunk_id in run.chunk_set.order_by("low").values_list("pk", flat=True):
        queue.put(chunk_id)
    for _ in range(workers):
        queue.put(None)
    connections.close_all()
    processes = [
        context.Process(target=_worker, args=(config, queue, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcome = [results.get() for _ in processes]
    for process in processes:
        process.join()
    run.refresh_from_db()
    assert run.in_force, "the run is not in force"
    return run, sum(row[0] for row in outcome), max(row[1] for row in outcome)


def _stored(run) -> list[tuple]:
    return list(
        FreePointsMonth.objects.filter(run=run, chunk__isnull=True)
        .order_by("month", "currency")
        .values_list("month", "currency", "opening", "issued", "used", "expired", "reversed")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=5, help="per account, on average")
    parser.add_argument("--paid-share", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="chunk worker processes")
    parser.add_argument("--chunk-size", type=int, default=100_000, help="account ids a chunk")
    parser.add_argument("--no-fill", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the reads' plans")
    parser.add_argument(
        "--explain-only", action="store_true", help="print the reads' plans and stop"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")
    call_command("migrate", verbosity=0)
    if not args.no_fill:
        _fill(args.customers, args.entries, args.paid_share)
    config = parse_config({"store-time-zone": "Asia/Tokyo"})
    now = datetime.now(UTC)
    if args.explain or args.explain_only:
        reads = [
            (history_sql(True), ["", now]),  # the base dates
            (history_sql(False), ["", now]),  # the free months in one chunk
            (history_sql(False, True), ["", now, *[1, args.chunk_size] * 2]),  # a chunk
        ]
        for sql, params in reads:
            with connection.cursor() as cursor:  # as the reads run (`_histories`)
                cursor.execute("SET jit = off")
                cursor.execute("SET cursor_tuple_fraction = 1.0")
                cursor.execute("EXPLAIN ANALYZE " + sql, params)
                print("\n".join(line for (line,) in cursor.fetchall()), flush=True)
        if args.explain_only:
            return

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

    started = time.perf_counter()
    one = compute_free_points_months(config, now)
    seconds = time.perf_counter() - started
    print(
        f"free points months, nightly computation in one process ({one.first_month:%Y-%m} to "
        f"{one.last_month:%Y-%m}, {len(_stored(one))} rows): {seconds:.1f} s",
        flush=True,
    )
    started = time.perf_counter()
    run, customers, worker_peak = _chunked(config, now, args.workers, args.chunk_size)
    seconds = time.perf_counter() - started
    print(
        f"  the same in {run.chunks} chunks of {args.chunk_size:,} account ids, {args.workers} "
        f"worker processes: {seconds:.1f} s ({customers:,} customers replayed; largest worker "
        f"{worker_peak:,.0f} MB)",
        flush=True,
    )
    assert _stored(run) == _stored(one), "the chunked run stored other months"
    assert FreePointsRun.objects.get(in_force=True).pk == run.pk

    first = f"{now.year - 2}-{now.month:02d}"
    last = f"{now.year}-{now.month:02d}"
    requests = max(args.repeat, 20)
    seconds, report = _timed(lambda: free_points_report(config, first, last), requests)
    free = report.months
    print(
        f"free points by month, the request ({first} to {last}, {len(free)} rows, computed at "
        f"{report.computed_at:%H:%M:%S}): median {seconds * 1000:.1f} ms of {requests}"
    )
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

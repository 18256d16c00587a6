"""Full RFM recompute at scale, against the scan floor of the same order table.

    bash scripts/bench.sh bench/rfm.py [--customers 1000000] [--orders 10000000] [--workers 2]

Fills the ledger with SQL (bench/fill.py), then measures in the same run:

- the scan floor: an ungrouped `max, count, sum` over the order table (median of 3), which
  every ratio is taken against; and, for reference, the bare `GROUP BY profile` (which spills
  to disk at 1M customers, so it is no floor);
- `recompute_rfm` in one process: first (every score written), then a night as it really is:
  `as_of` one day on and 0.1% new paid orders recorded through the ledger first;
- the same split over `--workers` processes, as Celery workers run it: one `start_recompute`
  (fit and store the cut points), then the chunks (`score_recompute_chunk`) taken from a
  shared queue by each worker, first with every score to write, then the next night;
- where the time of the one-process and the worker runs goes: CPU seconds of the Python
  process(es) and of their PostgreSQL backends (from /proc), against wall time and the cores;
- rescoring one customer against the stored cut points (what a paid order does): `--samples`
  random customers, median and p99;
- peak memory of this process and of the largest worker.
"""

import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.db import connection, connections  # noqa: E402
from fill import ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.customers.models import UNSCORED, CustomerSpend  # noqa: E402
from saleor_crm_plugin.segments.services import (  # noqa: E402
    recompute_rfm,
    rescore_profiles,
    score_recompute_chunk,
    start_recompute,
)

ZONE = ZoneInfo("Asia/Tokyo")
BARE_GROUP_BY = (
    "SELECT profile_id, max(placed_at), count(*), sum(net_spend_amount)"
    " FROM saleor_crm_orderrecord GROUP BY profile_id"
)
SCAN_FLOOR = "SELECT max(placed_at), count(*), sum(net_spend_amount) FROM saleor_crm_orderrecord"
NEW_ORDER_SHARE = 0.001  # a night's new orders: 0.1% of the ledger


def _backend_cpu() -> float:
    """CPU seconds this connection's PostgreSQL backend has used (it runs on this machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return _proc_cpu(pid)


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_now() -> float:
    times = os.times()
    return times.user + times.system


def _a_night(as_of, customers: int, orders: int, seed: int) -> None:
    """Record 0.1% new paid orders of random customers in the day before `as_of`."""
    from fill import paid_order

    from saleor_crm_plugin.customers.ingest import ingest_orders

    rng = random.Random(seed)
    count = max(1, round(orders * NEW_ORDER_SHARE))
    batch = []
    for n in range(count):
        at = as_of - timedelta(seconds=rng.randint(60, 86_000))
        batch.append(paid_order(f"night{seed}-{n}", str(rng.randint(1, customers)), rng, at))
        if len(batch) == 500:
            ingest_orders(batch)
            batch = []
    if batch:
        ingest_orders(batch)


def _timed(label, work):
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.1f} s", flush=True)
    return elapsed, result


def _clear_scores():
    CustomerSpend.objects.filter(segment__isnull=False).update(**UNSCORED)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM saleor_crm_customerspend")


def _worker(queue, results):
    """A chunk worker: take chunk ids until the queue is empty (like a Celery worker)."""
    connections.close_all()  # never share the parent's connection
    written, cpu, backend = 0, _cpu_now(), _backend_cpu()
    while True:
        chunk_id = queue.get()
        if chunk_id is None:
            break
        written += score_recompute_chunk(chunk_id, ZONE).written  # at the run's as_of
    backend = _backend_cpu() - backend
    connections.close_all()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results.put((written, peak, _cpu_now() - cpu, backend))


def _chunked(workers: int, chunk_size: int, as_of):
    run = start_recompute(ZONE, chunk_size, as_of=as_of)
    context = multiprocessing.get_context("fork")
    queue, results = context.Queue(), context.Queue()
    for chunk_id in run.chunk_set.order_by("low").values_list("pk", flat=True):
        queue.put(chunk_id)
    for _ in range(workers):
        queue.put(None)
    connections.close_all()
    processes = [context.Process(target=_worker, args=(queue, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    outcome = [results.get() for _ in processes]
    for process in processes:
        process.join()
    run.refresh_from_db()
    assert run.finished_at is not None, "the run did not finish"
    return (
        run,
        sum(row[0] for row in outcome),
        max(row[1] for row in outcome),
        sum(row[2] for row in outcome),
        sum(row[3] for row in outcome),
    )


def _where(label: str, wall: float, client: float, server: float) -> None:
    cores = os.cpu_count()
    print(
        f"  {label}: wall {wall:.1f} s; CPU {client:.1f} s in Python, {server:.1f} s in "
        f"PostgreSQL: {(client + server) / wall:.2f} of {cores} cores busy",
        flush=True,
    )


def main():
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    prepare_ledger(args)
    from django.utils import timezone

    def median_of_3(label, sql):
        with connection.cursor() as cursor:
            runs = [
                _timed(label, lambda: (cursor.execute(sql), cursor.fetchall()))[0] for _ in range(3)
            ]
        return sorted(runs)[1]

    scan = median_of_3("scan floor: ungrouped max, count, sum over the order table", SCAN_FLOOR)
    bare = median_of_3("bare GROUP BY profile (reference, no floor)", BARE_GROUP_BY)
    print(f"  scan floor median {scan:.1f} s; GROUP BY median {bare:.1f} s", flush=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    night = timezone.now()

    def measured(label, work):
        cpu, backend = _cpu_now(), _backend_cpu()
        elapsed, result = _timed(label, work)
        _where(label, elapsed, _cpu_now() - cpu, _backend_cpu() - backend)
        return elapsed, result

    _clear_scores()
    first, report = measured(
        "one process, first (every score written)", lambda: recompute_rfm(ZONE, as_of=night)
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    night += timedelta(days=1)
    _a_night(night, args.customers, args.orders, seed=1)
    again, again_report = measured(
        "one process, the next night (as_of +1 day, 0.1% new orders)",
        lambda: recompute_rfm(ZONE, as_of=night),
    )
    print(
        f"  scored {report.scored:,}, wrote {report.written:,} then {again_report.written:,}; "
        f"ratio to the scan floor ({scan:.1f} s): {first / scan:.2f}x first, "
        f"{again / scan:.2f}x the next night; peak memory {peak / 1024:,.0f} MB "
        f"(before the recompute {before / 1024:,.0f} MB)",
        flush=True,
    )

    _clear_scores()
    label = f"{args.workers} workers, chunks of {args.chunk_size:,} ids"
    for run_label, seed in (("first (every score written)", None), ("the next night", 2)):
        if seed is not None:
            night += timedelta(days=1)
            _a_night(night, args.customers, args.orders, seed=seed)
        started = time.perf_counter()
        run, written, worker_peak, client, server = _chunked(args.workers, args.chunk_size, night)
        elapsed = time.perf_counter() - started
        print(f"{label}, {run_label}: {elapsed:.1f} s", flush=True)
        _where(f"{label}, {run_label} (the workers)", elapsed, client, server)
        print(
            f"  {run.chunks} chunks, wrote {written:,}; ratio {elapsed / scan:.2f}x the scan "
            f"floor; largest worker peak {worker_peak / 1024:,.0f} MB",
            flush=True,
        )

    # Steady state between recomputes: the bulk writes above leave autovacuum work that
    # would otherwise land in the middle of the samples.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE saleor_crm_customerspend")
    ids = list(
        CustomerSpend.objects.filter(segment__isnull=False)
        .values_list("profile_id", flat=True)
        .order_by("?")[: args.samples]
    )
    random.shuffle(ids)
    times = []
    for profile_id in ids:
        started = time.perf_counter()
        rescore_profiles([profile_id], ZONE, as_of=night)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[max(0, round(0.99 * len(times)) - 1)]
    print(
        f"rescore one customer ({len(times)} random customers): median "
        f"{statistics.median(times):.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()

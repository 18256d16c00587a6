"""Full RFM recompute at scale, against a bare GROUP BY over the same order table.

    bash scripts/bench.sh bench/rfm.py [--customers 1000000] [--orders 10000000] [--workers 2]

Fills the ledger with SQL (bench/fill.py), then measures in the same run:

- the bare `GROUP BY profile` aggregate over the order table (median of 3);
- `recompute_rfm` in one process: first (every score written) and again (only changes);
- the same recompute split over `--workers` processes, as Celery workers run it: one
  `start_recompute` (fit and store the cut points), then the chunks (`score_recompute_chunk`)
  taken from a shared queue by each worker, first with every score to write, then again;
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
    written = 0
    while True:
        chunk_id = queue.get()
        if chunk_id is None:
            break
        written += score_recompute_chunk(chunk_id, ZONE).written
    connections.close_all()
    results.put((written, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _chunked(workers: int, chunk_size: int):
    run = start_recompute(ZONE, chunk_size)
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
    return run, sum(w for w, _ in outcome), max(peak for _, peak in outcome)


def main():
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    prepare_ledger(args)
    with connection.cursor() as cursor:
        bare = [
            _timed(
                "bare GROUP BY profile over the order table",
                lambda: (cursor.execute(BARE_GROUP_BY), cursor.fetchall()),
            )[0]
            for _ in range(3)
        ]
    bare_median = sorted(bare)[1]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    _clear_scores()
    first, report = _timed("one process, first (every score written)", lambda: recompute_rfm(ZONE))
    again, _ = _timed("one process, again (only changes written)", lambda: recompute_rfm(ZONE))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"  scored {report.scored:,}, wrote {report.written:,}; ratio to the bare GROUP BY "
        f"(median {bare_median:.1f} s): {first / bare_median:.2f}x first, "
        f"{again / bare_median:.2f}x again; peak memory {peak / 1024:,.0f} MB "
        f"(before the recompute {before / 1024:,.0f} MB)",
        flush=True,
    )

    _clear_scores()
    label = f"{args.workers} workers, chunks of {args.chunk_size:,} ids"
    chunked_first, (run, written, worker_peak) = _timed(
        f"{label}, first (every score written)", lambda: _chunked(args.workers, args.chunk_size)
    )
    chunked_again, (_run, written_again, _peak) = _timed(
        f"{label}, again", lambda: _chunked(args.workers, args.chunk_size)
    )
    print(
        f"  {run.chunks} chunks, wrote {written:,} then {written_again:,}; ratio "
        f"{chunked_first / bare_median:.2f}x first, {chunked_again / bare_median:.2f}x again; "
        f"largest worker peak {worker_peak / 1024:,.0f} MB",
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
        rescore_profiles([profile_id], ZONE)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[max(0, round(0.99 * len(times)) - 1)]
    print(
        f"rescore one customer ({len(times)} random customers): median "
        f"{statistics.median(times):.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()

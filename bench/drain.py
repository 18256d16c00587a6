"""The drain at scale: worker time per order in batches of 100 and of 1, and the orders per
second two workers sustain.

    bash scripts/bench.sh bench/drain.py [--customers 1000000] [--orders 10000000]
        [--samples 40] [--single 300] [--sustained 10000] [--workers 2] [--no-fill]

Fills the ledger (bench/fill.py) with store accounts for the registered customers, then puts
new paid orders of random registered customers in the sandbox store and records each in the
outbox as a hook does. It times:

- `drain()` of one batch of 100 waiting orders, `--samples` times: the worker's time per order
  (batch time / 100), median and p99; every step of the pipeline included (ledger, rescoring,
  points and ranks, subscriptions, metadata written to the store) and the claim and finish;
- the same with batches of 1, `--single` times;
- `--sustained` waiting orders drained by `--workers` processes at once (each runs the drain
  task's loop, batches of 100): wall time and orders per second.
"""

import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.utils import timezone  # noqa: E402
from fill import ACCOUNTS, ledger_arguments, paid_order, prepare_ledger  # noqa: E402

from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord  # noqa: E402
from saleor_crm_plugin.host import get_host  # noqa: E402
from saleor_crm_plugin.intake.drain import DrainSettings, drain  # noqa: E402
from saleor_crm_plugin.intake.models import PendingChange  # noqa: E402
from saleor_crm_plugin.intake.outbox import record_changes  # noqa: E402
from saleor_crm_plugin.sandbox.models import SandboxOrder  # noqa: E402

LEASE = timedelta(minutes=5)


def _ms(samples):
    ordered = sorted(samples)
    return (
        f"median {1000 * statistics.median(ordered):.1f} ms, "
        f"p99 {1000 * ordered[int(0.99 * (len(ordered) - 1))]:.1f} ms"
    )


def _new_orders(prefix: str, count: int, registered: list[str], rng) -> list[str]:
    """Paid orders of random registered customers, in the store and waiting in the outbox."""
    now = timezone.now()
    snapshots = [
        paid_order(f"{prefix}-{number}", rng.choice(registered), rng, now)
        for number in range(count)
    ]
    SandboxOrder.objects.bulk_create([SandboxOrder.from_snapshot(s) for s in snapshots])
    for snapshot in snapshots:  # one call per order, as each hook makes it
        record_changes(PendingChange.ORDER, [snapshot.order_id])
    return [s.order_id for s in snapshots]


def _per_order(label: str, batch: int, samples: int, registered, rng) -> list[float]:
    host = get_host()
    config = host.config()
    options = DrainSettings(batch_size=batch, lease=LEASE, budget=600)
    times = []
    for sample in range(samples):
        _new_orders(f"drain-{label}-{sample}", batch, registered, rng)
        started = time.perf_counter()
        report = drain(host, config, options)
        times.append((time.perf_counter() - started) / batch)
        assert (report.changes, report.orders, report.failed) == (batch, batch, 0), report
    return times


def _worker() -> None:
    """One drain worker of the sustained run: drain until nothing waits."""
    host = get_host()
    options = DrainSettings(batch_size=100, lease=LEASE, budget=3600)
    report = drain(host, host.config(), options)
    print(f"worker {os.getpid()}: {report.changes:,} changes in {report.batches} batches")


def main():
    if "--worker" in sys.argv:
        _worker()
        return
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--sustained", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    prepare_ledger(args, ACCOUNTS)
    PendingChange.objects.all().delete()
    OrderRecord.objects.filter(order_id__startswith="drain-").delete()
    SandboxOrder.objects.filter(order_id__startswith="drain-").delete()
    registered = list(
        CustomerProfile.objects.filter(user_id__isnull=False).values_list("user_id", flat=True)[
            :200_000
        ]
    )
    rng = random.Random(11)
    _per_order("warm", 100, 2, registered, rng)  # warm the caches the samples share
    batched = _per_order("batched", 100, args.samples, registered, rng)
    print(f"drain, batches of 100 ({args.samples} batches): per order {_ms(batched)}", flush=True)
    single = _per_order("single", 1, args.single, registered, rng)
    print(f"drain, batches of 1 ({args.single} batches): per order {_ms(single)}", flush=True)

    _new_orders("drain-sustained", args.sustained, registered, rng)
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, __file__, "--worker"])  # noqa: S603
        for _ in range(args.workers)
    ]
    for worker in workers:
        worker.wait()
    wall = time.perf_counter() - started
    left = PendingChange.objects.count()
    recorded = OrderRecord.objects.filter(order_id__startswith="drain-sustained-").count()
    print(
        f"sustained, {args.workers} workers: {recorded:,} orders in {wall:.1f} s = "
        f"{recorded / wall:,.0f} orders/s ({left} left waiting)"
    )


if __name__ == "__main__":
    main()

"""Merge and unmerge of a customer with 1,000 orders (PostgreSQL).

    bash scripts/bench.sh bench/merge.py [--customers 200000] [--orders 2000000] [--runs 30]
        [--subject-orders 1000]

Fills the ledger like bench/rfm.py (the store around the two customers), then ingests two
accounts of one person through the ordinary door (`ingest_orders`, then `settle_loyalty`):
the absorbed one with `--subject-orders` paid and fulfilled orders (so 2 points entries each,
earnings and releases, and a rank history), the survivor with 50. Then `--runs` times, after
one warm-up: `merge_profiles` (one transaction: the ledger moved, the merge recorded, both
sides' figures, balances, scores and rank recomputed, two audit events) and
`unmerge_profiles`; prints the median and p95 of each and of the pair, and checks that each
unmerge left both customers' orders and points entries as they were.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from dataclasses import replace  # noqa: E402

from django.utils import timezone  # noqa: E402
from fill import ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.conf import parse_config  # noqa: E402
from saleor_crm_plugin.customers.ingest import ingest_orders  # noqa: E402
from saleor_crm_plugin.customers.merges import merge_profiles, unmerge_profiles  # noqa: E402
from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord  # noqa: E402
from saleor_crm_plugin.customers.snapshots import OrderStatus  # noqa: E402
from saleor_crm_plugin.host import get_host  # noqa: E402
from saleor_crm_plugin.loyalty.models import PointsEntry  # noqa: E402
from saleor_crm_plugin.loyalty.orders import settle_loyalty  # noqa: E402
from tests.factories import order  # noqa: E402

CONFIG = parse_config(
    {
        "store-time-zone": "Asia/Tokyo",
        "ranks": "Regular (REGULAR)\nSilver (SILVER): orders 10\nGold (GOLD): orders 500; points x2",
        "rank-window": "lifetime",
        "points-earn-rates": "JPY: 1 per 100",
        "points-expiry": "never",
    }
)
STAFF = "staff:1"


def _subject(user_id: str, count: int, now):
    snapshots = []
    for n in range(count):
        at = now - timedelta(days=count - n, hours=3)
        placed = order(
            f"merge-{user_id}-{n}",
            user_id=user_id,
            email=f"merge{user_id}@example.com",
            total=str(1000 + n % 50 * 100),
            placed_at=at,
        )
        snapshots.append(
            replace(placed, status=OrderStatus.FULFILLED, fulfilled_at=at + timedelta(days=1))
        )
    for start in range(0, count, 500):
        result = ingest_orders(snapshots[start : start + 500])
        settle_loyalty(CONFIG, get_host(), result.profile_ids, now)
    return CustomerProfile.objects.get(user_id=user_id)


def _ledger(*profiles):
    return {
        p.pk: (
            sorted(OrderRecord.objects.filter(profile=p).values_list("order_id", "merged_from")),
            sorted(PointsEntry.objects.filter(account__profile=p).values_list("key", "points")),
        )
        for p in profiles
    }


def _p95(values):
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main():
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.set_defaults(customers=200_000, orders=2_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--subject-orders", type=int, default=1000)
    args = parser.parse_args()
    prepare_ledger(args)
    now = timezone.now()
    started = time.perf_counter()
    absorbed = _subject("9000001", args.subject_orders, now)
    survivor = _subject("9000002", 50, now)
    print(
        f"two accounts ingested ({absorbed.order_count:,} and {survivor.order_count:,} orders, "
        f"{PointsEntry.objects.filter(account__profile=absorbed).count():,} and "
        f"{PointsEntry.objects.filter(account__profile=survivor).count():,} points entries): "
        f"{time.perf_counter() - started:.1f} s"
    )
    before = _ledger(absorbed, survivor)
    merges, unmerges = [], []
    for run in range(args.runs + 1):
        started = time.perf_counter()
        merge = merge_profiles(CONFIG, absorbed.pk, survivor.pk, STAFF, now=timezone.now())
        merged = time.perf_counter() - started
        started = time.perf_counter()
        unmerge_profiles(CONFIG, merge.pk, STAFF, now=timezone.now())
        unmerged = time.perf_counter() - started
        if _ledger(absorbed, survivor) != before:
            sys.exit(f"run {run}: the unmerge did not restore both ledgers")
        if run:  # the first is the warm-up
            merges.append(merged)
            unmerges.append(unmerged)
    pairs = [m + u for m, u in zip(merges, unmerges, strict=True)]
    moved = len(merge.moved["order"]), len(merge.moved["points"]), len(merge.moved["rank_change"])
    print(
        f"each merge moved {moved[0]:,} orders, {moved[1]:,} points entries, {moved[2]} rank changes"
    )
    for label, values in (("merge", merges), ("unmerge", unmerges), ("merge + unmerge", pairs)):
        print(
            f"{label}: median {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {_p95(values) * 1000:.0f} ms ({len(values)} runs)"
        )
    print("every unmerge left both ledgers as they were")


if __name__ == "__main__":
    main()

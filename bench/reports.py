"""The repeat and retention reports over the bench ledger: reading it, each report, storing.

    bash scripts/bench.sh bench/reports.py [--customers 1000000] [--orders 10000000] [--no-fill]

Fills the ledger with SQL (bench/fill.py: skewed repeat buying, JPY, one channel) and adds
1-3 lines an order (1.34 on average) of 2,000 products (a skewed pick: power(random(), 2)),
3 variants each, 50 categories. Then, in this process: the ledger read by COPY into pandas
(`report_services.ledger_frames`), each report of `analytics.reports` on the frames (the
repeat rate per product, variant and category; F2; cohorts; LTV by segment, rank and first
product), and the whole nightly computation (`compute_reports`: read, compute, store, put in
force). Wall time of each step and the process's peak RSS after it.

With one channel the channel rows are the whole store's (copied, not computed again): a store
with N channels computes each report N + 1 times.
"""

import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from fill import ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.analytics import reports  # noqa: E402
from saleor_crm_plugin.analytics.report_services import (  # noqa: E402
    _groups,
    compute_reports,
    ledger_frames,
)

LINES = """
TRUNCATE saleor_crm_orderlinerecord;
INSERT INTO saleor_crm_orderlinerecord
    (order_id, line_id, variant_id, product_id, category_id, product_name, quantity,
     unit_price_gross_amount, currency)
SELECT o.id, o.id || '-' || l.n, 'V' || (l.p * 3 + (o.id + l.n) % 3), 'P' || l.p,
       'C' || (l.p % 50), 'Product ' || l.p, 1, 1000, 'JPY'
FROM saleor_crm_orderrecord o,
     LATERAL (SELECT n, floor(2000 * power(random(), 2))::int AS p
              FROM generate_series(1, 1 + (o.id % 5 = 0)::int + (o.id % 7 = 0)::int) AS n) l;
ANALYZE saleor_crm_orderlinerecord;
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, step):
    started = time.perf_counter()
    result = step()
    print(
        f"{label}: {time.perf_counter() - started:.2f} s (peak RSS {peak_mb():,.0f} MB)",
        flush=True,
    )
    return result


def main() -> None:
    args = ledger_arguments(__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    prepare_ledger(args, LINES)
    if not args.no_fill:
        print(f"fill with lines: {time.perf_counter() - started:.1f} s", flush=True)
    as_of = datetime.now(UTC)
    orders, lines = timed("read the ledger (COPY into pandas)", lambda: ledger_frames(as_of))
    print(f"  {len(orders):,} orders, {len(lines):,} lines", flush=True)
    segments, ranks = timed("read segments and ranks", _groups)
    for level in ("product_id", "variant_id", "category_id"):
        table = timed(
            f"repeat rate per {level.removesuffix('_id')}",
            lambda level=level: reports.product_repeat(orders, lines, as_of, item=level),
        )
        print(f"  {len(table):,} rows", flush=True)
    table = timed("F2 conversion", lambda: reports.f2_conversion(orders, lines, as_of))
    print(f"  {len(table):,} rows", flush=True)
    table = timed("cohort retention", lambda: reports.cohort_retention(orders, as_of))
    print(f"  {len(table):,} rows", flush=True)
    table = timed(
        "LTV by segment, rank, first product",
        lambda: reports.ltv_by_group(orders, lines, as_of, segments=segments, ranks=ranks),
    )
    print(f"  {len(table):,} rows", flush=True)
    orders = lines = table = None  # the frames go before the whole run reads them again
    run = timed(
        "compute_reports (read, compute, store, in force)",
        lambda: compute_reports(as_of, as_of, ["bronze"]),
    )
    print(f"  steps: {run.seconds}", flush=True)


if __name__ == "__main__":
    main()

"""The Dashboard's pages at scale: each page's one GraphQL request with 1M customer profiles.

    bash scripts/bench.sh bench/dashboard.py [--customers 1000000] [--orders 10000000]
        [--samples 50] [--workers 2] [--no-fill]

Fills the ledger (bench/fill.py) unless `--no-fill`, scores everyone once when no segment sizes
are stored yet, and gives every customer without one a rank (by order count, by SQL). Then it
times the hourly refresh of the stored figures (`analytics.figures`) and, through the Django test client as Dashboard's page does (staff token, POST to the
plugin's GraphQL path), the Overview request (`dashboard.views.OVERVIEW_QUERY`: segment sizes
and their history, the R-by-F grid, customers per rank, outstanding points, subscription
figures) and the page shell: median and p95 of `--samples`, and the time of each part alone.
Then the other pages' requests (Customers, Segments, Loyalty, Subscriptions), the Loyalty page's
what-if preview of a rank table over everyone, and what saving a table costs afterwards: the
review of every rank that `apply_rank_settings_task` starts, its chunk tasks run by `--workers`
processes as Celery workers would, once with the changes and once again (nothing changes);
then the original table is saved and applied the same way, so the ledger ends as it began.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from fill import ACCOUNTS, ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.dashboard.views import (  # noqa: E402
    CUSTOMERS_PAGE_QUERY,
    LOYALTY_PAGE_QUERY,
    OVERVIEW_QUERY,
    SEGMENTS_PAGE_QUERY,
    SUBSCRIPTIONS_PAGE_QUERY,
)
from saleor_crm_plugin.sandbox.models import SandboxUser  # noqa: E402

RANKS = """
INSERT INTO saleor_crm_memberrank
    (profile_id, code, since, rule_version, pin_code, pin_reason, pinned_by, voucher_code,
     voucher_rank, updated_at)
SELECT p.id, CASE WHEN p.order_count >= 20 THEN 'PLATINUM' WHEN p.order_count >= 10 THEN 'GOLD'
                  WHEN p.order_count >= 5 THEN 'SILVER' ELSE 'REGULAR' END,
       now(), 'bench', '', '', '', '', '', now()
FROM saleor_crm_customerprofile p
-- NOT IN (a hashed set, read once): NOT EXISTS re-reads the table it fills, row by row
WHERE p.id NOT IN (SELECT profile_id FROM saleor_crm_memberrank);
"""
PARTS = {
    "segments + grid + history": "{ crmRfm { group customers segments { name customers share "
    "revenue { amount currency } } grid { r customersByF } history(limit: 12) { computedAt "
    "customers segments { name customers } } } }",
    "customers per rank": "{ crmRankDistribution { code customers } }",
    "stored points and subscription figures": "{ crmOverviewFigures { pointsComputedAt "
    "pointsLiability { available } subscriptions { active } } }",
}


def _stats(samples) -> str:
    ordered = sorted(samples)
    return (
        f"median {1000 * statistics.median(ordered):.0f} ms, "
        f"p95 {1000 * ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms"
    )


def main() -> None:
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    prepare_ledger(args)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM saleor_crm_segmentsize")
        (sizes,) = cursor.fetchone()
    if not sizes:
        from zoneinfo import ZoneInfo

        from saleor_crm_plugin.segments.services import recompute_rfm

        recompute_rfm(ZoneInfo("UTC"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM saleor_crm_sandbox_sandboxuser")
        if cursor.fetchone()[0] < 1_000:  # the store accounts ranks' vouchers and metadata need
            cursor.execute(ACCOUNTS)
            cursor.execute("VACUUM ANALYZE saleor_crm_sandbox_sandboxuser")
        cursor.execute(RANKS)
        cursor.execute("VACUUM ANALYZE saleor_crm_memberrank")
        cursor.execute("SELECT count(*) FROM saleor_crm_customerprofile")
        (profiles,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM saleor_crm_memberrank")
        (ranked,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM saleor_crm_subscription")
        (subscriptions,) = cursor.fetchone()
    print(f"{profiles:,} profiles, {ranked:,} ranked, {subscriptions:,} subscriptions", flush=True)
    SandboxUser.objects.filter(email="dashboard-staff@example.com").delete()
    staff = SandboxUser.objects.create(
        email="dashboard-staff@example.com",
        is_staff=True,
        permissions=["MANAGE_USERS"],
        date_joined=timezone.now(),
        updated_at=timezone.now(),
    )
    token = staff.issue_token()
    client = Client()

    def post(query, variables=None):
        started = time.perf_counter()
        response = client.post(
            "/plugins/global/saleor.crm/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        elapsed = time.perf_counter() - started
        body = response.json()
        if "errors" in body:
            sys.exit(f"GraphQL error: {body['errors']}")
        return elapsed

    from saleor_crm_plugin.analytics.figures import KINDS, refresh

    for kind in KINDS:  # what the hourly tasks spend keeping the stored figures
        started = time.perf_counter()
        refresh(kind, timezone.now())
        print(f"hourly refresh of {kind}: {time.perf_counter() - started:.1f} s", flush=True)
    post(OVERVIEW_QUERY)  # warm
    print(f"Overview request: {_stats([post(OVERVIEW_QUERY) for _ in range(args.samples)])}")
    for name, query in PARTS.items():
        print(f"  {name}: {_stats([post(query) for _ in range(max(5, args.samples // 5))])}")
    shell = []
    for _ in range(args.samples):
        started = time.perf_counter()
        client.get("/plugins/global/saleor.crm/dashboard/overview?theme=dark")
        shell.append(time.perf_counter() - started)
    print(f"page shell: {_stats(shell)}", flush=True)
    pages = {
        "Customers page (newest orders first)": (
            CUSTOMERS_PAGE_QUERY,
            {"filter": {}, "sort": {"field": "LAST_ORDER_AT", "direction": "DESC"}},
        ),
        "Customers page (5+ orders, by count)": (
            CUSTOMERS_PAGE_QUERY,
            {
                "filter": {"numberOfOrders": {"gte": 5}},
                "sort": {"field": "ORDER_COUNT", "direction": "DESC"},
            },
        ),
        "Segments page (built-ins counted now)": (SEGMENTS_PAGE_QUERY, {}),
        "Loyalty page": (LOYALTY_PAGE_QUERY, {}),
        "Subscriptions page (needs attention)": (
            SUBSCRIPTIONS_PAGE_QUERY,
            {"filter": {"status": "attention"}},
        ),
    }
    for name, (query, variables) in pages.items():
        post(query, variables)
        print(
            f"{name}: {_stats([post(query, variables) for _ in range(max(5, args.samples // 5))])}",
            flush=True,
        )
    _rank_table(post, args.workers)


def _apply_worker(queue, results) -> None:
    """A Celery worker's share of the review after a save: take id ranges until none is left."""
    import resource

    from django.db import connections

    from saleor_crm_plugin.tasks import review_ranks_chunk_task

    connections.close_all()  # never share the parent's connection
    changed = 0
    while (task := queue.get()) is not None:
        changed += review_ranks_chunk_task(*task).get("changed", 0)
    connections.close_all()
    results.put((changed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _apply(version: str, workers: int) -> tuple[float, int, int]:
    """The review `apply_rank_settings_task` starts, its chunk tasks run by `workers`
    processes: wall time, ranks changed, the largest worker's peak memory (KB)."""
    import multiprocessing

    from django.db import connections

    from saleor_crm_plugin.customers.models import profile_id_ranges
    from saleor_crm_plugin.task_options import chunk_size

    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    queue, results = context.Queue(), context.Queue()
    for low, high in profile_id_ranges(chunk_size()):
        queue.put((low, high, True, version))
    for _ in range(workers):
        queue.put(None)
    connections.close_all()
    processes = [
        context.Process(target=_apply_worker, args=(queue, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcome = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return time.perf_counter() - started, sum(c for c, _ in outcome), max(p for _, p in outcome)


def _rank_table(post, workers: int) -> None:
    from saleor_crm_plugin.host import get_host
    from saleor_crm_plugin.loyalty import membership
    from saleor_crm_plugin.loyalty.models import MemberRank
    from saleor_crm_plugin.sandbox.models import SandboxSettings

    SandboxSettings.objects.all().delete()  # an interrupted run may have left its draft saved
    host = get_host()
    config = host.config()
    original = config.loyalty.ladder_text
    draft = original.replace("orders 3 or", "orders 2 or")
    preview = "query($r: String!) { crmRankPreview(ranks: $r) { code customersDraft movingUp } }"
    print(
        f"rank what-if preview over everyone: {_stats([post(preview, {'r': draft}) for _ in range(3)])}",
        flush=True,
    )
    members = MemberRank.objects.count()
    for label, text in (("the draft", draft), ("the original table again", original)):
        saved = membership.save_rank_settings(
            host,
            ranks=text,
            window=None,
            inactive_months=None,
            version=host.config().loyalty.ladder_version,
            actor="bench",
            now=timezone.now(),
        )  # its own apply_rank_settings task goes to the in-memory broker: nobody runs it
        version = saved.loyalty.ladder_version
        for run in ("", ", again"):
            elapsed, changed, peak = _apply(version, workers)
            print(
                f"saving {label}, then reviewing every rank{run}: {elapsed:.0f} s with "
                f"{workers} workers ({changed:,} of {members:,} ranks changed, "
                f"{1000 * elapsed * workers / max(members, 1):.2f} ms a member a worker, "
                f"peak {peak / 1024:.0f} MB a worker)",
                flush=True,
            )


if __name__ == "__main__":
    main()

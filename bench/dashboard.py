"""The Dashboard's Overview page at scale: its one GraphQL request with 1M customer profiles.

    bash scripts/bench.sh bench/dashboard.py [--customers 1000000] [--orders 10000000]
        [--samples 50] [--no-fill]

Fills the ledger (bench/fill.py) unless `--no-fill`, scores everyone once when no segment sizes
are stored yet, and gives every customer without one a rank (by order count, by SQL). Then it
times the hourly refresh of the stored figures (`analytics.figures`) and, through the Django test client as Dashboard's page does (staff token, POST to the
plugin's GraphQL path), the Overview request (`dashboard.views.OVERVIEW_QUERY`: segment sizes
and their history, the R-by-F grid, customers per rank, outstanding points, subscription
figures) and the page shell: median and p95 of `--samples`, and the time of each part alone.
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
from fill import ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.dashboard.views import OVERVIEW_QUERY  # noqa: E402
from saleor_crm_plugin.sandbox.models import SandboxUser  # noqa: E402

RANKS = """
INSERT INTO saleor_crm_memberrank
    (profile_id, code, since, rule_version, pin_code, pin_reason, pinned_by, voucher_code,
     voucher_rank, updated_at)
SELECT p.id, CASE WHEN p.order_count >= 20 THEN 'PLATINUM' WHEN p.order_count >= 10 THEN 'GOLD'
                  WHEN p.order_count >= 5 THEN 'SILVER' ELSE 'REGULAR' END,
       now(), 'bench', '', '', '', '', '', now()
FROM saleor_crm_customerprofile p
WHERE NOT EXISTS (SELECT 1 FROM saleor_crm_memberrank m WHERE m.profile_id = p.id);
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

    def post(query):
        started = time.perf_counter()
        response = client.post(
            "/plugins/global/saleor.crm/graphql/",
            data=json.dumps({"query": query}),
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


if __name__ == "__main__":
    main()

"""Rule segment and customer search latency over 1M profiles (PostgreSQL).

    bash scripts/bench.sh bench/search.py [--customers 1000000] [--orders 10000000] [--runs 40]

Fills the ledger like bench/rfm.py (plus store accounts with a prefecture for 70% of the
customers), scores everyone once, then times through the GraphQL endpoint (HTTP, staff token):

- a three-condition rule segment preview (count + first 20 rows):
  spent >= 20,000 JPY AND days since last order >= 90 AND RFM segment in (At Risk,
  Can't Lose Them);
- a filtered, sorted customer search page (first 20 + totalCount):
  2+ orders, last order in the past year, sorted by total spent (JPY) descending; its
  `totalCount` counts up to 10,000 (`totalCountIsExact` false beyond), interleaved run by run
  with a same-run baseline: the same request with the exact count it had before (the resolver's
  `count_up_to` swapped for a full count in this process), and with the page's rows alone (no
  count: the floor); then the capped count alone, in process;
- the exact count of that filter alone (`crmCustomerCount`, what the Customers page asks for
  after showing "10,000+");
- the same page filtered by prefecture (a field the store keeps, joined in the same query).

Each is run `--runs` times after one warm-up; the median and p95 are printed. `--search-only`
stops after the search page and the exact count (no prefecture page, no CSV export).

Then the CSV export of every customer (a rule matching all 1M, through the export endpoint,
streamed and counted chunk by chunk): wall time, rows per second and how much the process's
peak memory grew while it ran.
"""

import json
import os
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

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from fill import ACCOUNTS, ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.customers.search import (  # noqa: E402
    count_up_to,
    customer_filter_from,
    search_profiles,
)
from saleor_crm_plugin.sandbox.models import SandboxUser  # noqa: E402
from saleor_crm_plugin.segments.services import recompute_rfm  # noqa: E402

PREVIEW = """query($rule: JSONString!) {
  crmSegmentPreview(rule: $rule, first: 20) { customers sample { email orderCount } } }"""
RULE = {
    "all": [
        {"field": "total_spent", "op": "gte", "value": 20000, "currency": "JPY"},
        {"field": "days_since_last_order", "op": "gte", "value": 90},
        {"field": "segment", "op": "in", "group": "JPY", "value": ["At Risk", "Can't Lose Them"]},
    ]
}
SEARCH = """query($filter: CRMCustomerFilterInput) {
  crmCustomers(first: 20, filter: $filter,
               sortBy: {field: TOTAL_SPENT, direction: DESC, currency: "JPY"}) {
    totalCount totalCountIsExact edges { node { email name city orderCount lastOrderAt
      spends { totalSpent { amount } } scores { segment } } } } }"""


COUNT = """query($filter: CRMCustomerFilterInput) { crmCustomerCount(filter: $filter) }"""


def _p95(times):
    times = sorted(times)
    return times[max(0, round(0.95 * len(times)) - 1)]


def _timed_pair(labels, works, runs):
    """Time requests alternately (one warm-up each), so all see the same machine."""
    times = tuple([] for _ in works)
    for work in works:
        work()
    for _ in range(runs):
        for index, work in enumerate(works):
            started = time.perf_counter()
            work()
            times[index].append((time.perf_counter() - started) * 1000)
    for label, measured in zip(labels, times, strict=True):
        print(
            f"{label}: median {statistics.median(measured):.1f} ms, "
            f"p95 {_p95(measured):.1f} ms ({runs} runs)"
        )


def _exact_count(queryset, limit):
    """The count before the cap: every match (the resolver's `count_up_to`, swapped in)."""
    return queryset.count(), True


def _timed_runs(label, work, runs):
    work()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"{label}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({runs} runs)")
    return times


def main():
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--search-only", action="store_true")
    args = parser.parse_args()
    prepare_ledger(args, extra_sql=ACCOUNTS)
    started = time.perf_counter()
    report = recompute_rfm(ZoneInfo("UTC"))
    print(f"scored {report.scored:,} in {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    SandboxUser.objects.filter(email="staff@example.com").delete()

    staff = SandboxUser.objects.create(
        email="staff@example.com",
        is_staff=True,
        permissions=["MANAGE_USERS"],
        date_joined=django.utils.timezone.now(),
        updated_at=django.utils.timezone.now(),
    )
    token = staff.issue_token()
    client = Client()

    def post(query, variables):
        response = client.post(
            "/graphql/",
            data=json.dumps({"query": query, "variables": variables}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        body = response.json()
        if "errors" in body:
            sys.exit(f"GraphQL error: {body['errors']}")
        return body["data"]

    year_ago = (django.utils.timezone.now() - django.utils.timezone.timedelta(days=365)).isoformat()
    search = {"numberOfOrders": {"gte": 2}, "lastOrderAt": {"gte": year_ago}}
    by_area = {**search, "rule": {"field": "country_area", "op": "in", "value": ["東京都"]}}
    rule_size = post(PREVIEW, {"rule": RULE})["crmSegmentPreview"]["customers"]
    search_size = post(COUNT, {"filter": search})["crmCustomerCount"]
    area_size = post(COUNT, {"filter": by_area})["crmCustomerCount"]
    page = post(SEARCH, {"filter": search})["crmCustomers"]
    print(
        f"rule selects {rule_size:,}; search matches {search_size:,} (the page says "
        f"{page['totalCount']:,}, exact: {page['totalCountIsExact']}); in Tokyo {area_size:,}"
    )
    _timed_runs("three-condition rule preview", lambda: post(PREVIEW, {"rule": RULE}), args.runs)

    from saleor_crm_plugin.graphql.customers import resolvers

    capped = resolvers.count_up_to

    def page_with(count):
        def send():
            resolvers.count_up_to = count
            try:
                return post(SEARCH, {"filter": search})
            finally:
                resolvers.count_up_to = capped

        return send

    rows_only = SEARCH.replace("totalCount totalCountIsExact ", "")

    def page_without_count():
        resolvers.count_up_to = lambda queryset, limit: (0, False)  # the rows alone
        try:
            return post(rows_only, {"filter": search})
        finally:
            resolvers.count_up_to = capped

    _timed_pair(
        (
            "search page sorted by spend, totalCount capped at 10,000",
            "search page sorted by spend, exact totalCount (baseline)",
            "the same page's rows without any count (floor)",
        ),
        (page_with(capped), page_with(_exact_count), page_without_count),
        args.runs,
    )
    queryset = search_profiles(
        customer_filter_from(search), "TOTAL_SPENT", descending=True, sort_currency="JPY"
    )
    _timed_runs(
        "the capped count alone, in process (count over LIMIT 10001)",
        lambda: count_up_to(queryset),
        args.runs,
    )
    _timed_runs(
        "exact count alone (crmCustomerCount)", lambda: post(COUNT, {"filter": search}), args.runs
    )
    if args.search_only:
        return
    _timed_runs(
        "search page in one prefecture", lambda: post(SEARCH, {"filter": by_area}), args.runs
    )

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.post(
        "/export/customers.csv",
        data=json.dumps({"rule": {"field": "order_count", "op": "gte", "value": 0}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"CSV export of every customer: {lines - 1:,} rows, {size / 2**20:,.0f} MiB in "
        f"{elapsed:.1f} s ({(lines - 1) / elapsed:,.0f} rows/s); peak memory "
        f"{before / 1024:,.0f} MB before, {peak / 1024:,.0f} MB after"
    )


if __name__ == "__main__":
    main()

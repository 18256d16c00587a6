"""What a storefront customer's one request may cost our GraphQL endpoint, limits off and on.

    bash scripts/bench.sh bench/graphql_cost.py [--runs 10] [--normal-runs 200] [--entries 150]

The sandbox on PostgreSQL, served over real HTTP (Django's threaded WSGI server on 127.0.0.1),
one customer with `--entries` points entries (staff adjustments through `crmPointsAdjust`) and
a customer token (no subscriptions: `crmSubscriptions` reads an empty list). It times:

- one request of N aliases under `me` (N = 100 and 400), half `crmPoints { balance
  history(first: 100) { edges { node { ... } } } }` and half `crmSubscriptions { ... }`, with the
  limits off (`GRAPHQL_QUERY_MAX_COMPLEXITY`, `GRAPHQL_ALIAS_COUNT_LIMIT` and
  `CRM_GRAPHQL_MAX_DEPTH` at 0: what the endpoint did before) and with the defaults (refused
  with HTTP 400 before anything runs);
- the refusals alone in process (parse + cost + aliases + depth of the N-alias documents);
- a normal storefront request (membership, balance, a page of 20 entries), limits on and off
  interleaved, and the check alone in process (parse + cost + aliases + depth): its overhead.

Median and p95 of each, in ms.
"""

import base64
import json
import logging
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from graphql.language.parser import parse  # noqa: E402

from saleor_crm_plugin.customers.models import CustomerProfile  # noqa: E402
from saleor_crm_plugin.graphql.core.limits import check_query, query_limits  # noqa: E402
from saleor_crm_plugin.graphql.schema import schema  # noqa: E402
from saleor_crm_plugin.sandbox.models import SandboxUser  # noqa: E402

HISTORY = "crmPoints { balance history(first: 100) { edges { node { kind points at reason } } } }"
SUBSCRIPTIONS = "crmSubscriptions { id status interval nextDeliveryOn lines { productName } }"
NORMAL = """{ me {
  crmMembership { rank { code name } nextRank { name } remainingToNextRank { orders } }
  crmPoints { balance pending owed history(first: 20) { edges { node { kind points at reason } } } }
} }"""
ADJUST = """mutation($customerId: ID!, $points: Int!, $requestId: String!) {
  crmPointsAdjust(customerId: $customerId, points: $points, reason: "bench",
                  requestId: $requestId) { errors { field message } } }"""
LIMITS_OFF = {
    "GRAPHQL_QUERY_MAX_COMPLEXITY": 0,
    "GRAPHQL_ALIAS_COUNT_LIMIT": 0,
    "CRM_GRAPHQL_MAX_DEPTH": 0,
}


def aliases(count: int) -> str:
    fields = [
        f"p{index}: {HISTORY}" if index % 2 == 0 else f"s{index}: {SUBSCRIPTIONS}"
        for index in range(count)
    ]
    return "{ me { " + " ".join(fields) + " } }"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve() -> str:
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/graphql/"


def post(url: str, query: str, token: str, variables: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 (our own server's http URL)
        url,
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms ({len(ordered)} runs)"


def timed(work, runs: int) -> tuple[list[float], object]:
    result = work()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--normal-runs", type=int, default=200)
    parser.add_argument("--entries", type=int, default=150)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    logging.getLogger("django.request").setLevel(logging.ERROR)  # no line per refused request
    SandboxUser.objects.filter(email__in=["bench-staff@example.com", "bench@example.com"]).delete()
    now = timezone.now()
    staff = SandboxUser.objects.create(
        email="bench-staff@example.com",
        is_staff=True,
        permissions=["MANAGE_USERS"],
        date_joined=now,
        updated_at=now,
    )
    customer = SandboxUser.objects.create(
        email="bench@example.com", date_joined=now, updated_at=now
    )
    staff_token, customer_token = staff.issue_token(), customer.issue_token()
    CustomerProfile.objects.create(user_id=str(customer.pk))  # as their first order would
    url = serve()
    customer_id = base64.b64encode(f"User:{customer.pk}".encode()).decode()
    for index in range(args.entries):
        variables = {"customerId": customer_id, "points": 10, "requestId": f"bench-{index}"}
        status, answer = post(url, ADJUST, staff_token, variables)
        if status != 200 or answer["data"]["crmPointsAdjust"]["errors"]:
            sys.exit(f"could not add points: {answer}")
    print(f"customer with {args.entries} points entries; limits by default: {query_limits()}")

    for count in (100, 400):
        query = aliases(count)
        with override_settings(**LIMITS_OFF):
            times, (status, answer) = timed(lambda q=query: post(url, q, customer_token), args.runs)
        if status != 200 or "errors" in answer:
            sys.exit(f"{count} aliases with the limits off failed: {status} {answer}")
        rows = sum(
            len(v["history"]["edges"]) for k, v in answer["data"]["me"].items() if k[0] == "p"
        )
        print(
            f"{count} aliases, limits off: HTTP {status}, {rows:,} entries read; {summary(times)}"
        )
        times, (status, answer) = timed(lambda q=query: post(url, q, customer_token), args.runs)
        messages = "; ".join(error["message"] for error in answer["errors"])
        print(f"{count} aliases, limits on: HTTP {status} ({messages}); {summary(times)}")
        checks, _ = timed(lambda q=query: check_query(schema, parse(q), {}, query_limits()), 50)
        print(f"{count} aliases, the refusal in process (parse + limits): {summary(checks)}")

    status, answer = post(url, NORMAL, customer_token)
    if status != 200 or "errors" in answer:
        sys.exit(f"the normal query failed: {status} {answer}")
    document = parse(NORMAL)
    cost, _ = check_query(schema, document, {}, query_limits())
    on, off = [], []
    post(url, NORMAL, customer_token)
    for _ in range(args.normal_runs):
        for times, settings in ((on, {}), (off, LIMITS_OFF)):
            with override_settings(**settings):
                started = time.perf_counter()
                post(url, NORMAL, customer_token)
                times.append((time.perf_counter() - started) * 1000)
    print(f"normal storefront request (cost {cost}), limits on: {summary(on)}")
    print(f"normal storefront request, limits off: {summary(off)}")
    checks = []
    for _ in range(2000):
        started = time.perf_counter()
        check_query(schema, parse(NORMAL), {}, query_limits())
        checks.append((time.perf_counter() - started) * 1000)
    parses = []
    for _ in range(2000):
        started = time.perf_counter()
        parse(NORMAL)
        parses.append((time.perf_counter() - started) * 1000)
    print(
        f"the check in process: parse + limits median {statistics.median(checks) * 1000:.0f} µs "
        f"(of which parsing {statistics.median(parses) * 1000:.0f} µs, done once: the view "
        f"executes the parsed document)"
    )


if __name__ == "__main__":
    main()

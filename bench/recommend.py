"""Storefront recommendations at scale: `crmAlsoBought` and `me { crmRecommendations }` over HTTP.

    bash scripts/bench.sh bench/recommend.py [--orders 1000000] [--products 2000]
        [--samples 1000] [--no-fill]

The ledger is bench/baskets.py's (`draw` + `fill`, the `store` shape: 1M orders, about 1.75M
lines and 135,000 customers over three years, one channel, 2,000 products picked with
`products * random()^2`), with the sandbox store's catalogue: every tenth product is not sold
in the channel (only what is sold may be offered). The nightly services then run once:
`compute_baskets` (within 30 days, pairs of 5+ customers or orders) and `compute_reports`.

Then, through the Django test client as a storefront calls it (POST /graphql/, JSON):

- `crmAlsoBought(product, channel, first: 5)`, anonymous, for `--samples` products drawn as
  shoppers view them (as often as they are bought: popular products have the most pairs);
- `me { crmRecommendations(channel, first: 5) }` with the customer's token, for `--samples`
  customers drawn at random among those with an order, and for the 50 with the most orders.

Each prints the median, p95 and p99 wall time of a request and the SQL queries of one.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from baskets import AS_OF, draw, fill, timed  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from saleor_crm_plugin.analytics.basket_services import compute_baskets  # noqa: E402
from saleor_crm_plugin.analytics.report_services import compute_reports  # noqa: E402
from saleor_crm_plugin.customers.models import CustomerProfile  # noqa: E402
from saleor_crm_plugin.sandbox.models import SandboxProduct, SandboxUser  # noqa: E402

CHANNEL = "channel-jpy"
PICK = "productId name reason score because { productId name lastBoughtAt usualIntervalDays }"
ALSO_BOUGHT = f"""query($product: ID!, $channel: String!) {{
  crmAlsoBought(product: $product, channel: $channel) {{ {PICK} }} }}"""
MINE = f"""query($channel: String!) {{ me {{ crmRecommendations(channel: $channel) {{ {PICK} }} }} }}"""


def product_id(index: int) -> str:
    return f"UHJvZHVjdDo{index:06d}"  # bench/baskets.py's ids


def prepare(args) -> None:
    data = draw(args.orders, args.products, "store", args.seed)
    timed(f"fill the ledger ({args.orders:,} orders)", lambda: fill(data))
    SandboxProduct.objects.all().delete()
    SandboxProduct.objects.bulk_create(
        SandboxProduct(
            product_id=product_id(i),
            name=f"Product {i}",
            channels=[] if i % 10 == 9 else [CHANNEL],
        )
        for i in range(args.products)
    )
    runs = timed("compute_baskets", lambda: compute_baskets(AS_OF, 30, 5, 0.0))
    for run in runs:
        print(f"  {run.kind}: {run.pairs:,} pairs", flush=True)
    timed("compute_reports", lambda: compute_reports(AS_OF, AS_OF, []))


def tokens(profile_ids: list[int]) -> list[str]:
    """A store account with a token for each profile (user id = profile id in this ledger)."""
    users = {u.pk: u for u in SandboxUser.objects.filter(pk__in=profile_ids)}
    found = []
    for pk in profile_ids:
        user = users.get(pk) or SandboxUser.objects.create(
            pk=pk, email=f"c{pk}@example.com", date_joined=AS_OF, updated_at=AS_OF
        )
        found.append(user.api_token or user.issue_token())
    return found


def measure(label: str, client: Client, calls: list[tuple[str, dict, str | None]]) -> None:
    def send(query, variables, token):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        response = client.post(
            "/graphql/",
            data=json.dumps({"query": query, "variables": variables}),
            content_type="application/json",
            **headers,
        )
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            sys.exit(f"the request failed: {body}")
        return body

    for call in calls[:20]:  # warm: connections, the schema, the first pages of each index
        send(*call)
    queries = []
    with connection.execute_wrapper(lambda execute, *a: queries.append(1) or execute(*a)):
        send(*calls[0])
    seconds, sizes = [], []
    for call in calls:
        started = time.perf_counter()
        body = send(*call)
        seconds.append(time.perf_counter() - started)
        found = next(iter(body["data"].values()))
        sizes.append(len(found["crmRecommendations"] if isinstance(found, dict) else found))
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    print(
        f"{label}: {len(calls):,} requests, median {statistics.median(seconds) * 1000:.1f} ms, "
        f"p95 {cuts[94] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, max "
        f"{max(seconds) * 1000:.1f} ms; {len(queries)} SQL queries for the "
        f"first; picks per answer {np.mean(sizes):.2f} (none: {sizes.count(0)})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-fill", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")
    call_command("migrate", verbosity=0)
    if not args.no_fill:
        prepare(args)
    rng = np.random.default_rng(args.seed + 1)
    client = Client()

    viewed = np.minimum(
        (args.products * rng.random(args.samples) ** 2).astype(int), args.products - 1
    )
    ids = sorted(
        CustomerProfile.objects.filter(orders__isnull=False).values_list("pk", flat=True).distinct()
    )
    chosen = [int(pk) for pk in rng.choice(ids, size=min(args.samples, len(ids)), replace=False)]
    random_tokens, heavy_tokens = tokens(chosen), tokens(_heaviest(50))
    # The sandbox connects to the database for each request (Django's CONN_MAX_AGE 0); a
    # store's server keeps its connections: both are measured.
    for persistent in (False, True):
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = 600 if persistent else 0
        how = "kept connection" if persistent else "a connection a request"
        measure(
            f"crmAlsoBought, anonymous, products as often as bought ({how})",
            client,
            [(ALSO_BOUGHT, {"product": product_id(i), "channel": CHANNEL}, None) for i in viewed],
        )
        measure(
            f"me {{ crmRecommendations }}, random customers with an order ({how})",
            client,
            [(MINE, {"channel": CHANNEL}, token) for token in random_tokens],
        )
        measure(
            f"me {{ crmRecommendations }}, the 50 customers with the most orders ({how})",
            client,
            [(MINE, {"channel": CHANNEL}, token) for token in heavy_tokens] * 4,
        )


def _heaviest(count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT profile_id FROM saleor_crm_orderrecord GROUP BY profile_id "
            "ORDER BY count(*) DESC, profile_id LIMIT %s",
            [count],
        )
        return [row[0] for row in cursor.fetchall()]


if __name__ == "__main__":
    main()

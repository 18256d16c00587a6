"""Orders placed through Saleor's checkout reach the nightly analytics, on a running Saleor 3.23.

Over Saleor's public GraphQL API and the plugin's (HTTP, no Saleor import), and Celery's broker:

1. runs the nightly tasks (`saleor_crm.compute_reports`, `compute_baskets`,
   `refit_predictions`) through the broker, as beat does, and reads the reports in force:
   the repeat rate of two products, the cohort table, the basket pairs, and a customer's
   predictions;
2. places `--orders` orders through `checkoutComplete` as each of `--customers` customers, each
   order holding the same two products (so they become a pair bought together by as many
   customers as the plugin's *Basket pairs: minimum count* asks: 3 by default);
3. runs the nightly tasks again and reads the same figures: they must have moved by exactly
   what the orders add, and `crmAlsoBought` must answer for the first product;
4. previews and saves a rule segment on P(alive) (`p_alive`).

    python bench/analytics_saleor.py --api http://127.0.0.1:8000/graphql/ \\
        --crm http://127.0.0.1:8000/plugins/global/saleor.crm/graphql/ \\
        --broker redis://127.0.0.1:56379/0 --customers 3 --orders 1

Needs a worker of the store consuming the default queue and the dummy payment gateway.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkout_saleor import (
    Account,
    complete_checkout,
    customer_account,
    post,
    prepare_checkout,
)

NIGHTLY = (
    "saleor_crm.compute_reports",
    "saleor_crm.compute_baskets",
    "saleor_crm.refit_predictions",
)
PRODUCTS = """
query($channel: String!, $country: CountryCode!) {
  productVariants(first: 100, channel: $channel) { edges { node {
    id quantityAvailable(countryCode: $country) pricing { price { gross { amount } } }
    product { id name isAvailableForPurchase productType { kind isShippingRequired } } } } } }"""
FIGURES = """
query($channel: String!, $currency: String!) {
  crmReportRun { computedAt }
  crmProductRepeat(first: 100, channel: $channel) {
    edges { node { item name buyers repeatBuyers } } }
  crmCohorts(currency: $currency, channel: $channel) { cohortMonth monthsSince customers active }
  crmBasketRuns { channel kind computedAt transactions }
  crmBasketPairs(channel: $channel, kind: ORDER, first: 100, sortBy: TOGETHER) {
    edges { node { productA productB together } } }
  crmPredictionFits(currency: $currency) { inForce { asOf customers } latest { status error } }
}"""
ALSO_BOUGHT = """
query($product: ID!, $channel: String!) {
  crmAlsoBought(product: $product, channel: $channel, first: 5) {
    productId name reason because { productId name } } }"""
LOWEST = """
query($currency: String!) {
  crmCustomers(first: 3, sortBy: {field: P_ALIVE, direction: ASC, currency: $currency}) {
    edges { node { predictions { currency pAlive } } } } }"""
PREVIEW = """
query($rule: JSONString!) { crmSegmentPreview(rule: $rule, first: 3) { customers } }"""
CREATE = """
mutation($input: CRMSegmentInput!) {
  crmSegmentCreate(input: $input) { segment { id name customers } errors { field message } } }"""


def _nightly(broker: str, crm: str, staff: Account) -> str:
    """Send the nightly tasks as beat does; wait until the reports in force are newer."""
    from celery import Celery

    run = post(crm, "{ crmReportRun { computedAt } }", None, staff.token())["crmReportRun"]
    before = run and run["computedAt"]
    app = Celery(broker=broker)
    for name in NIGHTLY:
        app.send_task(name)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        run = post(crm, "{ crmReportRun { computedAt } }", None, staff.token())["crmReportRun"]
        if run and run["computedAt"] != before:
            time.sleep(20)  # the pairs and the fit follow the reports on the same worker
            return run["computedAt"]
        time.sleep(2)
    sys.exit("the nightly reports did not finish within 10 minutes")


def _figures(crm: str, staff: Account, channel: str, currency: str) -> dict:
    return post(crm, FIGURES, {"channel": channel, "currency": currency}, staff.token())


def _pair(figures: dict, a: str, b: str) -> int:
    for edge in figures["crmBasketPairs"]["edges"]:
        node = edge["node"]
        if {node["productA"], node["productB"]} == {a, b}:
            return node["together"]
    return 0


def _repeat(figures: dict, product: str) -> tuple[int, int]:
    for edge in figures["crmProductRepeat"]["edges"]:
        if edge["node"]["item"] == product:
            return edge["node"]["buyers"], edge["node"]["repeatBuyers"]
    return 0, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000/graphql/")
    parser.add_argument("--crm", default="http://127.0.0.1:8000/plugins/global/saleor.crm/graphql/")
    parser.add_argument("--broker", default="redis://127.0.0.1:56379/0")
    parser.add_argument("--email", default="admin@example.com")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--channel", default="default-channel")
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--orders", type=int, default=1, help="orders per customer")
    parser.add_argument("--customers", type=int, default=3)
    parser.add_argument("--p-alive-below", type=float, default=0.99)
    parser.add_argument("--customer-email", default="analytics-check@example.com")
    parser.add_argument("--customer-password", default="bench-Passw0rd-checkout")
    args = parser.parse_args()
    staff = Account(args.api, args.email, args.password)
    local, _, domain = args.customer_email.partition("@")
    customers = []
    for n in range(1, args.customers + 1):
        args.customer_email = f"{local}-{n}@{domain}"
        customers.append((args.customer_email, customer_account(args, staff)))

    variants = post(args.api, PRODUCTS, {"channel": args.channel, "country": "US"}, staff.token())[
        "productVariants"
    ]["edges"]
    chosen, products = [], []
    for edge in variants:
        node = edge["node"]
        product = node["product"]
        price = ((node["pricing"] or {}).get("price") or {}).get("gross") or {}
        if (
            (node["quantityAvailable"] or 0) >= args.orders * args.customers
            and product["isAvailableForPurchase"]
            and product["productType"]["kind"] == "NORMAL"
            and product["productType"]["isShippingRequired"]
            and price.get("amount", 0) > 0
            and product["id"] not in products
        ):
            chosen.append(node["id"])
            products.append(product["id"])
            print(f"product {product['id']} ({product['name']}), variant {node['id']}")
        if len(chosen) == 2:
            break
    if len(chosen) < 2:
        sys.exit("fewer than two products in stock to buy together")

    started = time.monotonic()
    first_run = _nightly(args.broker, args.crm, staff)
    before = _figures(args.crm, staff, args.channel, args.currency)
    print(f"nightly tasks before: {time.monotonic() - started:.0f} s, reports of {first_run}")

    numbers = []
    for email, customer in customers:
        args.customer_email = email
        for _ in range(args.orders):
            checkout = prepare_checkout(args, customer, chosen)
            _ms, number, _at = complete_checkout(args, customer, checkout)
            numbers.append(number)
    print(f"orders placed through checkoutComplete: {', '.join(numbers)}")
    time.sleep(15)  # the drain records them within seconds

    started = time.monotonic()
    second_run = _nightly(args.broker, args.crm, staff)
    after = _figures(args.crm, staff, args.channel, args.currency)
    print(f"nightly tasks after: {time.monotonic() - started:.0f} s, reports of {second_run}")

    for product in products:
        print(
            f"repeat rate of {product}: buyers, repeat buyers {_repeat(before, product)} -> "
            f"{_repeat(after, product)}"
        )
    print(
        f"pair bought together (same order): {_pair(before, *products)} -> "
        f"{_pair(after, *products)} orders"
    )
    cells = lambda f: sum(c["active"] for c in f["crmCohorts"])  # noqa: E731
    print(f"cohort table, active customer-months: {cells(before)} -> {cells(after)}")
    print(f"fit before: {json.dumps(before['crmPredictionFits'])}")
    print(f"fit after:  {json.dumps(after['crmPredictionFits'])}")
    also = post(args.crm, ALSO_BOUGHT, {"product": products[0], "channel": args.channel}, None)[
        "crmAlsoBought"
    ]
    print(f"crmAlsoBought({products[0]}), anonymous: {json.dumps(also)}")

    lowest = post(args.crm, LOWEST, {"currency": args.currency}, staff.token())["crmCustomers"]
    print(
        "lowest P(alive): "
        + ", ".join(
            f"{p['currency']} {p['pAlive']:.3f}"
            for edge in lowest["edges"]
            for p in edge["node"]["predictions"]
        )
    )
    bound = args.p_alive_below
    rule = json.dumps({"field": "p_alive", "op": "lt", "value": bound, "currency": args.currency})
    preview = post(args.crm, PREVIEW, {"rule": rule}, staff.token())["crmSegmentPreview"]
    name = f"P(alive) below {bound} ({time.strftime('%H%M%S')})"
    created = post(args.crm, CREATE, {"input": {"name": name, "rule": rule}}, staff.token())
    print(
        f"rule segment on p_alive: preview {preview['customers']} customers; saved: "
        f"{json.dumps(created['crmSegmentCreate'])}"
    )


if __name__ == "__main__":
    main()

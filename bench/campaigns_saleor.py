"""Campaign flows at work inside a running Saleor 3.23, end to end, as a merchant sets them up.

Over Saleor's public GraphQL API and the plugin's (HTTP, no Saleor import), Celery's broker and a
local SMTP server this script starts (aiosmtpd on 127.0.0.1):

1. points the plugin's SMTP settings at the local server (`pluginUpdate`, put back afterwards),
   installs the built-in flows "first-order" and "winback" through `crmCampaignFlowInstall`
   and switches them on with no control group (`crmCampaignFlowSave`), so the customers of the
   check cannot be held back;
2. registers a customer who agrees to marketing (the consent key in their private metadata),
   places their first order through `checkoutComplete`, sends `saleor_crm.decide_campaigns` and
   then `saleor_crm.dispatch_campaigns` through the broker as beat does, the latter for the
   evening of the order's third day (the tasks take the time to act at, so the check does not
   wait three days), and waits for the day-3 mail at the SMTP server; follows its unsubscribe
   link (GET: a page with a button; POST `List-Unsubscribe=One-Click`, RFC 8058) and reads the
   customer's consent key back from Saleor: "false";
3. registers a second customer, places one order, decides and sends for the day 90 days later:
   the win-back mail carries a personal voucher code, which Saleor's checkout accepts
   (`checkoutAddPromoCode`) and an order is completed with;
4. with the insert rule `WELCOME-LEAFLET: first order` set for the run (the setting is put back
   afterwards), the first customer's first order carries `crm.inserts` in its private metadata
   (read from Saleor) and stands in the day's picking list (`POST export/picking.csv`).

    python bench/campaigns_saleor.py --api http://127.0.0.1:8000/graphql/ \\
        --crm http://127.0.0.1:8000/plugins/global/saleor.crm/graphql/ \\
        --broker redis://127.0.0.1:56379/0

Needs a worker of the store consuming the default queue, the dummy payment gateway, and
`aiosmtpd` in the Python running the script.
"""

import argparse
import email
import json
import re
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkout_saleor import (
    ADDRESS,
    CHECKOUT_COMPLETE,
    CHECKOUT_CREATE,
    DELIVERY_UPDATE,
    GATEWAY,
    PAYMENT_CREATE,
    PLUGIN_ID,
    Account,
    GraphQLError,
    complete_checkout,
    customer_account,
    mutation,
    post,
    prepare_checkout,
)

PLUGIN_CONFIG = """
query($id: ID!) { plugin(id: $id) { globalConfiguration { configuration { name value } } } }"""
PLUGIN_SET = """
mutation($id: ID!, $configuration: [ConfigurationItemInput!]) {
  pluginUpdate(id: $id, input: {configuration: $configuration}) { errors { field message } } }"""
USER = "query($email: String!) { user(email: $email) { id privateMetadata { key value } } }"
PRIVATE_METADATA = """
mutation($id: ID!, $input: [MetadataInput!]!) {
  updatePrivateMetadata(id: $id, input: $input) { errors { field message } } }"""
INSTALL = """
mutation($builtIn: String!) {
  crmCampaignFlowInstall(builtIn: $builtIn) { flow { slug definition } errors { field message } } }"""
SAVE = """
mutation($slug: String!, $definition: JSONString!) {
  crmCampaignFlowSave(slug: $slug, definition: $definition, enabled: true) {
    flow { slug enabled } errors { field message } } }"""
PROFILE = "{ me { crmProfile { orderCount } } }"
ORDER_METADATA = """
query($number: String!) {
  orders(first: 1, filter: {numbers: [$number]}) {
    edges { node { number privateMetadata { key value } } } } }"""
ADD_PROMO = """
mutation($id: ID!, $code: String!) {
  checkoutAddPromoCode(id: $id, promoCode: $code) {
    checkout { id voucherCode discount { amount currency } totalPrice { gross { amount } } }
    errors { field code message } } }"""
VARIANTS = """
query($channel: String!) {
  productVariants(first: 50, channel: $channel) { edges { node {
    id quantityAvailable(countryCode: US) pricing { price { gross { amount } } }
    product { isAvailableForPurchase productType { kind isShippingRequired } } } } } }"""


class Sink:
    """An SMTP server on 127.0.0.1 keeping every message it accepts."""

    def __init__(self, port: int):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=policy.default)
                sink.messages.append((envelope.rcpt_tos, message))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def wait_for(self, to: str, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for recipients, message in self.messages:
                if to in recipients:
                    return message
            time.sleep(1)
        sys.exit(f"no mail reached {to} within {timeout:.0f} s")


def _configure(args, staff: Account, values: dict) -> dict:
    current = post(args.api, PLUGIN_CONFIG, {"id": PLUGIN_ID}, staff.token())
    before = {
        item["name"]: item["value"]
        for item in current["plugin"]["globalConfiguration"]["configuration"]
    }
    items = [{"name": name, "value": value} for name, value in values.items()]
    mutation(
        args.api,
        PLUGIN_SET,
        "pluginUpdate",
        {"id": PLUGIN_ID, "configuration": items},
        staff.token(),
    )
    return before


def _flow(args, staff: Account, built_in: str) -> None:
    """Install a built-in flow (kept if installed) and switch it on with no control group."""
    flow = mutation(
        args.crm, INSTALL, "crmCampaignFlowInstall", {"builtIn": built_in}, staff.token()
    )
    definition = {**json.loads(flow["flow"]["definition"]), "control_share": 0}
    saved = mutation(
        args.crm,
        SAVE,
        "crmCampaignFlowSave",
        {"slug": flow["flow"]["slug"], "definition": json.dumps(definition)},
        staff.token(),
    )
    print(f"flow {saved['flow']['slug']}: on ({definition['name']}, no control group)")


def _consenting_customer(args, staff: Account, address: str) -> tuple[Account, str]:
    args.customer_email = address
    customer = customer_account(args, staff)
    user = post(args.api, USER, {"email": address}, staff.token())["user"]
    mutation(
        args.api,
        PRIVATE_METADATA,
        "updatePrivateMetadata",
        {"id": user["id"], "input": [{"key": "marketing_consent", "value": "true"}]},
        staff.token(),
    )
    return customer, user["id"]


def _variant(args, staff: Account) -> str:
    edges = post(args.api, VARIANTS, {"channel": args.channel}, staff.token())["productVariants"]
    for edge in edges["edges"]:
        node = edge["node"]
        kind = node["product"]["productType"]
        price = ((node["pricing"] or {}).get("price") or {}).get("gross") or {}
        if (
            (node["quantityAvailable"] or 0) >= 2
            and node["product"]["isAvailableForPurchase"]
            and kind["kind"] == "NORMAL"
            and kind["isShippingRequired"]
            and price.get("amount", 0) > 0
        ):
            return node["id"]
    sys.exit("no product in stock to buy")


def _order(args, customer: Account, address: str, variant: str) -> str:
    args.customer_email = address
    checkout = prepare_checkout(args, customer, variant)
    _ms, number, _at = complete_checkout(args, customer, checkout)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the drain records it within seconds
        profile = post(args.crm, PROFILE, None, customer.token())["me"]["crmProfile"]
        if profile and profile["orderCount"] >= 1:
            return number
        time.sleep(1)
    sys.exit(f"order {number} did not reach the CRM within 2 minutes")


def _act(broker: str, decide_at: datetime, send_at: datetime) -> None:
    """Decide who enters at `decide_at`, then send what is due at `send_at`, as beat does
    (through the broker; the tasks take the time to act at)."""
    from celery import Celery

    app = Celery(broker=broker)
    app.send_task("saleor_crm.decide_campaigns", args=[decide_at.isoformat()])
    time.sleep(8)  # the worker takes tasks in order; the decision is quick on this store
    app.send_task("saleor_crm.dispatch_campaigns", args=[send_at.isoformat()])


def _local(day, hour: int, minute: int, second: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone).astimezone(UTC)


def _http(url: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310
    if data:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, response.read().decode()


def _pay_with_voucher(args, customer: Account, address: str, variant: str, code: str) -> str:
    token = customer.token()
    checkout = mutation(
        args.api,
        CHECKOUT_CREATE,
        "checkoutCreate",
        {
            "input": {
                "channel": args.channel,
                "email": address,
                "lines": [{"variantId": variant, "quantity": 1}],
                "shippingAddress": ADDRESS,
                "billingAddress": ADDRESS,
            }
        },
        token,
    )["checkout"]
    promo = mutation(
        args.api, ADD_PROMO, "checkoutAddPromoCode", {"id": checkout["id"], "code": code}, token
    )
    discount = promo["checkout"]["discount"]
    print(
        f"checkoutAddPromoCode({code}): accepted, voucherCode {promo['checkout']['voucherCode']}, "
        f"discount {discount['amount']} {discount['currency']}"
    )
    method = min(checkout["shippingMethods"], key=lambda m: (m["price"]["amount"], m["id"]))
    delivery = mutation(
        args.api,
        DELIVERY_UPDATE,
        "checkoutDeliveryMethodUpdate",
        {"id": checkout["id"], "method": method["id"]},
        token,
    )
    total = delivery["checkout"]["totalPrice"]["gross"]["amount"]
    payment = {"gateway": GATEWAY, "token": "fully-charged", "amount": total}
    mutation(
        args.api,
        PAYMENT_CREATE,
        "checkoutPaymentCreate",
        {"id": checkout["id"], "input": payment},
        token,
    )
    order = post(args.api, CHECKOUT_COMPLETE, {"id": checkout["id"]}, token)["checkoutComplete"]
    if order["errors"] or not order["order"]:
        raise GraphQLError(f"checkoutComplete: {order['errors']}")
    return order["order"]["number"]


def _inserts(args, staff: Account, number: str) -> None:
    """The order's package insert in its private metadata and in today's picking list."""
    deadline = time.monotonic() + 60
    while True:
        found = post(args.api, ORDER_METADATA, {"number": number}, staff.token())
        metadata = {
            m["key"]: m["value"] for m in found["orders"]["edges"][0]["node"]["privateMetadata"]
        }
        if "crm.inserts" in metadata or time.monotonic() > deadline:
            break
        time.sleep(1)
    print(f"  order {number}: private metadata crm.inserts = {metadata.get('crm.inserts')!r}")
    export = args.crm.replace("graphql/", "export/picking.csv")
    request = urllib.request.Request(  # noqa: S310 (the --crm URL)
        export,
        data=b"{}",
        method="POST",
        headers={"Authorization": f"Bearer {staff.token()}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        rows = [line for line in response.read().decode().splitlines() if line]
    mine = [row for row in rows if row.split(",")[0] == number]
    print(f"  today's picking list: {len(rows) - 1} orders; this one: {mine}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000/graphql/")
    parser.add_argument("--crm", default="http://127.0.0.1:8000/plugins/global/saleor.crm/graphql/")
    parser.add_argument("--broker", default="redis://127.0.0.1:56379/0")
    parser.add_argument("--email", default="admin@example.com")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--channel", default="default-channel")
    parser.add_argument("--smtp-port", type=int, default=56025)
    parser.add_argument("--customer-password", default="bench-Passw0rd-checkout")
    args = parser.parse_args()
    staff = Account(args.api, args.email, args.password)
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")

    with Sink(args.smtp_port) as sink:
        before = _configure(
            args,
            staff,
            {
                "smtp-host": "127.0.0.1",
                "smtp-port": str(args.smtp_port),
                "smtp-security": "none",
                "campaign-from-email": "shop@example.com",
                "insert-rules": "WELCOME-LEAFLET: first order",
            },
        )
        zone = ZoneInfo(before.get("store-time-zone") or "UTC")
        try:
            _flow(args, staff, "first-order")
            _flow(args, staff, "winback")
            variant = _variant(args, staff)

            first = f"campaign-first-{run}@example.com"
            customer, _ = _consenting_customer(args, staff, first)
            number = _order(args, customer, first, variant)
            ordered = datetime.now(UTC)
            print(f"first order {number} placed through checkoutComplete by {first}")
            _inserts(args, staff, number)
            # the evening of the third day: the day-3 step falls due that day, spread over
            # the store's send window (09:00-20:00 by default), all of it due by 19:59:59
            day3 = (ordered.astimezone(zone) + timedelta(days=3)).date()
            _act(args.broker, ordered + timedelta(minutes=1), _local(day3, 19, 59, 59, zone))
            message = sink.wait_for(first)
            print(f"day-3 mail at the SMTP server: {message['Subject']!r} to {message['To']}")
            print(f"  List-Unsubscribe: {message['List-Unsubscribe']}")
            print(f"  List-Unsubscribe-Post: {message['List-Unsubscribe-Post']}")
            link = message["List-Unsubscribe"].strip().strip("<>")
            status, page = _http(link)
            print(f"  GET the link: HTTP {status}, a page with a form: {'<form' in page}")
            status, page = _http(link, b"List-Unsubscribe=One-Click")
            print(f"  POST List-Unsubscribe=One-Click: HTTP {status}, {'Unsubscribed' in page}")
            metadata = post(args.api, USER, {"email": first}, staff.token())["user"]
            consent = {m["key"]: m["value"] for m in metadata["privateMetadata"]}
            print(
                f"  the customer's marketing_consent in Saleor now: {consent.get('marketing_consent')!r}"
            )

            dormant = f"campaign-dormant-{run}@example.com"
            customer, _ = _consenting_customer(args, staff, dormant)
            number = _order(args, customer, dormant, variant)
            ordered = datetime.now(UTC)
            print(f"order {number} placed by {dormant}; acting 90 days later")
            later = (ordered.astimezone(zone) + timedelta(days=90)).date()
            _act(args.broker, _local(later, 9, 30, 0, zone), _local(later, 19, 59, 59, zone))
            message = sink.wait_for(dormant)
            body = message.get_body(preferencelist=("plain",)).get_content()
            code = re.search(r"^\s{4}(\S+)\s*$", body, re.MULTILINE)
            print(f"win-back mail: {message['Subject']!r}, voucher code {code and code.group(1)}")
            if not code:
                sys.exit("the win-back mail carries no voucher code")
            number = _pay_with_voucher(args, customer, dormant, variant, code.group(1))
            print(f"order {number} completed with the win-back voucher")
        finally:
            _configure(
                args,
                staff,
                {
                    name: before.get(name) or ""
                    for name in (
                        "smtp-host",
                        "smtp-port",
                        "smtp-security",
                        "campaign-from-email",
                        "insert-rules",
                    )
                },
            )


if __name__ == "__main__":
    main()

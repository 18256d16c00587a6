"""What the CRM plugin adds to a shopper's `checkoutComplete` on a running Saleor 3.23.

Measures, over Saleor's public GraphQL API (HTTP, no Saleor import), the wall time of
`checkoutComplete` for a logged-in customer paying with the dummy gateway, with the CRM plugin
active and inactive. Orders run in interleaved blocks (`--block` with the plugin active, then
`--block` inactive, and so on) until each arm has `--orders`; the plugin is toggled with
`pluginUpdate` as staff and left as it was found. Two warm-up orders (plugin active) come first
and are not counted. Only the `checkoutComplete` call is timed: checkoutCreate, the delivery
method and the payment are set up before it.

With `--freshness URL` (the plugin's GraphQL endpoint) it also measures how long after
`checkoutComplete` returns an order of the active arm shows in the customer's points history
(`me.crmPoints.history`, the EARN entry "order <number>: ..."): one background thread polls
every 0.2 s, in both arms, never while a timed checkoutComplete runs (a poll is heavier with
the plugin active: overlapping ones slowed that arm by 27 ms); before the plugin is turned
off, the run waits (untimed) for the active block's orders to arrive, since the endpoint only
answers while the plugin is active. Points are earned only if the plugin's "points-earn-rates"
has a line for the channel's currency (the default has USD, EUR and JPY).

Saleor (API under uvicorn, a Celery worker and beat) must be running with the plugin installed
and migrated, and the dummy payment gateway active for the channel:

    python bench/checkout_saleor.py --api http://127.0.0.1:8000/graphql/ \\
        --email admin@example.com --password admin --orders 40 --block 8 \\
        --freshness http://127.0.0.1:8000/plugins/global/saleor.crm/graphql/
"""

import argparse
import contextlib
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

PLUGIN_ID = "saleor.crm"
GATEWAY = "mirumee.payments.dummy"
TOKEN_REFRESH_SECONDS = 240  # Saleor's access tokens live 5 minutes by default
WARM_UP = 2
POLL_SECONDS = 0.2
FRESHNESS_TIMEOUT = 60.0
ADDRESS = {
    "firstName": "Bench",
    "lastName": "Customer",
    "streetAddress1": "1600 Amphitheatre Pkwy",
    "city": "Mountain View",
    "postalCode": "94043",
    "country": "US",
    "countryArea": "CA",
    "phone": "+16502530000",
}

LOGIN = """
mutation($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) { token errors { code message } }
}"""
ACCOUNT_REGISTER = """
mutation($input: AccountRegisterInput!) {
  accountRegister(input: $input) { errors { field code message } }
}"""
USER_BY_EMAIL = "query($email: String!) { user(email: $email) { id isConfirmed } }"
CUSTOMER_CONFIRM = """
mutation($id: ID!) {
  customerUpdate(id: $id, input: {isConfirmed: true}) { errors { field code message } }
}"""
PLUGIN_STATE = """
query($id: ID!, $channel: String!) {
  plugin(id: $id) { globalConfiguration { active configuration { name value } } }
  channel(slug: $channel) { currencyCode }
}"""
PLUGIN_UPDATE = """
mutation($id: ID!, $active: Boolean!) {
  pluginUpdate(id: $id, input: {active: $active}) {
    plugin { globalConfiguration { active } }
    errors { field code message }
  }
}"""
VARIANTS = """
query($channel: String!, $country: CountryCode!) {
  productVariants(first: 100, channel: $channel) {
    edges { node {
      id
      quantityAvailable(countryCode: $country)
      pricing { price { gross { amount } } }
      product { isAvailableForPurchase productType { kind isShippingRequired } }
    } }
  }
}"""
CHECKOUT_CREATE = """
mutation($input: CheckoutCreateInput!) {
  checkoutCreate(input: $input) {
    checkout { id shippingMethods { id name price { amount } } }
    errors { field code message }
  }
}"""
DELIVERY_UPDATE = """
mutation($id: ID!, $method: ID!) {
  checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $method) {
    checkout { totalPrice { gross { amount currency } } }
    errors { field code message }
  }
}"""
PAYMENT_CREATE = """
mutation($id: ID!, $input: PaymentInput!) {
  checkoutPaymentCreate(id: $id, input: $input) {
    payment { id chargeStatus }
    errors { field code message }
  }
}"""
CHECKOUT_COMPLETE = """
mutation($id: ID!) {
  checkoutComplete(id: $id) { order { id number } errors { field code message } }
}"""
ME_POINTS = """
{ me {
  crmPoints { balance pending history(first: 50) { edges { node { kind reason } } } }
  crmMembership { rank { code } }
} }"""


class GraphQLError(RuntimeError):
    pass


def post(url: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """POST one GraphQL operation; return its `data` or raise GraphQLError."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # parse_args accepts http(s) URLs only
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            payload = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise GraphQLError(f"HTTP {error.code} from {url}: {error.read()[:300]!r}") from error
    if payload.get("errors"):
        raise GraphQLError(json.dumps(payload["errors"])[:500])
    return payload["data"]


def mutation(url: str, query: str, name: str, variables: dict, token: str | None) -> dict:
    """Run a mutation and fail on its `errors` list."""
    result = post(url, query, variables, token)[name]
    if result.get("errors"):
        raise GraphQLError(f"{name}: {result['errors']}")
    return result


class Account:
    """Email and password, and an access token re-issued before it expires."""

    def __init__(self, api: str, email: str, password: str):
        self.api, self.email, self.password = api, email, password
        self._token: str | None = None
        self._issued = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() - self._issued > TOKEN_REFRESH_SECONDS:
                variables = {"email": self.email, "password": self.password}
                for _ in range(10):  # Saleor delays logins after failed ones from one IP
                    result = post(self.api, LOGIN, variables)["tokenCreate"]
                    codes = {error["code"] for error in result["errors"]}
                    if "LOGIN_ATTEMPT_DELAYED" not in codes:
                        break
                    time.sleep(2)
                if result["errors"] or not result["token"]:
                    raise GraphQLError(f"tokenCreate {self.email}: {result['errors']}")
                self._token, self._issued = result["token"], time.monotonic()
            return self._token


def customer_account(args, staff: Account) -> Account:
    """The customer to check out as: registered, and confirmed by staff, if needed."""
    found = post(args.api, USER_BY_EMAIL, {"email": args.customer_email}, staff.token())["user"]
    if found is None:
        register = {
            "email": args.customer_email,
            "password": args.customer_password,
            "channel": args.channel,
            "redirectUrl": "http://localhost:3000/account-confirm/",
        }
        mutation(args.api, ACCOUNT_REGISTER, "accountRegister", {"input": register}, None)
        found = post(args.api, USER_BY_EMAIL, {"email": args.customer_email}, staff.token())
        found = found["user"]
    if not found["isConfirmed"]:
        mutation(args.api, CUSTOMER_CONFIRM, "customerUpdate", {"id": found["id"]}, staff.token())
    customer = Account(args.api, args.customer_email, args.customer_password)
    customer.token()
    return customer


def points_configured(args, staff: Account) -> tuple[bool, bool, str]:
    """(plugin active now, does the channel's currency earn points, the currency)."""
    data = post(args.api, PLUGIN_STATE, {"id": PLUGIN_ID, "channel": args.channel}, staff.token())
    if data["plugin"] is None:
        sys.exit(f"plugin {PLUGIN_ID} is not installed in this Saleor")
    config = data["plugin"]["globalConfiguration"]
    values = {item["name"]: item["value"] or "" for item in config["configuration"]}
    currency = data["channel"]["currencyCode"]
    on = {"true", "1", "yes", "on"}
    enabled = all(
        values.get(name, "true").lower() in on for name in ("ingestion-enabled", "loyalty-enabled")
    )
    rates = values.get("points-earn-rates", "")
    earns = enabled and any(
        line.split(":", 1)[0].strip().upper() == currency
        for line in rates.splitlines()
        if ":" in line
    )
    return config["active"], earns, currency


def set_plugin_active(args, staff: Account, active: bool) -> None:
    result = mutation(
        args.api, PLUGIN_UPDATE, "pluginUpdate", {"id": PLUGIN_ID, "active": active}, staff.token()
    )
    if result["plugin"]["globalConfiguration"]["active"] is not active:
        raise GraphQLError(f"pluginUpdate did not set active={active}")


class Variants:
    """Round-robin over the shippable variants in stock, one unit an order."""

    def __init__(self, args, staff: Account, needed: int):
        data = post(
            args.api,
            VARIANTS,
            {"channel": args.channel, "country": ADDRESS["country"]},
            staff.token(),
        )
        self.stock = {}
        for edge in data["productVariants"]["edges"]:
            node = edge["node"]
            product = node["product"]
            price = ((node["pricing"] or {}).get("price") or {}).get("gross") or {}
            if (
                (node["quantityAvailable"] or 0) > 0
                and product["isAvailableForPurchase"]
                and product["productType"]["kind"] == "NORMAL"
                and product["productType"]["isShippingRequired"]
                and price.get("amount", 0) > 0
            ):
                self.stock[node["id"]] = node["quantityAvailable"]
        if sum(self.stock.values()) < needed:
            sys.exit(
                f"only {sum(self.stock.values())} units in stock in {args.channel}; need {needed}"
            )
        self._order = sorted(self.stock)
        self._next = 0

    def take(self) -> str:
        while True:
            variant = self._order[self._next % len(self._order)]
            self._next += 1
            if self.stock[variant] > 0:
                self.stock[variant] -= 1
                return variant


def prepare_checkout(args, customer: Account, variant: str | list[str]) -> str:
    """A checkout with one line a variant (one unit each), addresses, the cheapest shipping
    method and a dummy payment."""
    variants = [variant] if isinstance(variant, str) else variant
    checkout_input = {
        "channel": args.channel,
        "email": args.customer_email,
        "lines": [{"variantId": one, "quantity": 1} for one in variants],
        "shippingAddress": ADDRESS,
        "billingAddress": ADDRESS,
    }
    token = customer.token()
    checkout = mutation(
        args.api, CHECKOUT_CREATE, "checkoutCreate", {"input": checkout_input}, token
    )
    checkout = checkout["checkout"]
    if not checkout["shippingMethods"]:
        sys.exit(f"no shipping method for {ADDRESS['country']} in {args.channel}")
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
    return checkout["id"]


def complete_checkout(args, customer: Account, checkout_id: str) -> tuple[float, str, float]:
    """Time checkoutComplete alone: (milliseconds, order number, perf_counter at its return)."""
    token = customer.token()  # outside the timed call (a re-login is an HTTP request)
    started = time.perf_counter()
    data = post(args.api, CHECKOUT_COMPLETE, {"id": checkout_id}, token)
    returned = time.perf_counter()
    result = data["checkoutComplete"]
    if result["errors"] or not result["order"]:
        raise GraphQLError(f"checkoutComplete: {result['errors']}")
    return (returned - started) * 1000, result["order"]["number"], returned


class FreshnessPoller(threading.Thread):
    """Polls the customer's points history and records when each expected order shows."""

    def __init__(self, url: str, customer: Account):
        super().__init__(daemon=True)
        self.url, self.customer = url, customer
        self.waiting: dict[str, float] = {}  # order number -> perf_counter when it returned
        self.lags: list[float] = []
        self.missed: list[str] = []
        self.last: dict | None = None
        self.poll_errors = 0
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        # Held by each poll and around each timed checkoutComplete: a poll never runs during
        # one (the poll is heavier with the plugin active, which would bias the active arm).
        self.quiet = threading.Lock()

    def expect(self, number: str, returned: float) -> None:
        with self._lock:
            self.waiting[number] = returned

    def wait_arrivals(self) -> None:
        """Block until every expected order arrived or timed out."""
        while True:
            with self._lock:
                if not self.waiting:
                    return
            time.sleep(POLL_SECONDS / 2)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                with self.quiet:
                    me = post(self.url, ME_POINTS, token=self.customer.token())["me"]
            except (GraphQLError, OSError):
                me = None  # the endpoint answers only while the plugin is active
                self.poll_errors += 1
            seen_at = time.perf_counter()
            with self._lock:
                if me is not None:
                    self.last = me
                    reasons = [
                        edge["node"]["reason"] for edge in me["crmPoints"]["history"]["edges"]
                    ]
                    for number in list(self.waiting):
                        if any(reason.startswith(f"order {number}:") for reason in reasons):
                            self.lags.append(seen_at - self.waiting.pop(number))
                for number, returned in list(self.waiting.items()):
                    if seen_at - returned > FRESHNESS_TIMEOUT:
                        self.missed.append(number)
                        del self.waiting[number]
            self._stop_event.wait(POLL_SECONDS)


def summary(name: str, values: list[float]) -> str:
    p90 = (
        statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    )
    return (
        f"{name:<9} {len(values):>4} {statistics.median(values):>9.1f} {p90:>9.1f} "
        f"{statistics.fmean(values):>9.1f}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000/graphql/")
    parser.add_argument("--orders", type=int, default=40, help="counted orders per arm")
    parser.add_argument("--block", type=int, default=8, help="orders per block before toggling")
    parser.add_argument(
        "--email", default="admin@example.com", help="staff (MANAGE_PLUGINS, MANAGE_USERS)"
    )
    parser.add_argument("--password", default="admin")
    parser.add_argument("--channel", default="default-channel")
    parser.add_argument(
        "--customer-email",
        help="customer to check out as (default: a new bench-<time>@example.com)",
    )
    parser.add_argument("--customer-password", default="bench-Passw0rd-checkout")
    parser.add_argument("--freshness", metavar="URL", help="the plugin's GraphQL endpoint")
    args = parser.parse_args()
    for url in (args.api, args.freshness):
        if url is not None and not url.startswith(("http://", "https://")):
            parser.error(f"not an http(s) URL: {url}")
    if args.orders < 2 or args.block < 1:
        parser.error("--orders must be at least 2 and --block at least 1")
    args.customer_email = args.customer_email or f"bench-{int(time.time())}@example.com"
    return args


def main() -> None:
    args = parse_args()
    staff = Account(args.api, args.email, args.password)
    was_active, earns, currency = points_configured(args, staff)
    if args.freshness and not earns:
        print(
            f"--freshness needs orders in {currency} to earn points: turn on 'ingestion-enabled' and "
            f"'loyalty-enabled' and add a line for {currency} to 'points-earn-rates', e.g. "
            f'pluginUpdate(id: "{PLUGIN_ID}", input: {{configuration: [{{name: "points-earn-rates", '
            f'value: "{currency}: 1 per 1"}}]}}). Freshness is not measured.'
        )
        args.freshness = None
    customer = customer_account(args, staff)
    variants = Variants(args, staff, WARM_UP + 2 * args.orders)
    poller = FreshnessPoller(args.freshness, customer) if args.freshness else None
    timings: dict[bool, list[float]] = {True: [], False: []}
    print(
        f"checkoutComplete on {args.api}, channel {args.channel}, customer {args.customer_email}; "
        f"{args.orders} orders per arm in blocks of {args.block}, plugin active first; "
        f"{WARM_UP} warm-up orders (plugin active) not counted"
    )
    try:
        set_plugin_active(args, staff, True)
        if poller:
            poller.start()
        for _ in range(WARM_UP):
            complete_checkout(args, customer, prepare_checkout(args, customer, variants.take()))
        active = True
        while len(timings[True]) < args.orders or len(timings[False]) < args.orders:
            if len(timings[active]) < args.orders:
                set_plugin_active(args, staff, active)
                for _ in range(min(args.block, args.orders - len(timings[active]))):
                    checkout_id = prepare_checkout(args, customer, variants.take())
                    with poller.quiet if poller else contextlib.nullcontext():
                        ms, number, returned = complete_checkout(args, customer, checkout_id)
                    timings[active].append(ms)
                    if poller and active:
                        poller.expect(number, returned)
                if poller and active:
                    poller.wait_arrivals()  # untimed: the endpoint is off while inactive
            active = not active
    finally:
        if poller and poller.is_alive():
            poller.stop()
        set_plugin_active(args, staff, was_active)

    print(f"{'arm':<9} {'n':>4} {'median':>9} {'p90':>9} {'mean':>9}   (ms)")
    print(summary("active", timings[True]))
    print(summary("inactive", timings[False]))
    active_median = statistics.median(timings[True])
    inactive_median = statistics.median(timings[False])
    print(
        f"ratio active/inactive of medians: {active_median / inactive_median:.3f} "
        f"({active_median - inactive_median:+.1f} ms)"
    )
    if poller:
        lags = poller.lags
        print(
            f"freshness (checkoutComplete returned -> EARN entry in me.crmPoints.history, polled "
            f"every {POLL_SECONDS} s): n={len(lags)}, missed after {FRESHNESS_TIMEOUT:.0f} s: "
            f"{len(poller.missed)}"
        )
        if lags:
            p95 = (
                statistics.quantiles(lags, n=20, method="inclusive")[18]
                if len(lags) > 1
                else lags[0]
            )
            print(
                f"  median {statistics.median(lags):.2f} s, p95 {p95:.2f} s, max {max(lags):.2f} s"
            )
        if poller.last:
            points = poller.last["crmPoints"]
            print(
                f"  customer now: balance {points['balance']}, pending {points['pending']}, "
                f"rank {poller.last['crmMembership']['rank']['code']}"
            )


if __name__ == "__main__":
    main()

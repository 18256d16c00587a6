"""An order completed through Saleor's checkout while the broker (Redis) is down reaches the
CRM after Redis is back: how long after, with which points, and exactly once.

Runs against a running Saleor 3.23 (API, a Celery worker and beat) with the plugin installed,
over Saleor's public GraphQL API and the plugin's, with no Saleor import; the commands that
stop and start Redis are the caller's (they depend on how Redis runs). A logged-in customer
first places two orders with Redis up and waits for its points (the reference: the same variant,
so the same points; the first order only makes the customer a repeat buyer, as a first-order
bonus may apply to it); then a checkout is prepared, Redis stopped, `checkoutComplete` called,
Redis started again after `--down` seconds, and the customer's points history polled until the
order's EARN entry shows (at most `--timeout` seconds), then again after `--settle` seconds to
count the order's EARN entries:

    python bench/redis_outage_saleor.py \\
        --redis-stop "redis-cli -p 56379 shutdown nosave" \\
        --redis-start "redis-server /path/to/redis.conf" [--down 20]

Saleor must not use Redis as its cache (`CACHE_URL`), or Saleor itself fails every request
while Redis is down. Prints one line per step; the figures of the last run are in
bench/README.md.
"""

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkout_saleor import (
    Account,
    Variants,
    complete_checkout,
    customer_account,
    points_configured,
    post,
    prepare_checkout,
    set_plugin_active,
)

HISTORY = """
{ me { crmPoints { history(first: 100) { edges { node { kind points reason } } } } } }"""


def earn_entries(url: str, customer: Account, number: str) -> list[int]:
    """The points of each EARN entry of order `number` in the customer's history."""
    edges = post(url, HISTORY, token=customer.token())["me"]["crmPoints"]["history"]["edges"]
    return [
        edge["node"]["points"]
        for edge in edges
        if edge["node"]["kind"] == "EARN" and edge["node"]["reason"].startswith(f"order {number}:")
    ]


def wait_for_entry(url: str, customer: Account, number: str, timeout: float) -> float | None:
    """Seconds until the order's EARN entry shows, polled every 0.2 s; None after `timeout`."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if earn_entries(url, customer, number):
            return time.perf_counter() - started
        time.sleep(0.2)
    return None


def run(command: str) -> None:
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"{command!r} failed ({done.returncode}): {done.stderr.strip()}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000/graphql/")
    parser.add_argument(
        "--plugin", default="http://127.0.0.1:8000/plugins/global/saleor.crm/graphql/"
    )
    parser.add_argument("--email", default="admin@example.com", help="staff (MANAGE_PLUGINS)")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--channel", default="default-channel")
    parser.add_argument("--customer-password", default="bench-Passw0rd-checkout")
    parser.add_argument("--redis-stop", required=True, help="a command that stops Redis")
    parser.add_argument("--redis-start", required=True, help="a command that starts Redis")
    parser.add_argument("--down", type=float, default=20.0, help="seconds Redis stays down")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--settle", type=float, default=15.0)
    args = parser.parse_args()
    args.customer_email = f"outage-{int(time.time())}@example.com"
    return args


def main() -> None:
    args = parse_args()
    staff = Account(args.api, args.email, args.password)
    was_active, earns, currency = points_configured(args, staff)
    if not earns:
        sys.exit(f"orders in {currency} earn no points here: see bench/checkout_saleor.py")
    set_plugin_active(args, staff, True)
    try:
        customer = customer_account(args, staff)
        variants = Variants(args, staff, 3)
        variant = max(sorted(variants.stock), key=variants.stock.get)  # three units of one

        for _ in range(2):  # the first order may earn a first-order bonus; the second is the
            # reference: a repeat order of the same variant
            checkout_id = prepare_checkout(args, customer, variant)
            _, reference, _ = complete_checkout(args, customer, checkout_id)
            if wait_for_entry(args.plugin, customer, reference, args.timeout) is None:
                sys.exit(f"order {reference} (Redis up) never showed its points")
            expected = earn_entries(args.plugin, customer, reference)
            print(f"order {reference} (Redis up): EARN {expected}")

        checkout_id = prepare_checkout(args, customer, variant)
        run(args.redis_stop)
        print("Redis stopped")
        ms, number, _ = complete_checkout(args, customer, checkout_id)
        print(f"checkoutComplete with Redis down: {ms:.0f} ms, order {number} completed")
        time.sleep(args.down)
        run(args.redis_start)
        print(f"Redis started after {args.down:.0f} s down")
        seconds = wait_for_entry(args.plugin, customer, number, args.timeout)
        if seconds is None:
            sys.exit(f"order {number}: no EARN entry {args.timeout:.0f} s after Redis started")
        time.sleep(args.settle)
        entries = earn_entries(args.plugin, customer, number)
        print(
            f"order {number}: EARN entry {seconds:.1f} s after Redis started; after "
            f"{args.settle:.0f} s more its EARN entries are {entries} (reference {expected}); "
            + ("same points, once" if entries == expected[:1] and len(entries) == 1 else "DIFFERS")
        )
    finally:
        set_plugin_active(args, staff, was_active)


if __name__ == "__main__":
    main()

"""What the CRM plugin's hooks add to a Saleor request (run inside a real Saleor 3.23).

The hooks must only enqueue: this times `CRMPlugin.order_created` (what Saleor's plugin
manager calls after an order is placed) on real orders, with Celery publishing to Redis.

    . your-saleor-env.sh   # DJANGO_SETTINGS_MODULE=saleor.settings, DATABASE_URL, CELERY_BROKER_URL
    $SALEOR_VENV/bin/python bench/hooks_saleor.py [--calls 2000]

The CRM plugin must be installed (pip install -e .), migrated and active.
"""

import argparse
import statistics
import sys
import time

import django

django.setup()

from saleor.core.db.connection import allow_writer  # noqa: E402
from saleor.order.models import Order  # noqa: E402
from saleor.plugins.manager import get_plugins_manager  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000)
    args = parser.parse_args()
    with allow_writer():
        manager = get_plugins_manager(allow_replica=False)
        plugin = manager.get_plugin("saleor.crm")
        if plugin is None or not plugin.active:
            sys.exit("activate the CRM plugin first (Dashboard > Plugins > CRM)")
        orders = list(Order.objects.non_draft()[:50])
        plugin.order_created(orders[0], previous_value=None)  # connect to the broker
        timings = []
        for index in range(args.calls):
            order = orders[index % len(orders)]
            started = time.perf_counter()
            plugin.order_created(order, previous_value=None)
            timings.append(time.perf_counter() - started)
    print(
        f"CRMPlugin.order_created, {args.calls} calls on {len(orders)} real orders: "
        f"median {statistics.median(timings) * 1e6:.0f} µs, "
        f"p95 {statistics.quantiles(timings, n=20)[-1] * 1e6:.0f} µs, "
        f"max {max(timings) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()

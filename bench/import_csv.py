"""`saleor-crm import` of a CDNOW-sized order export: the command's time, first and again.

Generates a CSV with a fixed seed (default: 70,000 orders of 23,570 customers, the size of the
CDNOW sample; USD, 20% of the orders by guests, one to three lines each), then runs the
command as a merchant does, in a subprocess, twice: into an empty store, and the same file
again (which must change nothing). Each gives its wall time and CPU time (user + system: it
holds up on a busy machine, the wall time does not). The store is the sandbox's SQLite under a
temporary SALEOR_CRM_HOME unless DATABASE_URL names a database, whose sandbox store and ledger
are emptied first:

    .venv/bin/python bench/import_csv.py [--orders 70000] [--customers 23570] [--seed 7]
    bash scripts/bench.sh bench/import_csv.py            # the same on PostgreSQL

Prints one line per measurement; the figures of the last run are in bench/README.md.
"""

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = datetime(1997, 1, 1, tzinfo=UTC)  # CDNOW: January 1997 to June 1998
DAYS = 546
COLUMNS = (
    "order_id",
    "customer_id",
    "email",
    "date",
    "total",
    "currency",
    "status",
    "sku",
    "quantity",
    "unit_price",
    "product_name",
)


def write_orders(path: Path, orders: int, customers: int, seed: int) -> int:
    """Write `orders` orders (one row per line) among `customers`; return the number of rows."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(customers)]
    owners = rng.choices(range(customers), weights=weights, k=orders)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for index, owner in enumerate(owners):
            guest = owner % 5 == 0
            placed_at = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
            status = "canceled" if rng.random() < 0.02 else "fulfilled"
            lines = [
                (f"CD-{rng.randrange(2_000):04d}", rng.randint(1, 3), rng.randrange(499, 2_999))
                for _ in range(rng.choice((1, 1, 1, 2, 3)))
            ]
            total = sum(quantity * cents for _, quantity, cents in lines)
            for sku, quantity, cents in lines:
                writer.writerow(
                    (
                        f"{100_000 + index}",
                        "" if guest else f"C{owner}",
                        f"customer{owner}@example.com",
                        placed_at.isoformat(timespec="seconds"),
                        Decimal(total) / 100,
                        "USD",
                        status,
                        sku,
                        quantity,
                        Decimal(cents) / 100,
                        f"Album {sku}",
                    )
                )
                rows += 1
    return rows


def _command() -> list[str]:
    """`saleor-crm` of this interpreter's environment (else the module behind it)."""
    script = Path(sys.executable).with_name("saleor-crm")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "saleor_crm_plugin.sandbox.cli"]


def _prepare(env: dict) -> None:
    """Migrate the store and empty its orders, customers and ledger (a no-op on a fresh one)."""
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from saleor_crm_plugin.sandbox.cli import _reset_store\n"
        "_reset_store()\n"
    )
    subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code], env=env, check=True, cwd=ROOT
    )


def _timed_import(env: dict, path: Path) -> tuple[float, float, str]:
    """Run the command: its wall time, its CPU time (user + system), its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own command and file)
        [*_command(), "import", str(path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"saleor-crm import failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=70_000)
    parser.add_argument("--customers", type=int, default=23_570)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crm-import-bench-") as folder:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "saleor_crm_plugin.sandbox.settings"}
        env.setdefault("SALEOR_CRM_HOME", str(Path(folder) / "home"))
        env.pop("CELERY_BROKER_URL", None)  # the import enqueues nothing; keep tasks in-process
        where = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
        path = Path(folder) / "orders.csv"
        rows = write_orders(path, args.orders, args.customers, args.seed)
        print(
            f"file: {args.orders:,} orders, {rows:,} rows, {args.customers:,} customers "
            f"(seed {args.seed}), {path.stat().st_size / 1e6:.1f} MB; store: {where}"
        )
        _prepare(env)
        for label in ("first import", "same file again"):
            elapsed, cpu, output = _timed_import(env, path)
            print(f"saleor-crm import, {label}: {elapsed:.1f} s wall, {cpu:.1f} s CPU  ({output})")


if __name__ == "__main__":
    main()

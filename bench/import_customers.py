"""Moving in at scale: `crm_import` of customers, point lots and subscriptions into the sandbox.

Generates three files with a fixed seed (default: 1,000,000 customers with an opening balance
on every fifth line, 5,000,000 point lots, 100,000 running subscriptions, in the generic
layout), then imports each, in this order, with the management command in a subprocess as a
merchant runs it, and then each again (which must create nothing). Each run prints its wall
time and the importer's peak resident memory (the process's own; PostgreSQL's
memory is not counted; it reports its own `ru_maxrss`), and its CPU time (user + system:
it holds up on a busy machine, the wall time does not; PostgreSQL's CPU is not in it):

    bash scripts/bench.sh bench/import_customers.py [--customers 1000000] [--seed 7]
    bash scripts/bench.sh bench/import_customers.py --customers 100000   # a tenth
    bash scripts/bench.sh bench/import_customers.py --workers 2   # crm_import --workers 2

Lots and subscriptions scale with --customers (5 lots and 0.1 subscriptions each). The
figures of the last run are in bench/README.md.
"""

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC)


def write_customers(path: Path, customers: int, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            (
                "email",
                "first_name",
                "last_name",
                "phone",
                "street_address_1",
                "city",
                "postal_code",
                "country",
                "birth_date",
                "marketing_consent",
                "external_id",
                "points",
                "points_currency",
                "points_expire_at",
            )
        )
        expiry = (NOW + timedelta(days=365)).date().isoformat()
        for n in range(customers):
            opening = n % 5 == 0
            writer.writerow(
                (
                    f"Customer{n}@Example.com",
                    f"First{n}",
                    f"Last{n}",
                    f"+8190{n:08d}",
                    f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)} Chuo",
                    "Tokyo",
                    f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
                    "JP",
                    date(1950 + rng.randrange(55), rng.randint(1, 12), rng.randint(1, 28)),
                    rng.choice(("yes", "no")),
                    f"old-{n}",
                    rng.randint(1, 5000) if opening else "",
                    "JPY" if opening else "",
                    expiry if opening else "",
                )
            )


def write_lots(path: Path, customers: int, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(("lot_id", "email", "points", "earned_at", "expires_at", "currency"))
        for n in range(customers):
            for k in range(5):
                earned = NOW - timedelta(days=rng.randrange(1, 365))
                writer.writerow(
                    (
                        f"L{n}-{k}",
                        f"customer{n}@example.com",
                        rng.randint(1, 500),
                        earned.isoformat(timespec="seconds"),
                        (earned + timedelta(days=400)).isoformat(timespec="seconds"),
                        "JPY",
                    )
                )


def write_subscriptions(path: Path, customers: int, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            (
                "subscription_id",
                "email",
                "items",
                "interval",
                "next_delivery",
                "channel",
                "currency",
                "ship_first_name",
                "ship_last_name",
                "ship_street_address_1",
                "ship_city",
                "ship_country",
            )
        )
        for n in range(0, customers, 10):
            writer.writerow(
                (
                    f"S{n}",
                    f"customer{n}@example.com",
                    f"TEA-{rng.randrange(50)}:{rng.randint(1, 3)}; CUP-1",
                    rng.choice(("1 month", "2 weeks", "2 months", "30 days")),
                    (NOW + timedelta(days=rng.randint(1, 60))).date().isoformat(),
                    "channel-jpy",
                    "JPY",
                    f"First{n}",
                    f"Last{n}",
                    "1-2-3 Chuo",
                    "Tokyo",
                    "JP",
                )
            )


def _run(env: dict, args: list[str]) -> tuple[float, str]:
    """Run a command: its wall seconds and its output (it prints its own peak RSS last)."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own interpreter and code)
        args, env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[3:])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, done.stdout.strip()


def _importer(kind: str, path: Path, workers: int = 1) -> list[str]:
    code = (
        "import sys, django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('crm_import', *sys.argv[1:])\n"
        "import resource\n"
        "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"  # --workers' processes
        "peak = max(usage.ru_maxrss, kids.ru_maxrss) / 1024\n"
        "cpu = usage.ru_utime + usage.ru_stime + kids.ru_utime + kids.ru_stime\n"
        "print(f'importer: peak RSS {peak:.0f} MB (one process), CPU {cpu:.0f} s')\n"
    )
    return [
        sys.executable,
        "-c",
        code,
        str(path),
        "--kind",
        kind,
        "--source",
        "bench",
        "--workers",
        str(workers),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workers", type=int, default=1, help="crm_import --workers (processes a file)"
    )
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "saleor_crm_plugin.sandbox.settings"}
    env.pop("CELERY_BROKER_URL", None)  # the import enqueues nothing
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database (bash scripts/bench.sh does)")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from django.core.management import call_command\n"
            "call_command('migrate', verbosity=0)\n"
            "from saleor_crm_plugin.sandbox.cli import _reset_store\n"
            "_reset_store()\n",
        ],
        env=env,
        check=True,
        cwd=ROOT,
    )
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="crm-moving-in-") as folder:
        files = [
            ("customers", Path(folder) / "customers.csv", write_customers),
            ("points", Path(folder) / "points.csv", write_lots),
            ("subscriptions", Path(folder) / "subscriptions.csv", write_subscriptions),
        ]
        for kind, path, write in files:
            started = time.perf_counter()
            write(path, args.customers, rng)
            lines = sum(1 for _ in path.open("rb")) - 1
            print(
                f"{kind}: {lines:,} lines, {path.stat().st_size / 1e6:.0f} MB "
                f"(written in {time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        total = 0.0
        for label in ("import", "again"):
            for kind, path, _ in files:
                elapsed, output = _run(env, _importer(kind, path, args.workers))
                summary, _, peak = output.rpartition("\n")
                total += elapsed if label == "import" else 0
                print(f"{label} {kind}: {elapsed:.1f} s wall, {peak}  ({summary})", flush=True)
        print(f"first import, all three files: {total:.1f} s wall")


if __name__ == "__main__":
    main()

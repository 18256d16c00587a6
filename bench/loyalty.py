"""Points and ranks at scale: the order task with loyalty, the expiry run, one balance.

    bash scripts/bench.sh bench/loyalty.py [--customers 1000000] [--orders 10000000]
        [--entries 20] [--samples 1000] [--no-fill] [--no-points-fill]

Fills the ledger (bench/fill.py), then a points ledger by SQL: an account for every customer
with `--entries` entries each (four fifths earnings a few weeks apart over three years, each
expiring 12 months after it was earned; one fifth redemptions, each spending the oldest lot
whole, so the saved lots are exactly the replay of the entries). Then it measures:

- the order task (`ingest_orders_task`, in process) for one new paid order of a random
  registered customer, `--samples` times: median and p99 of the whole task and of its
  loyalty part (`settle_loyalty`: earning, rank evaluation);
- the expiry run (`expire_points`) over every account: the first run, which expires every lot
  earned over 12 months ago, and the next (nothing due): wall time and peak memory;
- the balance of one customer with 10,000 entries, through `loyalty.services.balance` and
  through GraphQL (`me { crmPoints { balance pending } }` over HTTP): median and p99 of
  `--samples` reads, for two customers: 5,000 earnings each spent by a redemption (few lots
  left), and 10,000 earnings never spent nor expiring (10,000 lots left, the worst case).
"""

import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from fill import ledger_arguments, paid_order, prepare_ledger  # noqa: E402

import saleor_crm_plugin.intake.pipeline as pipeline  # noqa: E402
import saleor_crm_plugin.intake.tasks as order_tasks  # noqa: E402
from saleor_crm_plugin.customers.models import CustomerProfile  # noqa: E402
from saleor_crm_plugin.host import get_host  # noqa: E402
from saleor_crm_plugin.loyalty.expiry import expire_points  # noqa: E402
from saleor_crm_plugin.loyalty.services import balance  # noqa: E402
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser  # noqa: E402

POINTS = """
TRUNCATE saleor_crm_pointsentry, saleor_crm_pointslot, saleor_crm_pointsaccount,
         saleor_crm_memberrank, saleor_crm_rankchange RESTART IDENTITY CASCADE;
CREATE TEMP TABLE bench_lots AS
SELECT a, i,
       now() - interval '1095 days'
             + make_interval(secs => (i * 1095.0 / (%(earns)s + 1) + random() * 20) * 86400) AS at,
       (50 + floor(random() * 450))::int AS points
FROM generate_series(1, %(customers)s) AS a, generate_series(1, %(earns)s) AS i;
INSERT INTO saleor_crm_pointsaccount
    (id, profile_id, total, remaining, debt, lost, applied_at, applied_key, last_activity_at,
     created_at, updated_at)
SELECT a, a, sum(CASE WHEN i <= %(redeems)s THEN 0 ELSE points END),
       sum(CASE WHEN i <= %(redeems)s THEN 0 ELSE points END), 0, 0, max(at),
       'earn:bench:' || a || ':' || %(earns)s, max(at), now(), now()
FROM bench_lots GROUP BY a ORDER BY a;
SELECT setval(pg_get_serial_sequence('saleor_crm_pointsaccount', 'id'), %(customers)s);
INSERT INTO saleor_crm_pointsentry
    (account_id, key, kind, points, at, lot, available_at, expires_at, held, currency, order_id,
     reference, reason, actor, created_at)
SELECT a, 'earn:bench:' || a || ':' || i, 'earn', points, at, NULL, at,
       at + interval '12 months', false, 'JPY', 'bench-' || a || '-' || i, '', '', '', now()
FROM bench_lots
UNION ALL
SELECT a, 'redeem:bench:' || a || ':' || i, 'redeem', -points, at + interval '1 second', NULL,
       NULL, NULL, false, '', '', '', '', '', now()
FROM bench_lots WHERE i <= %(redeems)s;
INSERT INTO saleor_crm_pointslot
    (account_id, key, earned_at, points, remaining, available_at, expires_at, currency)
SELECT a, 'earn:bench:' || a || ':' || i, at, points,
       CASE WHEN i <= %(redeems)s THEN 0 ELSE points END, at, at + interval '12 months', 'JPY'
FROM bench_lots;
DROP TABLE bench_lots;
"""


def _ms(samples):
    ordered = sorted(samples)
    return (
        f"median {1000 * statistics.median(ordered):.1f} ms, "
        f"p99 {1000 * ordered[int(0.99 * (len(ordered) - 1))]:.1f} ms"
    )


def _fill_points(customers: int, entries: int) -> None:
    redeems = entries // 5
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            POINTS, {"customers": customers, "earns": entries - redeems, "redeems": redeems}
        )
        cursor.execute("VACUUM ANALYZE saleor_crm_pointsentry")
        cursor.execute("VACUUM ANALYZE saleor_crm_pointslot")
        cursor.execute("VACUUM ANALYZE saleor_crm_pointsaccount")
        cursor.execute("SELECT count(*) FROM saleor_crm_pointsentry")
        (written,) = cursor.fetchone()
    print(
        f"points ledger: {customers:,} accounts, {written:,} entries: "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _order_task(samples: int) -> None:
    """One new paid order of a random registered customer per task, like a hook event."""
    loyalty_times = []
    settle = pipeline.settle_loyalty

    def timed_settle(*args, **kwargs):
        started = time.perf_counter()
        try:
            return settle(*args, **kwargs)
        finally:
            loyalty_times.append(time.perf_counter() - started)

    pipeline.settle_loyalty = timed_settle
    registered = list(
        CustomerProfile.objects.filter(user_id__isnull=False, order_count__gt=0).values_list(
            "user_id", flat=True
        )[:200_000]
    )
    rng = random.Random(7)
    now = timezone.now()
    task_times = []
    try:
        for number in range(samples):
            snapshot = paid_order(f"bench-loyalty-{number}", rng.choice(registered), rng, now)
            SandboxOrder.store(snapshot)
            started = time.perf_counter()
            order_tasks.ingest_orders_task.apply(args=[[snapshot.order_id]]).get()
            task_times.append(time.perf_counter() - started)
    finally:
        pipeline.settle_loyalty = settle
    print(f"order task with loyalty ({samples:,} paid orders): {_ms(task_times)}")
    print(f"  of which settle_loyalty (earn + rank): {_ms(loyalty_times)}", flush=True)


def _expiry() -> None:
    config = get_host().config()
    for label in ("first expiry run (catch-up)", "next expiry run (nothing due)"):
        started = time.perf_counter()
        report = expire_points(config, timezone.now())
        elapsed = time.perf_counter() - started
        print(
            f"{label}: {elapsed:.1f} s, {report.accounts:,} accounts, {report.lots:,} lots, "
            f"{report.points:,} points; peak memory "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
            flush=True,
        )


_HEAVY = """
INSERT INTO saleor_crm_pointsentry
    (account_id, key, kind, points, at, lot, available_at, expires_at, held, currency, order_id,
     reference, reason, actor, created_at)
SELECT %(account)s, %(prefix)s || 'earn:' || i, 'earn', 10,
       now() - make_interval(secs => (20000 - i) * 600), NULL,
       now() - make_interval(secs => (20000 - i) * 600), NULL::timestamptz, false, 'JPY', '',
       '', '', '', now()
FROM generate_series(1, %(earns)s) AS i
UNION ALL
SELECT %(account)s, %(prefix)s || 'redeem:' || i, 'redeem', -10,
       now() - make_interval(secs => (20000 - i) * 600 - 1), NULL, NULL, NULL, false, '', '',
       '', '', '', now()
FROM generate_series(1, %(redeems)s) AS i;
INSERT INTO saleor_crm_pointslot
    (account_id, key, earned_at, points, remaining, available_at, expires_at, currency)
SELECT %(account)s, %(prefix)s || 'earn:' || i, now() - make_interval(secs => (20000 - i) * 600),
       10, CASE WHEN i <= %(redeems)s THEN 0 ELSE 10 END,
       now() - make_interval(secs => (20000 - i) * 600), NULL, 'JPY'
FROM generate_series(1, %(earns)s) AS i;
UPDATE saleor_crm_pointsaccount SET total = 10 * (%(earns)s - %(redeems)s),
    remaining = 10 * (%(earns)s - %(redeems)s),
    applied_at = now(), applied_key = 'zzz' WHERE id = %(account)s;
"""


def _heavy_customer(email: str, earns: int, redeems: int) -> tuple[int, str]:
    """A store user whose account holds `earns` earnings and `redeems` redemptions."""
    now = timezone.now()
    user, _ = SandboxUser.objects.get_or_create(
        email=email, defaults={"date_joined": now, "updated_at": now}
    )
    profile, _ = CustomerProfile.objects.get_or_create(user_id=str(user.pk))
    from saleor_crm_plugin.loyalty.models import PointsAccount, PointsEntry, PointsLot

    account, _ = PointsAccount.objects.get_or_create(profile=profile)
    PointsEntry.objects.filter(account=account).delete()
    PointsLot.objects.filter(account=account).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            _HEAVY,
            {
                "account": account.pk,
                "prefix": f"heavy:{account.pk}:",
                "earns": earns,
                "redeems": redeems,
            },
        )
        cursor.execute("VACUUM ANALYZE saleor_crm_pointslot")
    return profile.pk, user.issue_token()


def _balance(samples: int) -> None:
    client = Client()
    for label, earns, redeems in (
        ("5,000 earnings all spent", 5_000, 5_000),
        ("10,000 earnings none spent", 10_000, 0),
    ):
        profile_id, token = _heavy_customer(f"heavy-{earns}-{redeems}@example.com", earns, redeems)
        state = balance(profile_id, timezone.now())
        service, http = [], []
        for _ in range(samples):
            started = time.perf_counter()
            balance(profile_id, timezone.now())
            service.append(time.perf_counter() - started)
        body = '{"query": "{ me { crmPoints { balance pending } } }"}'
        for _ in range(samples):
            started = time.perf_counter()
            response = client.post(
                "/graphql/",
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            http.append(time.perf_counter() - started)
            assert response.status_code == 200
        print(f"balance, 10,000 entries, {label} (balance {state.balance:,}):")
        print(f"  loyalty.services.balance: {_ms(service)}")
        print(f"  GraphQL me.crmPoints over HTTP: {_ms(http)}", flush=True)


def main() -> None:
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20, help="points entries per customer")
    parser.add_argument("--samples", type=int, default=1_000)
    parser.add_argument("--no-points-fill", action="store_true")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    prepare_ledger(args)
    customers = CustomerProfile.objects.count()
    if not args.no_points_fill:
        _fill_points(customers, args.entries)
    _balance(args.samples)
    _order_task(args.samples)
    _expiry()


if __name__ == "__main__":
    main()

"""Deciding which of a million customers enter the built-in campaign flows today.

    bash scripts/bench.sh bench/campaign_entry.py [--customers 1000000] [--now ISO] [--no-fill]

Fills by SQL (no orders: deciding reads the customers' figures, not the ledger) `--customers`
profiles with figures spread over five years: order counts with a long tail (57% one order),
the first order uniform over the five years, the last between it and now; 70% with a store
account (SandboxUser, user id = profile id), 30% of those with a birth date in their private
metadata (the birth-date key); 40% of the customers with a points account of three lots
expiring from 60 days ago to a year on; rank changes for 30% of the customers over two years
and 0.1% a day over the last three days (half up, half down). It installs and switches on every built-in
flow (`services.install_built_in`, then `save_flow(..., enabled=True)`), then times
`services.decide(now, config, host)` end to end (the facts read, each flow's entering on the
three recent days it decides, the entries and their ledger rows written) and its parts, with the
process's peak RSS. Then it decides again at the same time (a retried task: nobody enters,
nothing is written) and an hour later (only new occasions enter).

`--now` defaults to 12:00 (Asia/Tokyo) on the first of this month, so the birthday-month flow
enters this month's birthdays: the heaviest day of the month.
"""

import os
import resource
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_crm_plugin.sandbox.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from fill import ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.campaigns import flows as flow_rules  # noqa: E402
from saleor_crm_plugin.campaigns import services  # noqa: E402
from saleor_crm_plugin.campaigns.models import CampaignFlow, CampaignSend, FlowEntry  # noqa: E402
from saleor_crm_plugin.host import get_host  # noqa: E402

ZONE = ZoneInfo("Asia/Tokyo")

# %(now)s is the decision time; every figure is relative to it.
PROFILES = """
TRUNCATE saleor_crm_campaignflow, saleor_crm_flowentry, saleor_crm_campaignsend,
         saleor_crm_segmentwatch, saleor_crm_pointslot, saleor_crm_pointsentry,
         saleor_crm_pointsaccount, saleor_crm_rankchange, saleor_crm_memberrank,
         saleor_crm_orderlinerecord, saleor_crm_orderrecord, saleor_crm_customerspend,
         saleor_crm_customerprofile, saleor_crm_sandbox_sandboxuser RESTART IDENTITY CASCADE;
CREATE TEMP TABLE bench_customers AS
SELECT g, n, first, CASE WHEN n = 1 THEN first ELSE first + random() * (%(now)s - first) END AS last
FROM (
    SELECT g, 1 + floor(-ln(1 - random()) * 1.2)::int AS n,
           %(now)s - random() * interval '1825 days' AS first
    FROM generate_series(1, %(customers)s) AS g
) AS c;
INSERT INTO saleor_crm_customerprofile
    (id, user_id, email_digest, order_count, first_order_at, last_order_at, lapse_at,
     source_fingerprint, created_at, updated_at)
SELECT g, CASE WHEN g %% 10 < 7 THEN g::text END, md5(g::text) || md5('x' || g::text), n, first,
       last, CASE WHEN n > 1 THEN last + (last - first) / (n - 1) END, '', first, last
FROM bench_customers ORDER BY g;
SELECT setval(pg_get_serial_sequence('saleor_crm_customerprofile', 'id'), %(customers)s);
INSERT INTO saleor_crm_sandbox_sandboxuser
    (id, email, first_name, last_name, is_staff, is_active, permissions, metadata,
     private_metadata, country, country_area, city, customer_type, date_joined, updated_at)
SELECT g, 'c' || g || '@example.com', 'First' || (g %% 97), 'Last' || (g %% 89), false, true,
       '[]', '{}',
       CASE WHEN random() < 0.3 THEN jsonb_build_object(
                'birth_date', to_char(date '1950-01-01' + floor(random() * 20000)::int, 'YYYY-MM-DD'),
                'marketing_consent', 'true')
            ELSE '{"marketing_consent": "true"}'::jsonb END,
       'JP', '東京都', 'City', '', first, now()
FROM bench_customers WHERE g %% 10 < 7 ORDER BY g;
SELECT setval(pg_get_serial_sequence('saleor_crm_sandbox_sandboxuser', 'id'), %(customers)s);
DROP TABLE bench_customers;
"""
POINTS = """
INSERT INTO saleor_crm_pointsaccount
    (id, profile_id, total, remaining, debt, lost, applied_at, applied_key, last_activity_at,
     created_at, updated_at)
SELECT g, g, 900, 900, 0, 0, %(now)s, '', %(now)s, %(now)s, %(now)s
FROM generate_series(1, %(customers)s) AS g WHERE g %% 5 < 2;
SELECT setval(pg_get_serial_sequence('saleor_crm_pointsaccount', 'id'), %(customers)s);
INSERT INTO saleor_crm_pointslot
    (account_id, key, earned_at, points, remaining, available_at, expires_at, currency)
SELECT account_id, 'earn:bench:' || account_id || ':' || i, at - interval '12 months', 300,
       remaining, at - interval '12 months', at, 'JPY'
FROM (
    SELECT a.id AS account_id, i, %(now)s + (random() * 425 - 60) * interval '1 day' AS at,
           CASE WHEN random() < 0.9 THEN 300 ELSE 0 END AS remaining
    FROM saleor_crm_pointsaccount a, generate_series(1, 3) AS i
) AS lots;
"""
RANKS = """
INSERT INTO saleor_crm_rankchange
    (profile_id, from_code, to_code, reason, at, rule_version, order_ids, actor)
SELECT 1 + floor(random() * %(customers)s)::bigint, 'REGULAR', 'SILVER', 'orders 3',
       %(now)s - interval '3 days' - random() * interval '730 days', 'bench', '[]', ''
FROM generate_series(1, %(customers)s * 3 / 10);
INSERT INTO saleor_crm_rankchange
    (profile_id, from_code, to_code, reason, at, rule_version, order_ids, actor)
SELECT 1 + floor(random() * %(customers)s)::bigint,
       CASE WHEN g %% 2 = 0 THEN 'SILVER' ELSE 'GOLD' END,
       CASE WHEN g %% 2 = 0 THEN 'GOLD' ELSE 'SILVER' END,
       'bench', %(now)s - random() * interval '3 days', 'bench', '[]', ''
FROM generate_series(1, %(customers)s * 3 / 1000) AS g;
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fill(customers: int, now: datetime) -> None:
    with connection.cursor() as cursor:
        for label, sql in (("profiles and users", PROFILES), ("points", POINTS), ("ranks", RANKS)):
            started = time.perf_counter()
            cursor.execute(sql, {"customers": customers, "now": now})
            print(f"fill {label}: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s", flush=True)


class Timer:
    """Wrap module functions to add up their time in one decision."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)

    def wrap(self, module, name: str, label: str | None = None):
        original = getattr(module, name)
        label = label or name

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        setattr(module, name, timed)

    def reset(self):
        self.seconds.clear()
        self.calls.clear()


def _entering_by_flow(timer: Timer):
    """Time flows.entering per trigger (services calls it through the module)."""
    original = flow_rules.entering

    def timed(flow, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(flow, *args, **kwargs)
        finally:
            timer.seconds[f"entering {flow.trigger}"] += time.perf_counter() - started
            timer.calls[f"entering {flow.trigger}"] += 1

    flow_rules.entering = timed


def _decide(label: str, now: datetime, config, host, timer: Timer) -> dict:
    timer.reset()
    before = FlowEntry.objects.count(), CampaignSend.objects.count()
    started = time.perf_counter()
    cpu = time.process_time()
    entered = services.decide(now, config, host)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = FlowEntry.objects.count(), CampaignSend.objects.count()
    print(
        f"{label}: decide {wall:.2f} s wall, {cpu:.2f} s CPU in Python; "
        f"{after[0] - before[0]:,} entries, {after[1] - before[1]:,} ledger rows written; "
        f"peak RSS {_peak_mb():,.0f} MB",
        flush=True,
    )
    print("  entered: " + ", ".join(f"{slug} {n:,}" for slug, n in sorted(entered.items())))
    for part, seconds in sorted(timer.seconds.items(), key=lambda item: -item[1]):
        print(f"  {part}: {seconds:.2f} s ({timer.calls[part]} calls)")
    return entered


def main():
    parser = ledger_arguments(__doc__.splitlines()[0])
    local = datetime.now(ZONE).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    parser.add_argument("--now", type=datetime.fromisoformat, default=local)
    args = parser.parse_args()
    now = args.now if args.now.tzinfo else args.now.replace(tzinfo=ZONE)
    prepare_ledger(argparse_without_fill(args))
    if not args.no_fill:
        _fill(args.customers, now)
    host = get_host()
    config = host.config()
    CampaignFlow.objects.all().delete()
    for name in flow_rules.BUILT_IN:
        row = services.install_built_in(name, config)
        services.save_flow(row.slug, row.definition, config, enabled=True, now=now)
    print(f"{len(flow_rules.BUILT_IN)} built-in flows switched on; deciding at {now.isoformat()}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM saleor_crm_customerprofile")
        print(f"{cursor.fetchone()[0]:,} customers", flush=True)

    timer = Timer()
    timer.wrap(services, "customer_facts", "customer_facts (the facts read)")
    timer.wrap(services, "day_events", "day_events (rank changes, deliveries)")
    timer.wrap(services, "_occasions")
    timer.wrap(services, "_enter", "_enter (entries and ledger rows written)")
    _entering_by_flow(timer)

    first = _decide("first decision", now, config, get_host(), timer)
    entries = FlowEntry.objects.count()
    assert sum(first.values()) == entries
    again = _decide("again at the same time (a retried task)", now, config, get_host(), timer)
    assert sum(again.values()) == 0, again
    assert FlowEntry.objects.count() == entries
    later = _decide("an hour later", now + timedelta(hours=1), config, get_host(), timer)
    assert FlowEntry.objects.count() == entries + sum(later.values())
    print(
        f"deciding again entered nobody twice ({entries:,} entries); an hour later "
        f"{sum(later.values()):,} entered on new occasions only (e.g. a customer whose first "
        "points lot expired in that hour, for the next lot's expiry)"
    )


def argparse_without_fill(args):
    """prepare_ledger fills bench/fill.py's ledger unless --no-fill: this bench fills its own."""
    from argparse import Namespace

    return Namespace(**{**vars(args), "no_fill": True})


if __name__ == "__main__":
    main()

# ruff: noqa: RUF001, RUF002 (full-width digits and hyphens are what the planted rows hold)
"""The duplicate search over 1M profiles, the host read included (PostgreSQL).

    bash scripts/bench.sh bench/duplicates.py [--customers 1000000] [--orders 3000000] [--runs 3]

Fills the ledger like bench/rfm.py (70% of the profiles with a store account), then the
sandbox store: an account per registered profile with a Japanese phone number and postal code
(the sandbox keeps them in the user's metadata), and the latest order of every guest with its
email. Planted duplicates, typed the way people type them:

- 1 in 50 guests ordered with an account's address in another case and with a `+tag`;
- 1 in 100 accounts has another account's phone number in full-width digits, no hyphens;
- 1 in 100 accounts has another account's name, and its postal code as `〒１２３－４５６７`.

Then times `find_duplicates` (`--runs` times, the median and the slowest): the profiles'
contact facts read from the store (streamed, 50,000 a batch), the keys and pairs, and the
stored list replaced; and each part on its own once. Prints the pairs found and how many of
the planted ones they hold, and the process's peak memory.
"""

import dataclasses
import os
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

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from fill import ledger_arguments, prepare_ledger  # noqa: E402

from saleor_crm_plugin.customers.duplicate_search import contact_frame, find_duplicates  # noqa: E402
from saleor_crm_plugin.customers.duplicates import candidate_pairs  # noqa: E402
from saleor_crm_plugin.customers.merge_models import DuplicateCandidate  # noqa: E402
from saleor_crm_plugin.host import get_host  # noqa: E402

# Accounts (user id = profile id) with a phone and a postal code each; the planted ones copy
# another account's, typed otherwise. NFKC turns U+FF10.. into 0..9 (translate() below). The
# phones are valid Japanese mobile numbers (090-1XXX-XXXX, up to 10 million ids): an invalid
# one (090-0000-0002, which the first script typed) is no key.
STORE = """
TRUNCATE saleor_crm_sandbox_sandboxorder, saleor_crm_sandbox_sandboxuser RESTART IDENTITY CASCADE;
INSERT INTO saleor_crm_sandbox_sandboxuser
    (id, email, first_name, last_name, is_staff, is_active, permissions, metadata,
     private_metadata, country, country_area, city, customer_type, date_joined, updated_at)
SELECT id, 'c' || id || '@example.com',
       'First' || (CASE WHEN id % 100 = 2 THEN id - 2 ELSE id END),
       'Last' || (CASE WHEN id % 100 = 2 THEN id - 2 ELSE id END), false, true, '[]',
       jsonb_build_object(
         'phone', CASE WHEN id % 100 = 1
             THEN translate('0901' || lpad((id - 1)::text, 7, '0'), '0123456789', '０１２３４５６７８９')
             ELSE '090-1' || substr(lpad(id::text, 7, '0'), 1, 3) || '-' || substr(lpad(id::text, 7, '0'), 4, 4) END,
         'postal_code', CASE WHEN id % 100 = 2
             THEN '〒' || translate(substr(lpad(((id - 2) * 7919 % 10000000)::text, 7, '0'), 1, 3) || '－'
                  || substr(lpad(((id - 2) * 7919 % 10000000)::text, 7, '0'), 4, 4), '0123456789', '０１２３４５６７８９')
             ELSE substr(lpad((id * 7919 % 10000000)::text, 7, '0'), 1, 3) || '-'
                  || substr(lpad((id * 7919 % 10000000)::text, 7, '0'), 4, 4) END),
       '{}', 'JP', '', '', '', now(), now()
FROM saleor_crm_customerprofile WHERE user_id IS NOT NULL;
INSERT INTO saleor_crm_sandbox_sandboxorder
    (order_id, email, user_id, data, placed_at, updated_at, private_metadata)
SELECT DISTINCT ON (o.profile_id) o.order_id,
       CASE WHEN o.profile_id % 50 = 7 THEN 'C' || (o.profile_id - 7) || '+shop@Example.com'
            ELSE 'g' || o.profile_id || '@example.com' END,
       NULL, '{}', o.placed_at, o.placed_at, '{}'
FROM saleor_crm_orderrecord o JOIN saleor_crm_customerprofile p ON p.id = o.profile_id
WHERE p.user_id IS NULL
ORDER BY o.profile_id, o.placed_at DESC, o.order_id DESC;
ANALYZE saleor_crm_sandbox_sandboxuser;
ANALYZE saleor_crm_sandbox_sandboxorder;
"""


def _planted():
    """The planted pairs (lower id, higher id) -> the key they share."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM saleor_crm_sandbox_sandboxuser WHERE id % 100 IN (1, 2) AND id > 2"
        )
        users = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT DISTINCT o.profile_id FROM saleor_crm_orderrecord o"
            " JOIN saleor_crm_customerprofile p ON p.id = o.profile_id"
            " WHERE p.user_id IS NULL AND o.profile_id % 50 = 7"
        )
        guests = [row[0] for row in cursor.fetchall()]
    planted = {(u - 1, u): "phone" for u in users if u % 100 == 1}
    planted |= {(u - 2, u): "name_postal" for u in users if u % 100 == 2}
    planted |= {(g - 7, g): "email" for g in guests if g > 7}
    return planted


def main():
    parser = ledger_arguments(__doc__.splitlines()[0])
    parser.set_defaults(orders=3_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    prepare_ledger(args)
    if not args.no_fill:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(STORE)
        print(f"the store's accounts and guest orders: {time.perf_counter() - started:.1f} s")
    host = get_host()
    config = dataclasses.replace(host.config(), store_time_zone="Asia/Tokyo")

    started = time.perf_counter()
    contacts = contact_frame(host)
    read = time.perf_counter() - started
    started = time.perf_counter()
    candidate_pairs(contacts, "JP")
    pairs = time.perf_counter() - started
    print(
        f"host read: {read:.1f} s ({len(contacts):,} contact rows of "
        f"{contacts['profile_id'].nunique():,} profiles); keys and pairs: {pairs:.1f} s"
    )

    walls = []
    for _ in range(args.runs):
        started = time.perf_counter()
        report = find_duplicates(host, config, timezone.now())
        walls.append(time.perf_counter() - started)
    print(
        f"find_duplicates (read + pairs + store), {args.runs} runs: median "
        f"{statistics.median(walls):.1f} s, slowest {max(walls):.1f} s; "
        f"{report.pairs:,} pairs, crowded keys {report.crowded}"
    )
    stored = {
        (row[0], row[1]): row[2:]
        for row in DuplicateCandidate.objects.values_list(
            "profile_id", "other_id", "email", "phone", "name_postal"
        )
    }
    kinds = ("email", "phone", "name_postal")
    planted = _planted()
    hit = sum(
        1 for pair, kind in planted.items() if pair in stored and stored[pair][kinds.index(kind)]
    )
    print(f"planted pairs found with their evidence: {hit:,} of {len(planted):,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()

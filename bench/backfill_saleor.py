"""`crm_backfill` of a Saleor store with years of history: orders/s, peak memory, resume.

Runs against a real Saleor 3.23 install (no Saleor import here: SQL and `manage.py`). It copies
the Saleor database `--template` (a migrated store with `populatedb`'s catalogue and orders) to
`--database`, and fills that copy by SQL with `--customers` accounts and `--orders` paid orders
over five years: each a copy of one of the store's own checkout orders with a new id and number,
70% placed by an account (long-tailed: a few customers buy often, most rarely), 30% by guests
(whose emails repeat), 1-3 lines each copied from the store's lines, and an ORDER_FULLY_PAID
event. Then it times `manage.py crm_backfill --restart` in a subprocess: wall time, orders/s of
the order phase (read from its progress lines), the whole command's peak RSS. With
`--interrupt-after S` a second run is stopped (SIGTERM) after S seconds and a third resumes it;
the ledger must then hold every order once.

    source /work/saleor-run/env.sh   # DATABASE_URL of the Saleor install, SALEOR_SRC
    python bench/backfill_saleor.py --orders 1000000 --customers 200000 [--no-fill]
        [--interrupt-after 30]
"""

import argparse
import os
import re
import resource
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg

USERS = """
INSERT INTO account_user
SELECT r.* FROM (SELECT * FROM account_user WHERE NOT is_staff ORDER BY id LIMIT 1) AS t
CROSS JOIN generate_series(1, %(customers)s) AS g
CROSS JOIN LATERAL jsonb_populate_record(NULL::account_user, to_jsonb(t) || jsonb_build_object(
    'id', nextval(pg_get_serial_sequence('account_user', 'id')),
    'email', 'customer' || g || '@backfill.example',
    'uuid', gen_random_uuid(),
    'first_name', 'Bench', 'last_name', 'Customer ' || g,
    'is_staff', false, 'is_superuser', false, 'is_active', true,
    'date_joined', now() - interval '6 years' + g * interval '1 second',
    'updated_at', now() - interval '6 years' + g * interval '1 second',
    'default_billing_address_id', NULL, 'default_shipping_address_id', NULL,
    'search_document', '', 'metadata', '{}'::jsonb, 'private_metadata', '{}'::jsonb
)) AS r
ORDER BY g
"""

# Orders: the template's columns with a new id, number, owner, time and totals.
ORDERS = """
CREATE TEMP TABLE bench_owner AS
SELECT g,
       CASE WHEN random() < 0.7
            THEN (SELECT min(id) FROM account_user WHERE email LIKE '%%@backfill.example')
                 + floor(%(customers)s * power(random(), 3))::int END AS user_id,
       floor(%(customers)s * random())::int AS guest,
       now() - random() * interval '1825 days' AS placed,
       (10 + floor(random() * 190))::numeric AS amount
FROM generate_series(1, %(orders)s) AS g;
INSERT INTO order_order
SELECT r.*
FROM (SELECT * FROM order_order WHERE user_id IS NOT NULL AND origin = 'checkout'
      ORDER BY number LIMIT 1) AS t
CROSS JOIN (SELECT min(id) AS first FROM account_user WHERE email LIKE '%%@backfill.example') AS u
CROSS JOIN bench_owner AS o
CROSS JOIN LATERAL jsonb_populate_record(NULL::order_order, to_jsonb(t) || jsonb_build_object(
    'id', gen_random_uuid(),
    'number', nextval(pg_get_serial_sequence('order_order', 'number')),
    'user_id', o.user_id,
    'user_email', CASE WHEN o.user_id IS NULL THEN 'guest' || o.guest || '@backfill.example'
                       ELSE 'customer' || (o.user_id - u.first + 1) || '@backfill.example' END,
    'created_at', o.placed, 'updated_at', o.placed + interval '1 minute',
    'total_gross_amount', o.amount, 'total_net_amount', o.amount,
    'undiscounted_total_gross_amount', o.amount, 'undiscounted_total_net_amount', o.amount,
    'subtotal_gross_amount', o.amount, 'subtotal_net_amount', o.amount,
    'total_charged_amount', o.amount, 'total_authorized_amount', 0,
    'shipping_price_gross_amount', 0, 'shipping_price_net_amount', 0,
    'base_shipping_price_amount', 0, 'undiscounted_base_shipping_price_amount', 0,
    'status', 'unfulfilled', 'charge_status', 'full', 'checkout_token', '',
    'search_document', '', 'search_vector', NULL,
    'metadata', '{}'::jsonb, 'private_metadata', '{}'::jsonb,
    'billing_address_id', NULL, 'shipping_address_id', NULL, 'voucher_id', NULL,
    'external_reference', NULL, 'original_id', NULL
)) AS r
ORDER BY o.g;
DROP TABLE bench_owner;
"""

LINES = """
INSERT INTO order_orderline
SELECT r.*
FROM (SELECT * FROM order_orderline WHERE order_id = (
          SELECT id FROM order_order WHERE origin = 'checkout' ORDER BY number LIMIT 1)
      LIMIT 1) AS t
CROSS JOIN order_order AS o
CROSS JOIN LATERAL (SELECT 1 + (hashtext(o.id::text) & 3) %% 3 AS k) AS n
CROSS JOIN LATERAL generate_series(1, n.k) AS i
CROSS JOIN LATERAL jsonb_populate_record(NULL::order_orderline, to_jsonb(t) || jsonb_build_object(
    'id', gen_random_uuid(), 'old_id', NULL, 'order_id', o.id, 'quantity', least(i, 1),
    'quantity_fulfilled', 0, 'created_at', o.created_at,
    'unit_price_gross_amount', round(o.total_gross_amount / n.k, 2),
    'unit_price_net_amount', round(o.total_gross_amount / n.k, 2),
    'total_price_gross_amount', round(o.total_gross_amount / n.k, 2),
    'total_price_net_amount', round(o.total_gross_amount / n.k, 2)
)) AS r
WHERE o.number > %(first_number)s
"""

EVENTS = """
INSERT INTO order_orderevent (date, type, parameters, order_id)
SELECT o.created_at + interval '1 minute', 'order_fully_paid', '{}'::jsonb, o.id
FROM order_order AS o WHERE o.number > %(first_number)s
"""


# With --lean, the copy keeps only these of Saleor's indexes on the tables the fill writes (and
# those behind constraints): what `crm_backfill` reads by. The rest (search vectors, metadata,
# ...) only slow the fill down; the backfill reads no column they index.
LEAN_KEEP = {
    "order_order": ("number", "user_id", "updated_at", "channel_id"),
    "order_orderline": ("order_id", "variant_id"),
    "order_orderevent": ("order_id",),
    "account_user": ("email", "updated_at"),
}

DROPPABLE = """
SELECT i.indexrelid::regclass::text, t.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


def drop_unread_indexes(connection) -> int:
    dropped = 0
    for index, table, definition in connection.execute(DROPPABLE, [list(LEAN_KEEP)]).fetchall():
        columns = definition.partition(" USING ")[2]
        if any(f"btree ({column})" in columns for column in LEAN_KEEP[table]):
            continue
        connection.execute(f"DROP INDEX {index}")
        dropped += 1
    return dropped


def _url(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/" + name))


def fill(args) -> None:
    admin = _url(os.environ["DATABASE_URL"], "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        connection.execute(f'CREATE DATABASE "{args.database}" TEMPLATE "{args.template}"')
    with psycopg.connect(_url(os.environ["DATABASE_URL"], args.database)) as connection:
        if args.lean:
            print(f"lean: dropped {drop_unread_indexes(connection)} indexes", flush=True)
            connection.commit()
        first_number = connection.execute("SELECT max(number) FROM order_order").fetchone()[0]
        values = {**vars(args), "first_number": first_number}
        for name, sql in (
            ("users", USERS),
            ("orders", ORDERS),
            ("lines", LINES),
            ("events", EVENTS),
        ):
            started = time.monotonic()
            with connection.cursor() as cursor:
                for statement in filter(str.strip, sql.split(";\n")):
                    cursor.execute(statement, values)
            connection.commit()
            print(f"fill {name}: {time.monotonic() - started:.1f} s", flush=True)
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM order_order), (SELECT count(*) FROM order_orderline),"
            " (SELECT count(*) FROM account_user)"
        ).fetchone()
        print(f"store: {counts[0]:,} orders, {counts[1]:,} lines, {counts[2]:,} users")


def clear_ledger(args) -> None:
    """Empty the CRM's tables and its keys in Saleor's users' private metadata, as on a store
    that has just installed the plugin."""
    with psycopg.connect(_url(os.environ["DATABASE_URL"], args.database)) as connection:
        connection.execute(
            "TRUNCATE saleor_crm_customerprofile, saleor_crm_orderrecord,"
            " saleor_crm_orderlinerecord, saleor_crm_backfillcheckpoint CASCADE"
        )
        connection.execute("DELETE FROM saleor_crm_pendingchange")
        # The summaries a backfill writes to Saleor's users, so that it writes them all again.
        connection.execute(
            "UPDATE account_user SET private_metadata = ("
            " SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)"
            " FROM jsonb_each(private_metadata) WHERE key NOT LIKE 'crm.%%')"
            " WHERE private_metadata::text LIKE '%%\"crm.%%'"
        )


def backfill(args, restart: bool, stop_after: float | None = None) -> dict:
    environment = {**os.environ, "DATABASE_URL": _url(os.environ["DATABASE_URL"], args.database)}
    command = [
        sys.executable,
        "manage.py",
        "crm_backfill",
        "--batch-size",
        str(args.batch_size),
        "--workers",
        str(args.workers),
    ]
    if restart:
        command.append("--restart")
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        command,
        cwd=os.environ["SALEOR_SRC"],
        env=environment,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    if stop_after is not None:
        try:
            process.wait(stop_after)
        except subprocess.TimeoutExpired:
            # As a terminal's Ctrl-C or a service stop: the command and its worker processes.
            os.killpg(process.pid, signal.SIGTERM)
    out, err = process.communicate()
    wall = time.monotonic() - started
    rates = re.findall(r"orders [\d,]+/[\d,]+ \(\d+%\) ([\d,]+)/s", err)
    took = [line for line in out.splitlines() if line.startswith("Took ")]
    return {
        "wall": wall,
        "code": process.returncode,
        "out": out.strip(),
        "err": err.strip().splitlines()[-3:],
        "orders_per_second": int(rates[-1].replace(",", "")) if rates else None,
        "took": took[0] if took else "",
        "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def ledger_counts(args) -> tuple:
    with psycopg.connect(_url(os.environ["DATABASE_URL"], args.database)) as connection:
        return connection.execute(
            "SELECT (SELECT count(*) FROM saleor_crm_orderrecord),"
            " (SELECT count(DISTINCT order_id) FROM saleor_crm_orderrecord),"
            " (SELECT count(*) FROM order_order WHERE status NOT IN ('draft', 'expired')),"
            " (SELECT count(*) FROM saleor_crm_orderlinerecord),"
            " (SELECT count(*) FROM saleor_crm_customerprofile)"
        ).fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--template", default="saleor")
    parser.add_argument("--database", default="saleor_backfill_bench")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-fill", action="store_true")
    parser.add_argument("--fill-only", action="store_true")
    parser.add_argument(
        "--lean", action="store_true", help="drop the indexes the backfill never reads by"
    )
    parser.add_argument("--interrupt-after", type=float)
    args = parser.parse_args()
    if not args.no_fill:
        fill(args)
    if args.fill_only:
        return
    clear_ledger(args)
    run = backfill(args, restart=True)
    print(
        f"backfill: {run['wall']:.1f} s wall, order phase {run['orders_per_second']} orders/s, "
        f"peak RSS {run['peak_mb']:.0f} MB, exit {run['code']}\n  {run['out']}\n  {run['err']}"
    )
    counts = ledger_counts(args)
    print(
        f"ledger: {counts[0]:,} order rows ({counts[1]:,} distinct) of {counts[2]:,} in the "
        f"store, {counts[3]:,} lines, {counts[4]:,} profiles"
    )
    if args.interrupt_after:
        clear_ledger(args)
        stopped = backfill(args, restart=True, stop_after=args.interrupt_after)
        resumed = backfill(args, restart=False)
        again = ledger_counts(args)
        print(
            f"interrupted after {stopped['wall']:.1f} s (exit {stopped['code']}); resumed run "
            f"{resumed['wall']:.1f} s: {resumed['out']}\n  ledger after: {again}"
            f" ({'same' if again == counts else 'DIFFERENT'} as the uninterrupted run)"
        )


if __name__ == "__main__":
    main()

"""The embedded default database (SQLite): the `saleor-crm import` command in its own process.

Every other test runs on PostgreSQL; ingestion writes its rows another way on SQLite.
"""

import os
import sqlite3
import subprocess
import sys
from decimal import Decimal

HEADER = (
    "Order ID,Customer ID,Email,Date,Total,Currency,Status,SKU,Quantity,Unit Price,Product Name\n"
)
ROWS = (
    "1001,C1,ann@example.com,2025-03-01 10:00,3000,JPY,fulfilled,TEA-1,2,1000,Sencha\n"
    "1001,C1,ann@example.com,2025-03-01 10:00,3000,JPY,fulfilled,CUP-1,1,1000,Cup\n"
    "1002,,ann@example.com,2025-03-05 10:00,1500,JPY,fulfilled,TEA-1,1,1500,Sencha\n"
    "1003,,guest@example.com,2025-03-02T09:30:00+00:00,12.50,USD,fulfilled,TEA-2,1,12.50,Matcha\n"
    "1004,C1,ann@example.com,2025-04-01,5000,JPY,canceled,,,,\n"
)


def _import(home, path) -> subprocess.CompletedProcess:
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
        },
        "SALEOR_CRM_HOME": str(home),
    }
    return subprocess.run(  # noqa: S603 (this interpreter, our own module)
        [sys.executable, "-m", "saleor_crm_plugin.sandbox.cli", "import", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_an_import_into_sqlite_writes_the_ledger_once(tmp_path):
    # given
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")

    # when
    first = _import(tmp_path / "home", path)
    again = _import(tmp_path / "home", path)

    # then
    assert first.stdout.strip().endswith("4 new, 0 updated, 0 unchanged"), first.stderr
    assert again.stdout.strip().endswith("0 new, 0 updated, 4 unchanged"), again.stderr
    database = next((tmp_path / "home").glob("*.sqlite3"))
    with sqlite3.connect(database) as connection:
        orders = connection.execute(
            "SELECT order_id, counts FROM saleor_crm_orderrecord ORDER BY order_id"
        ).fetchall()
        placed = connection.execute(
            "SELECT placed_at FROM saleor_crm_orderrecord WHERE order_id = '1003'"
        ).fetchone()
        lines = connection.execute(
            "SELECT o.order_id, l.sku, l.quantity FROM saleor_crm_orderlinerecord l"
            " JOIN saleor_crm_orderrecord o ON o.id = l.order_id ORDER BY o.order_id, l.sku"
        ).fetchall()
        spend = connection.execute(
            "SELECT p.user_id IS NOT NULL, p.order_count, s.currency, s.total_spent_amount"
            " FROM saleor_crm_customerprofile p JOIN saleor_crm_customerspend s"
            " ON s.profile_id = p.id ORDER BY s.currency"
        ).fetchall()
    assert [order_id for order_id, _ in orders] == ["1001", "1002", "1003", "1004"]
    assert [counts for _, counts in orders] == [1, 1, 1, 0]
    assert placed == ("2025-03-02 09:30:00",)  # as Django writes times to SQLite: naive UTC
    assert lines == [
        ("1001", "CUP-1", 1),
        ("1001", "TEA-1", 2),
        ("1002", "TEA-1", 1),
        ("1003", "TEA-2", 1),
    ]
    # the guest order of ann's email is hers
    assert [
        (registered, n, currency, Decimal(str(total))) for registered, n, currency, total in spend
    ] == [
        (1, 2, "JPY", Decimal(4500)),
        (0, 1, "USD", Decimal("12.5")),
    ]

"""`rows.add_rows` / `add_objects`: what they write, and what they leave alone (PostgreSQL)."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from saleor_crm_plugin.rows import add_objects, add_rows
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser

pytestmark = pytest.mark.django_db

T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FIELDS = ["order_id", "email", "user", "data", "placed_at", "updated_at"]


def _versions() -> dict[str, str]:
    """Each order row's physical version (ctid moves whenever PostgreSQL writes the row)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT order_id, ctid::text FROM {SandboxOrder._meta.db_table}")
        return dict(cursor.fetchall())


def test_an_upsert_rewrites_only_the_rows_whose_values_differ():
    rows = [(f"o{n}", f"c{n}@example.com", None, {"n": n}, T, T) for n in range(3)]
    add_rows(SandboxOrder, FIELDS, rows, unique=["order_id"], update=FIELDS[1:])
    before = _versions()

    changed = ("o1", "c1@example.com", None, {"n": 1, "refunded": "5"}, T, T)
    add_rows(
        SandboxOrder, FIELDS, [rows[0], changed, rows[2]], unique=["order_id"], update=FIELDS[1:]
    )

    after = _versions()
    assert after["o0"] == before["o0"]
    assert after["o2"] == before["o2"]
    assert after["o1"] != before["o1"]
    assert SandboxOrder.objects.get(order_id="o1").data == {"n": 1, "refunded": "5"}
    assert SandboxOrder.objects.get(order_id="o0").data == {"n": 0}


def test_add_objects_writes_defaults_and_auto_times_as_save_does():
    add_objects(
        SandboxUser,
        [SandboxUser(email=f"u{n}@example.com", date_joined=T, updated_at=T) for n in range(2)],
    )
    users = list(SandboxUser.objects.order_by("email"))
    assert [u.email for u in users] == ["u0@example.com", "u1@example.com"]
    assert all(
        u.is_active and not u.is_staff and u.metadata == {} and u.date_joined == T for u in users
    )

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


def test_a_copy_writes_each_column_in_its_type_whatever_python_type_a_value_has():
    # given: a user, and lot rows whose values come as the callers give them: an account id
    # as text, points as a whole number given as text, a paid amount as an int, a JSON value
    from decimal import Decimal

    from saleor_crm_plugin.customers.models import CustomerProfile
    from saleor_crm_plugin.loyalty.models import PointsAccount, PointsLot

    account = PointsAccount.objects.create(profile=CustomerProfile.objects.create())
    fields = ["account", "key", "earned_at", "points", "remaining", "available_at", "currency"]
    fields += ["funding", "paid_amount"]

    # when: written with one binary COPY (a generator of rows, read more than once)
    add_rows(
        PointsLot,
        fields,
        (
            row
            for row in [
                (str(account.pk), "a", T, "5", 5, T, "JPY", "paid", 1000),
                (account.pk, "b", T, 7, 7, T, "JPY", "free", None),
            ]
        ),
    )
    add_rows(SandboxOrder, FIELDS, [("o9", "c9@example.com", None, {"n": [1, "x"]}, T, T)])

    # then: each value as its column holds it
    assert list(
        PointsLot.objects.order_by("key").values_list("account_id", "points", "paid_amount")
    ) == [(account.pk, 5, Decimal(1000)), (account.pk, 7, None)]
    assert SandboxOrder.objects.get(order_id="o9").data == {"n": [1, "x"]}

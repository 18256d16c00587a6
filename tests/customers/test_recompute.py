"""The figures of `recompute_profiles`: PostgreSQL's one statement against the Python path."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models.expressions import RawSQL

from saleor_crm_plugin.customers import ingest
from saleor_crm_plugin.customers.ingest import ingest_orders, recompute_profiles
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend, OrderRecord
from tests.factories import T0, order

pytestmark = pytest.mark.django_db

US = timedelta(microseconds=1)


def _figures() -> tuple[list, list]:
    profiles = list(
        CustomerProfile.objects.order_by("pk").values_list(
            "pk", "order_count", "first_order_at", "last_order_at", "lapse_at"
        )
    )
    spends = list(
        CustomerSpend.objects.order_by("profile_id", "currency").values_list(
            "profile_id",
            "currency",
            "order_count",
            "total_spent_amount",
            "average_order_amount",
            "first_order_at",
            "last_order_at",
            "profile_order_count",
            "profile_first_order_at",
            "profile_last_order_at",
            "profile_lapse_at",
            "profile_active",
        )
    )
    return profiles, spends


def _store() -> list[int]:
    ingest_orders(
        [
            # three orders an odd number of microseconds apart: the average gap is a tie
            # (x.5 µs), rounded to even as Python does
            order("a1", email="a@example.com", placed_at=T0),
            order("a2", email="a@example.com", placed_at=T0 + timedelta(days=3)),
            order("a3", email="a@example.com", placed_at=T0 + timedelta(days=5) + US),
            # two currencies; averages that round half up (JPY 1001 / 2, USD 0.005 ties)
            order("b1", email="b@example.com", total="1000", placed_at=T0),
            order("b2", email="b@example.com", total="1003", placed_at=T0 + 3 * US),
            order("b3", email="b@example.com", currency="USD", total="0.01", placed_at=T0),
            order("b4", email="b@example.com", currency="USD", total="0.00", placed_at=T0),
            # a three-decimal currency
            order("c1", email="c@example.com", currency="KWD", total="1.001", placed_at=T0),
            order("c2", email="c@example.com", currency="KWD", total="1.002", placed_at=T0),
            # refunded in full: no counted orders, no spend row
            order("d1", email="d@example.com", refunded="1000", placed_at=T0),
            # 999,999 µs gaps over 7 orders
            *(
                order(f"e{i}", email="e@example.com", placed_at=T0 + i * timedelta(days=1) + i * US)
                for i in range(7)
            ),
        ],
        settle=False,
    )
    return list(CustomerProfile.objects.values_list("pk", flat=True))


def test_postgresql_writes_the_figures_the_python_path_computes():
    # given
    ids = _store()
    ingest._recompute_in_python(ids)
    expected = _figures()
    CustomerProfile.objects.update(order_count=0, first_order_at=None, lapse_at=None)
    CustomerSpend.objects.all().delete()

    # when
    recompute_profiles(ids)

    # then
    assert _figures() == expected
    a = CustomerProfile.objects.get(orders__order_id="a1")
    assert a.lapse_at == T0 + timedelta(days=5) + US + (timedelta(days=5) + US) / 2
    b_jpy = CustomerSpend.objects.get(profile__orders__order_id="b1", currency="JPY")
    assert b_jpy.average_order_amount == Decimal(1002)  # 1001.5 rounded half up
    d = CustomerProfile.objects.get(orders__order_id="d1")
    assert (d.order_count, d.lapse_at, d.spends.count()) == (0, None, 0)


def test_a_profile_whose_orders_stop_counting_loses_its_figures_and_spend_rows():
    # given
    ids = _store()
    recompute_profiles(ids)
    OrderRecord.objects.filter(order_id__in=["b3", "b4"]).update(counts=False)

    # when
    recompute_profiles(ids)

    # then
    b = CustomerProfile.objects.get(orders__order_id="b1")
    assert list(b.spends.values_list("currency", flat=True)) == ["JPY"]
    assert b.order_count == 2
    spend = b.spends.get()
    assert (spend.profile_order_count, spend.profile_lapse_at) == (2, b.lapse_at)


def _row_versions() -> set:
    """The version PostgreSQL gives each row of the profiles and spend rows (`ctid`: a row written again moves)."""
    version = RawSQL("ctid::text", [])
    return set(CustomerProfile.objects.annotate(v=version).values_list("pk", "v")) | set(
        CustomerSpend.objects.annotate(v=version).values_list("pk", "v")
    )


def test_an_unchanged_profile_and_its_spend_rows_are_not_written_again():
    # given
    ids = _store()
    recompute_profiles(ids)
    before = _row_versions()

    # when
    recompute_profiles(ids)

    # then
    assert _row_versions() == before

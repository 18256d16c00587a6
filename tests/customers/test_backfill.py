import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders, settle_profiles
from saleor_crm_plugin.customers.models import (
    BackfillCheckpoint,
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from saleor_crm_plugin.host import reset_host
from saleor_crm_plugin.host.sandbox import SandboxHost
from saleor_crm_plugin.intake import backfill
from saleor_crm_plugin.intake.backfill import run_backfill
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from tests.factories import T0, order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def store():
    reset_host()
    user = SandboxUser.objects.create(email="ann@example.com", date_joined=T0, updated_at=T0)
    for index in range(7):
        snapshot = order(
            f"o{index}",
            user_id=str(user.pk) if index % 2 else None,
            email="ann@example.com" if index % 2 else f"guest{index}@example.com",
            placed_at=T0 + timedelta(days=index),
        )
        SandboxOrder.store(snapshot)
    return user


def test_backfill_loads_every_order_and_reports_counts(store):
    # given
    out, err = StringIO(), StringIO()

    # when
    call_command("crm_backfill", "--batch-size", "3", stdout=out, stderr=err)

    # then
    assert OrderRecord.objects.count() == 7
    assert CustomerProfile.objects.count() == 5  # ann + 4 guests
    summary, took = out.getvalue().strip().splitlines()
    assert summary == (
        "Backfilled: 7 orders (7 new, 0 updated, 0 unchanged); "
        "1 customers (1 new, 0 updated, 0 unchanged); 5 customers scored (RFM); "
        "private metadata written for 1 customers"
    )
    assert re.fullmatch(
        r"Took customers [\d.]+ s, orders [\d.]+ s, profiles [\d.]+ s, "
        r"scoring [\d.]+ s, metadata [\d.]+ s",
        took,
    )
    store.refresh_from_db()
    assert store.private_metadata["crm.order_count"] == "3"  # orders o1, o3, o5
    assert store.private_metadata["crm.total_spent"] == "JPY 3000"
    assert "orders 7/7 (100%)" in err.getvalue()


def test_second_run_changes_nothing():
    # given
    call_command("crm_backfill", stdout=StringIO(), stderr=StringIO())
    before = list(OrderRecord.objects.order_by("order_id").values())

    # when
    out = StringIO()
    call_command("crm_backfill", stdout=out, stderr=StringIO())

    # then
    assert "7 orders (0 new, 0 updated, 7 unchanged)" in out.getvalue()
    assert "private metadata written for 0 customers" in out.getvalue()
    assert list(OrderRecord.objects.order_by("order_id").values()) == before


class FailingHost(SandboxHost):
    """Breaks after the first batch of orders, as a killed process would."""

    def order_batches(self, cursor, batch_size, until=""):
        for number, batch in enumerate(super().order_batches(cursor, batch_size, until)):
            if number == 1:
                raise KeyboardInterrupt
            yield batch


def test_interrupted_backfill_resumes_after_the_last_batch():
    # given
    with pytest.raises(KeyboardInterrupt):
        run_backfill(FailingHost(), batch_size=3)
    assert OrderRecord.objects.count() == 3

    # when
    report = run_backfill(SandboxHost(), batch_size=3)

    # then
    assert report.resumed is True
    assert report.orders.created == 4
    assert OrderRecord.objects.count() == 7
    assert BackfillCheckpoint.objects.get(name="orders").processed == 7


def test_batch_size_must_be_positive():
    # when
    with pytest.raises(Exception, match="--batch-size must be at least 1, not 0"):
        call_command("crm_backfill", "--batch-size", "0", stdout=StringIO(), stderr=StringIO())


def _ledger() -> tuple[list, list, list]:
    """The ledger's profiles, order owners and spend rows, without database ids."""
    profiles = sorted(
        CustomerProfile.objects.values_list(
            "user_id", "email_digest", "order_count", "first_order_at", "last_order_at", "lapse_at"
        ),
        key=str,
    )
    owners = sorted(
        OrderRecord.objects.values_list("order_id", "profile__user_id", "profile__email_digest")
    )
    spend = sorted(
        CustomerSpend.objects.values_list(
            "profile__user_id",
            "profile__email_digest",
            "currency",
            "order_count",
            "total_spent_amount",
        ),
        key=str,
    )
    return profiles, owners, spend


def test_settling_once_at_the_end_leaves_what_settling_each_batch_leaves(store):
    # given: guest orders of the registered customer's email, and a repeat guest
    SandboxOrder.store(order("g1", email="ANN@example.com", placed_at=T0 + timedelta(days=9)))
    SandboxOrder.store(order("g2", email="guest2@example.com", placed_at=T0 + timedelta(days=10)))
    host = SandboxHost()
    for batch in host.customer_batches("", 2):
        ingest_customers(batch.snapshots)
    for batch in host.order_batches("", 2):
        ingest_orders(batch.snapshots)
    settled_each_batch = _ledger()
    OrderLineRecord.objects.all().delete()
    OrderRecord.objects.all().delete()
    CustomerSpend.objects.all().delete()
    CustomerProfile.objects.all().delete()

    # when
    report = run_backfill(host, batch_size=2)

    # then
    assert report.orders.created == 9
    assert _ledger() == settled_each_batch
    ann = CustomerProfile.objects.get(user_id=str(store.pk))
    assert ann.order_count == 4  # o1, o3, o5 and her guest order g1
    assert OrderRecord.objects.get(order_id="g1").profile_id == ann.pk


def test_an_interrupted_settle_resumes_without_reading_the_orders_again(monkeypatch):
    # given: the run stops after settling the first profiles
    calls = []

    def settle_then_stop(after, limit, until):
        calls.append(after)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return settle_profiles(after, limit, until)

    monkeypatch.setattr(backfill, "SETTLE_BATCH", 2)
    monkeypatch.setattr(backfill, "settle_profiles", settle_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_backfill(SandboxHost(), batch_size=3)
    monkeypatch.setattr(backfill, "settle_profiles", settle_profiles)

    class NoRereading(SandboxHost):
        def order_batches(self, cursor, batch_size, until=""):
            raise AssertionError("the finished orders stage was read again")

    # when
    report = run_backfill(NoRereading(), batch_size=3)

    # then
    assert report.resumed is True
    assert BackfillCheckpoint.objects.get(name="profiles").processed == 5
    assert sorted(CustomerProfile.objects.values_list("order_count", flat=True)) == [1, 1, 1, 1, 3]


@pytest.mark.django_db(transaction=True)
def test_two_processes_leave_what_one_leaves(store):
    # given
    SandboxOrder.store(order("g1", email="ANN@example.com", placed_at=T0 + timedelta(days=9)))
    SandboxOrder.store(order("g2", email="guest2@example.com", placed_at=T0 + timedelta(days=10)))
    run_backfill(SandboxHost(), batch_size=2)
    one_process = _ledger()
    OrderLineRecord.objects.all().delete()
    OrderRecord.objects.all().delete()
    CustomerSpend.objects.all().delete()
    CustomerProfile.objects.all().delete()

    store.private_metadata = {}
    store.save()

    # when
    report = run_backfill(SandboxHost(), batch_size=2, workers=2)

    # then
    assert report.orders.created == 9
    assert _ledger() == one_process
    assert report.metadata_written == 1
    store.refresh_from_db()
    assert store.private_metadata["crm.order_count"] == "4"  # o1, o3, o5 and g1
    parts = BackfillCheckpoint.objects.filter(name__contains=".").order_by("name")
    assert [(p.name, p.finished_at is not None) for p in parts] == [
        ("customers.001", True),  # one customer: one part
        ("orders.001", True),
        ("orders.002", True),
        ("profiles.001", True),
        ("profiles.002", True),
    ]
    assert sum(p.processed for p in parts if p.name.startswith("orders")) == 9
    assert BackfillCheckpoint.objects.get(name="orders").processed == 9


@pytest.mark.django_db(transaction=True)
def test_a_part_stopped_in_a_worker_process_resumes_where_it_stopped():
    # given: each part stops after its first batch
    class StopsAfterABatch(SandboxHost):
        def order_batches(self, cursor, batch_size, until=""):
            for number, batch in enumerate(super().order_batches(cursor, batch_size, until)):
                if number == 1:
                    raise KeyboardInterrupt
                yield batch

    with pytest.raises(KeyboardInterrupt):
        run_backfill(StopsAfterABatch(), batch_size=2, workers=2)
    assert OrderRecord.objects.count() == 4

    # when
    report = run_backfill(SandboxHost(), batch_size=2, workers=2)

    # then
    assert report.resumed is True
    assert report.orders.created == 3
    assert OrderRecord.objects.count() == 7
    assert sorted(CustomerProfile.objects.values_list("order_count", flat=True)) == [1, 1, 1, 1, 3]


def test_workers_must_be_positive():
    # when
    with pytest.raises(Exception, match="--workers must be at least 1, not 0"):
        call_command("crm_backfill", "--workers", "0", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db(transaction=True)
def test_a_finished_run_in_processes_starts_over_next_time():
    # given
    run_backfill(SandboxHost(), batch_size=2, workers=2)

    # when
    report = run_backfill(SandboxHost(), batch_size=2, workers=2)

    # then
    assert report.resumed is False
    assert (report.orders.created, report.orders.unchanged) == (0, 7)
    assert BackfillCheckpoint.objects.get(name="orders").processed == 7

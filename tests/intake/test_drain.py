import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.intake import outbox, pipeline
from saleor_crm_plugin.intake.drain import DrainSettings, drain
from saleor_crm_plugin.intake.models import PendingChange
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.tasks import drain_changes_task
from tests.factories import T0, order

OPTIONS = DrainSettings(batch_size=10, lease=timedelta(minutes=2), budget=60)


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _customers(count: int) -> list[SandboxUser]:
    return [
        SandboxUser.objects.create(
            email=f"c{n}@example.com", date_joined=T0, updated_at=T0 + timedelta(minutes=n)
        )
        for n in range(count)
    ]


def _paid_orders(users, per_user: int) -> list[str]:
    """Paid orders of these customers in the sandbox store, yesterday (they earn points)."""
    yesterday = timezone.now() - timedelta(days=1)
    ids = []
    for user in users:
        for n in range(per_user):
            order_id = f"u{user.pk}-{n}"
            SandboxOrder.store(
                order(
                    order_id,
                    user_id=str(user.pk),
                    email=user.email,
                    total="3000",
                    placed_at=yesterday + timedelta(minutes=n),
                )
            )
            ids.append(order_id)
    return ids


def _earn_entries_per_order() -> dict[str, int]:
    counts: dict[str, int] = {}
    for order_id in PointsEntry.objects.filter(kind="earn").values_list("order_id", flat=True):
        counts[order_id] = counts.get(order_id, 0) + 1
    return counts


@pytest.mark.django_db
def test_the_drain_records_every_waiting_change_once_and_empties_the_outbox():
    # given: what the hooks of three checkouts and a registration left
    users = _customers(3)
    order_ids = _paid_orders(users, 2)
    for order_id in order_ids:
        outbox.record_changes(PendingChange.ORDER, [order_id])
        outbox.record_changes(PendingChange.ORDER, [order_id])  # paid, fully paid, ...
    outbox.record_changes(PendingChange.CUSTOMER, [str(u.pk) for u in users])

    # when
    first = drain_changes_task.delay().get()
    second = drain_changes_task.delay().get()

    # then
    assert first["changes"] == 9
    assert first["batches"] == 1
    assert (first["orders"], first["customers"], first["failed"]) == (6, 3, 0)
    assert second["changes"] == 0
    assert not PendingChange.objects.exists()
    assert OrderRecord.objects.count() == 6
    assert {p.order_count for p in CustomerProfile.objects.all()} == {2}
    assert _earn_entries_per_order() == dict.fromkeys(order_ids, 1)
    users[0].refresh_from_db()
    assert users[0].private_metadata["crm.order_count"] == "2"


@pytest.mark.django_db
def test_a_deletion_waits_with_the_time_it_happened():
    # given: a customer with an order, then deleted in the store
    [user] = _customers(1)
    _paid_orders([user], 1)
    outbox.record_changes(PendingChange.ORDER, [f"u{user.pk}-0"])
    outbox.record_changes(PendingChange.CUSTOMER, [str(user.pk)])
    drain(get_host(), get_host().config(), OPTIONS)
    deleted_at = timezone.now()
    outbox.record_changes(PendingChange.CUSTOMER_DELETED, [str(user.pk)], noticed_at=deleted_at)

    # when
    report = drain(get_host(), get_host().config(), OPTIONS)

    # then
    profile = CustomerProfile.objects.get()
    assert report.changes == 1
    assert (profile.anonymized_at, profile.email_digest, profile.order_count) == (
        deleted_at,
        None,
        1,
    )


@pytest.mark.django_db
def test_one_order_that_cannot_be_read_never_holds_up_the_others():
    # given: one stored order is damaged (its data lacks the total)
    users = _customers(2)
    order_ids = _paid_orders(users, 2)
    bad = SandboxOrder.objects.get(order_id=order_ids[1])
    del bad.data["total_gross"]
    bad.save()
    outbox.record_changes(PendingChange.ORDER, order_ids)

    # when
    report = drain(get_host(), get_host().config(), OPTIONS)

    # then: the batch was split; three recorded, the bad one waits with its error
    assert (report.changes, report.failed) == (4 + 1 - 1, 1)
    assert sorted(OrderRecord.objects.values_list("order_id", flat=True)) == sorted(
        set(order_ids) - {order_ids[1]}
    )
    waiting = PendingChange.objects.get()
    assert (waiting.object_id, waiting.attempts) == (order_ids[1], 1)
    assert "total_gross" in waiting.last_error
    assert waiting.available_at > timezone.now()


class Crash(BaseException):
    """What killing the process does to a batch: nothing after it runs, no handler sees it."""


@pytest.mark.django_db
def test_a_drain_that_dies_mid_batch_is_finished_by_the_next_one_without_double_points(
    monkeypatch,
):
    # given: the process dies after the ledger and the points of the batch were written
    users = _customers(4)
    order_ids = _paid_orders(users, 2)
    outbox.record_changes(PendingChange.ORDER, order_ids)

    def dies(*args, **kwargs):
        raise Crash

    monkeypatch.setattr(pipeline, "start_subscriptions", dies)
    with pytest.raises(Crash):
        drain(get_host(), get_host().config(), OPTIONS)
    monkeypatch.undo()
    assert PendingChange.objects.filter(claim__isnull=False).count() == 8

    # when: the lease ends and another drain runs
    later = DrainSettings(batch_size=10, lease=timedelta(seconds=0), budget=60)
    PendingChange.objects.update(available_at=timezone.now())
    report = drain(get_host(), get_host().config(), later)

    # then
    assert (report.changes, report.failed) == (8, 0)
    assert report.orders == 0  # the ledger had them already
    assert not PendingChange.objects.exists()
    assert _earn_entries_per_order() == dict.fromkeys(order_ids, 1)
    users[0].refresh_from_db()
    assert users[0].private_metadata["crm.order_count"] == "2"


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_record_each_order_once():
    # given: 120 orders of 30 customers waiting
    users = _customers(30)
    order_ids = _paid_orders(users, 4)
    outbox.record_changes(PendingChange.ORDER, order_ids)
    reports = []

    def run():
        try:
            reports.append(drain(get_host(), get_host().config(), OPTIONS))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: each order was claimed and written by one drain only
    assert sum(r.changes for r in reports) == 120
    assert sum(r.orders for r in reports) == 120
    assert sum(r.failed for r in reports) == 0
    assert all(r.changes > 0 for r in reports), [r.changes for r in reports]
    assert OrderRecord.objects.count() == 120
    assert _earn_entries_per_order() == dict.fromkeys(order_ids, 1)
    assert not PendingChange.objects.exists()

from datetime import timedelta

import pytest
from django.db import DataError, transaction
from django.utils import timezone

from saleor_crm_plugin.intake import outbox
from saleor_crm_plugin.intake.models import PendingChange
from tests.factories import T0

pytestmark = pytest.mark.django_db

LEASE = timedelta(minutes=2)


def test_a_repeat_while_the_object_waits_changes_nothing():
    # when: five hooks of one checkout name the same order
    for _ in range(5):
        outbox.record_changes(PendingChange.ORDER, ["o1"])
    outbox.record_changes(PendingChange.ORDER, ["o2", "o1", "o2"])

    # then
    rows = list(PendingChange.objects.order_by("object_id").values_list("object_id", "version"))
    assert rows == [("o1", 0), ("o2", 0)]


def test_an_unknown_kind_is_refused():
    # when
    with pytest.raises(ValueError, match="kind: 'orders' is not one of order, customer"):
        outbox.record_changes("orders", ["o1"])

    # then
    assert not PendingChange.objects.exists()


def test_a_failure_inside_the_callers_transaction_leaves_it_usable():
    # given: the caller (Saleor) is inside a transaction, and the insert fails
    outbox.record_changes(PendingChange.ORDER, ["o1"])

    # when
    with transaction.atomic():
        with pytest.raises(DataError, match="value too long"):  # a 100-character id
            outbox.record_changes(PendingChange.ORDER, ["x" * 100])
        outbox.record_changes(PendingChange.ORDER, ["o2"])

    # then: the caller's transaction went on and committed
    assert sorted(PendingChange.objects.values_list("object_id", flat=True)) == ["o1", "o2"]


def test_a_claim_takes_waiting_rows_once_and_skips_held_ones():
    # given
    outbox.record_changes(PendingChange.ORDER, ["o1", "o2", "o3"])
    now = timezone.now()

    # when
    first_token, first = outbox.claim(2, LEASE, now)
    second_token, second = outbox.claim(2, LEASE, now)
    _, third = outbox.claim(2, LEASE, now)

    # then
    assert [row.object_id for row in first] == ["o1", "o2"]
    assert [row.object_id for row in second] == ["o3"]
    assert third == []
    assert first_token != second_token


def test_a_repeat_while_a_drain_holds_the_row_keeps_it_for_another_round():
    # given
    outbox.record_changes(PendingChange.ORDER, ["o1", "o2"])
    token, rows = outbox.claim(10, LEASE, timezone.now())

    # when: o2 changes again while the drain works on the batch
    outbox.record_changes(PendingChange.ORDER, ["o2"])
    deleted = outbox.finish(token, rows)

    # then: o1 is done; o2 waits again, claimable now
    assert deleted == 1
    row = PendingChange.objects.get()
    assert (row.object_id, row.version, row.claim) == ("o2", 1, None)
    assert [r.object_id for r in outbox.claim(10, LEASE, timezone.now())[1]] == ["o2"]


def test_rows_of_a_drain_that_died_come_back_when_the_lease_ends():
    # given
    outbox.record_changes(PendingChange.ORDER, ["o1"])
    now = timezone.now()
    outbox.claim(10, LEASE, now)

    # when
    during = outbox.claim(10, LEASE, now + LEASE - timedelta(seconds=1))[1]
    after = outbox.claim(10, LEASE, now + LEASE)[1]

    # then
    assert during == []
    assert [row.object_id for row in after] == ["o1"]


def test_a_failed_row_waits_longer_after_each_failure():
    # given
    outbox.record_changes(PendingChange.CUSTOMER_DELETED, ["7"], noticed_at=T0)
    token, [row] = outbox.claim(10, LEASE, timezone.now())

    # when
    outbox.fail(token, row, "Traceback: boom")

    # then
    stored = PendingChange.objects.get()
    assert (stored.attempts, stored.claim, stored.last_error) == (1, None, "Traceback: boom")
    assert stored.noticed_at == T0
    assert outbox.claim(10, LEASE, timezone.now())[1] == []
    assert [outbox.backoff(n) for n in (1, 2, 3)] == [
        timedelta(seconds=10),
        timedelta(seconds=20),
        timedelta(seconds=40),
    ]
    assert outbox.backoff(20) == timedelta(hours=1)

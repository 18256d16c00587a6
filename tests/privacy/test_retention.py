"""Retention: guest profiles with no order for `guest-retention-years` are erased (PostgreSQL)."""

from datetime import UTC, datetime

import pytest
from django_celery_beat.models import PeriodicTask
from freezegun import freeze_time

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.customers.ingest import (
    digest_for,
    erase_guest_profiles,
    ingest_customers,
    ingest_orders,
)
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend, OrderRecord
from saleor_crm_plugin.host import reset_host
from saleor_crm_plugin.privacy.retention import erase_old_guests, retention_cutoff
from saleor_crm_plugin.tasks import erase_old_guests_task
from tests.factories import customer, order

from .leaks import find_personal_data

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 3, 1, 3, 0, tzinfo=UTC)


def _ledger():
    """Two old guests, a guest with an old and a recent order, a recent guest, and a registered
    customer whose orders are all old."""
    ingest_orders(
        [
            order("old-1", email="old1@example.com", placed_at=datetime(2024, 1, 5, tzinfo=UTC)),
            order("old-2", email="old2@example.com", placed_at=datetime(2025, 6, 1, tzinfo=UTC)),
            order("back-1", email="back@example.com", placed_at=datetime(2023, 1, 1, tzinfo=UTC)),
            order("back-2", email="back@example.com", placed_at=datetime(2030, 1, 1, tzinfo=UTC)),
            order("new-1", email="new@example.com", placed_at=datetime(2029, 5, 1, tzinfo=UTC)),
            order(
                "acct-1",
                user_id="7",
                email="acct@example.com",
                placed_at=datetime(2020, 1, 1, tzinfo=UTC),
            ),
        ]
    )
    ingest_customers([customer("7", email="acct@example.com")])


def _guest(order_id):
    return CustomerProfile.objects.get(pk=OrderRecord.objects.get(order_id=order_id).profile_id)


def test_the_cutoff_is_whole_years_back():
    assert retention_cutoff(NOW, 5) == datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    leap = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    assert retention_cutoff(leap, 1) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)


def test_guests_without_an_order_for_the_years_are_erased_in_batches_and_audited():
    # given
    _ledger()
    old = [_guest("old-1").pk, _guest("old-2").pk]

    # when: batches of one
    erased = erase_old_guests(5, NOW, batch_size=1)

    # then: only the two old guests; their orders stay, no longer anyone's
    assert erased == 2
    profiles = CustomerProfile.objects.filter(anonymized_at__isnull=False)
    assert sorted(profiles.values_list("pk", flat=True)) == old
    assert set(profiles.values_list("email_digest", "order_count")) == {(None, 1)}
    assert not OrderRecord.objects.filter(profile_id__in=old, email_digest__isnull=False).exists()
    assert not CustomerSpend.objects.filter(profile_id__in=old, profile_active=True).exists()
    assert CustomerProfile.objects.filter(anonymized_at__isnull=True).count() == 3
    assert CustomerProfile.objects.get(user_id="7").email_digest == digest_for("acct@example.com")
    events = AuditEvent.objects.filter(action=AuditEvent.GUEST_ERASED).order_by("profile_id")
    assert list(events.values_list("profile_id", "actor", "reason")) == [
        (pk, "system:retention", "no order for 5 years") for pk in old
    ]
    assert events[0].detail == {"years": 5, "cutoff": "2026-03-01T03:00:00+00:00"}


def test_running_again_erases_nothing_and_off_erases_nothing():
    # given
    _ledger()
    erase_old_guests(5, NOW)

    # when
    again = erase_old_guests(5, NOW)
    off = erase_old_guests(None, NOW)

    # then
    assert (again, off) == (0, 0)
    assert AuditEvent.objects.filter(action=AuditEvent.GUEST_ERASED).count() == 2


def test_a_new_order_of_an_erased_guest_starts_a_new_profile():
    # given
    _ledger()
    erased = _guest("old-1").pk
    erase_old_guests(5, NOW)

    # when
    ingest_orders([order("old-3", email="old1@example.com", placed_at=NOW)])

    # then: the erased history stays anonymous
    fresh = _guest("old-3")
    assert fresh.pk != erased
    assert (fresh.email_digest, fresh.order_count) == (digest_for("old1@example.com"), 1)
    assert OrderRecord.objects.get(order_id="old-1").profile_id == erased


def test_the_daily_task_reads_the_setting(settings):
    # given
    _ledger()
    settings.CRM_CONFIG = {**settings.CRM_CONFIG, "guest-retention-years": "5"}
    reset_host()

    # when
    with freeze_time(NOW):
        first = erase_old_guests_task.delay().get()
        second = erase_old_guests_task.delay().get()

    # then
    assert (first, second) == ({"years": 5, "erased": 2}, {"years": 5, "erased": 0})
    assert PeriodicTask.objects.filter(
        name="saleor-crm: erase old guests", task="saleor_crm.erase_old_guests"
    ).exists()
    reset_host()


def test_an_erased_guests_email_digest_is_in_no_crm_table():
    # given: the digest is how the ledger knows the guest (profile and orders)
    _ledger()
    digest = digest_for("old1@example.com")
    assert {table for table, *_ in find_personal_data([digest])} == {
        "saleor_crm_customerprofile",
        "saleor_crm_orderrecord",
    }

    # when
    erase_old_guests(5, NOW)

    # then
    assert find_personal_data([digest]) == []


def test_a_guest_who_ordered_since_the_candidates_were_read_is_kept():
    # given: "back" was an old guest when read; an order since then is on the profile
    _ledger()
    back = _guest("back-1").pk

    # when: the batch erases what it read, under the lock
    erased = erase_guest_profiles([back], NOW, idle_since=retention_cutoff(NOW, 5))

    # then
    assert erased == []
    assert CustomerProfile.objects.get(pk=back).email_digest == digest_for("back@example.com")


def test_a_guest_merged_into_another_profile_is_kept_while_the_merge_holds():
    # given: the old guest "old-1" merged into the recent guest "new-1" by staff
    from saleor_crm_plugin.customers.merges import merge_profiles, unmerge_profiles
    from saleor_crm_plugin.host import get_host

    _ledger()
    absorbed, survivor = _guest("old-1").pk, _guest("new-1").pk
    config = get_host().config()
    merge = merge_profiles(config, absorbed, survivor, "staff:1", now=NOW)

    # when
    erased = erase_old_guests(5, NOW)

    # then: only the other old guest; the absorbed one keeps its email for the unmerge
    assert erased == 1
    assert CustomerProfile.objects.get(pk=absorbed).anonymized_at is None

    # when: the merge undone, the guest is old again
    unmerge_profiles(config, merge.pk, "staff:1", now=NOW)
    again = erase_old_guests(5, NOW)

    # then
    assert again == 1
    assert CustomerProfile.objects.get(pk=absorbed).anonymized_at is not None

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleor_crm_plugin.customers.models import BackfillCheckpoint, OrderRecord
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.intake import sweep as sweep_module
from saleor_crm_plugin.intake.drain import drain
from saleor_crm_plugin.intake.models import PendingChange
from saleor_crm_plugin.intake.sweep import sweep
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from tests.factories import order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _waiting() -> list[tuple[str, str]]:
    return sorted(PendingChange.objects.values_list("kind", "object_id"))


def test_the_sweep_finds_an_order_whose_hook_never_ran():
    # given: the last sweep was a minute ago; since then an order was placed and its hook lost
    now = timezone.now()
    sweep(get_host(), now - timedelta(minutes=1))
    SandboxOrder.store(order("lost", placed_at=now - timedelta(seconds=30)))

    # when
    report = sweep(get_host(), now)
    drain(get_host(), get_host().config())

    # then
    assert (report.orders_read, report.orders_queued) == (1, 1)
    assert OrderRecord.objects.filter(order_id="lost").exists()


def test_what_the_ledger_has_seen_is_not_queued_again():
    # given: an order recorded in its current state, and a customer changed since recorded
    now = timezone.now()
    user = SandboxUser.objects.create(
        email="ann@example.com", date_joined=now, updated_at=now - timedelta(minutes=3)
    )
    SandboxOrder.store(order("seen", placed_at=now - timedelta(minutes=2)))
    sweep(get_host(), now - timedelta(minutes=5))
    sweep(get_host(), now - timedelta(minutes=1))
    drain(get_host(), get_host().config())
    SandboxUser.objects.filter(pk=user.pk).update(updated_at=now - timedelta(seconds=10))

    # when
    report = sweep(get_host(), now)

    # then: the order is current in the ledger; the customer's change is not
    assert (report.orders_read, report.orders_queued) == (1, 0)
    assert (report.customers_read, report.customers_queued) == (1, 1)
    assert _waiting() == [("customer", str(user.pk))]


def test_a_sweep_over_a_store_without_changes_reads_one_query_per_kind():
    # given
    now = timezone.now()
    SandboxOrder.store(order("old", placed_at=now - timedelta(days=3)))
    sweep(get_host(), now - timedelta(hours=1))

    # when
    with CaptureQueriesContext(connection) as queries:
        report = sweep(get_host(), now)

    # then: the watermark read, one query for orders, one for customers, the watermark saved
    store_reads = [q["sql"] for q in queries if "saleor_crm_sandbox" in q["sql"]]
    assert len(store_reads) == 2
    assert len(queries) == 4
    assert (report.orders_read, report.customers_read) == (0, 0)
    assert BackfillCheckpoint.objects.get(name="sweep").cursor == now.isoformat()


def test_pages_of_orders_changed_at_the_same_moment_are_all_read(monkeypatch):
    # given: five orders of one instant, read two at a time
    monkeypatch.setattr(sweep_module, "PAGE", 2)
    now = timezone.now()
    sweep(get_host(), now - timedelta(minutes=1))
    for n in range(5):
        SandboxOrder.store(order(f"t{n}", placed_at=now - timedelta(seconds=5)))

    # when
    report = sweep(get_host(), now)

    # then
    assert (report.orders_read, report.orders_queued) == (5, 5)
    assert _waiting() == [("order", f"t{n}") for n in range(5)]


def test_the_first_sweep_reads_back_only_the_overlap():
    # given: a store with history before the plugin was installed (the backfill loads it)
    now = timezone.now()
    SandboxOrder.store(order("history", placed_at=now - timedelta(days=30)))
    SandboxOrder.store(order("recent", placed_at=now - timedelta(minutes=5)))

    # when
    report = sweep(get_host(), now)

    # then: ten minutes back (CRM_SWEEP_OVERLAP_SECONDS' default)
    assert report.since == now - timedelta(minutes=10)
    assert _waiting() == [("order", "recent")]

from datetime import timedelta
from decimal import Decimal

import pytest

from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord
from saleor_crm_plugin.host import reset_host
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.tasks import erase_customer_task, ingest_customer_task, ingest_orders_task
from tests.factories import T0, order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


NOTHING = {"created": 0, "updated": 0, "unchanged": 0}


def _store(snapshot):
    SandboxOrder.store(snapshot)


def test_order_task_records_the_current_state_twice_without_change():
    # given
    _store(order("o1", total="4200"))

    # when
    first = ingest_orders_task.delay(["o1"]).get()
    second = ingest_orders_task.delay(["o1"]).get()

    # then
    assert first == {
        "orders": {"created": 1, "updated": 0, "unchanged": 0},
        "customers": NOTHING,
        "missing": 0,
        "metadata_written": 0,
        "points_entries": 0,  # a guest's order earns nothing
        "rank_changes": 0,
        "subscriptions_started": 0,
        "predictions": 0,  # no fit in force yet
        "inserts_decided": 0,  # the store has no insert rules
        "inserts_written": 0,
    }
    assert second == {**first, "orders": {"created": 0, "updated": 0, "unchanged": 1}}
    assert OrderRecord.objects.get().total_gross_amount == Decimal(4200)


def test_order_task_skips_an_order_the_store_no_longer_has():
    # when
    result = ingest_orders_task.delay(["gone"]).get()

    # then
    assert result == {
        "orders": NOTHING,
        "customers": NOTHING,
        "missing": 1,
        "metadata_written": 0,
        "points_entries": 0,
        "rank_changes": 0,
        "subscriptions_started": 0,
        "predictions": 0,  # no fit in force yet
        "inserts_decided": 0,  # the store has no insert rules
        "inserts_written": 0,
    }
    assert not OrderRecord.objects.exists()


def test_customer_task_adopts_guest_orders_and_erase_task_anonymizes():
    # given
    user = SandboxUser.objects.create(email="ann@example.com", date_joined=T0, updated_at=T0)
    _store(order("o1", email="ann@example.com"))
    ingest_orders_task.delay(["o1"]).get()

    # when
    adopted = ingest_customer_task.delay(str(user.pk)).get()
    again = ingest_customer_task.delay(str(user.pk)).get()
    user.refresh_from_db()
    metadata = user.private_metadata
    erase_customer_task.delay(str(user.pk), (T0 + timedelta(days=1)).isoformat()).get()
    erase_customer_task.delay(str(user.pk), (T0 + timedelta(days=1)).isoformat()).get()

    # then
    assert adopted["metadata_written"] == 1
    assert again["metadata_written"] == 0
    assert metadata == {
        "crm.order_count": "1",
        "crm.first_order_at": T0.isoformat(),
        "crm.last_order_at": T0.isoformat(),
        "crm.total_spent": "JPY 1000",
        "crm.average_order": "JPY 1000",
        "crm.segment": "",
        "crm.rfm": "",
        # the adopted guest order earns once the customer registers: 10 + 100 first order
        "crm.points": "0",
        "crm.points_pending": "110",
        "crm.rank": "REGULAR",
        "crm.rank_since": metadata["crm.rank_since"],
    }
    user.refresh_from_db()
    assert user.updated_at == T0
    profile = CustomerProfile.objects.get()
    assert profile.user_id == str(user.pk)
    assert profile.email_digest is None
    assert profile.order_count == 1


def test_a_staff_account_is_not_recorded_as_a_customer():
    # given: a staff user whose account changed (Dashboard writes its metadata)
    staff = SandboxUser.objects.create(
        email="clerk@example.com", is_staff=True, date_joined=T0, updated_at=T0
    )

    # when
    result = ingest_customer_task.delay(str(staff.pk)).get()

    # then
    assert result["customers"] == NOTHING
    assert result["missing"] == 1
    assert not CustomerProfile.objects.exists()

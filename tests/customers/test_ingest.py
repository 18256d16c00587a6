from datetime import timedelta
from decimal import Decimal

import pytest

from saleor_crm_plugin.customers.ingest import digest_for, ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import (
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from saleor_crm_plugin.customers.snapshots import OrderStatus
from tests.factories import T0, customer, order

pytestmark = pytest.mark.django_db


def test_first_order_creates_a_guest_profile():
    # when
    result = ingest_orders([order("o1", email="Ann@Example.com", total="2500")])

    # then
    assert (result.created, result.updated, result.unchanged) == (1, 0, 0)
    profile = CustomerProfile.objects.get()
    assert profile.user_id is None
    assert profile.email_digest == digest_for("ann@example.com")
    assert profile.order_count == 1
    assert profile.first_order_at == T0
    assert profile.last_order_at == T0
    spend = CustomerSpend.objects.get()
    assert (spend.currency, spend.order_count) == ("JPY", 1)
    assert spend.total_spent_amount == Decimal(2500)
    assert spend.average_order_amount == Decimal(2500)
    line = OrderLineRecord.objects.get()
    assert (line.sku, line.quantity, line.unit_price_gross_amount) == ("TEA-1", 1, Decimal(2500))


def test_same_snapshot_twice_changes_nothing():
    # given
    snapshot = order("o1")
    ingest_orders([snapshot])
    before = OrderRecord.objects.get().updated_at

    # when
    result = ingest_orders([snapshot])

    # then
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert OrderRecord.objects.get().updated_at == before


def test_older_snapshot_does_not_overwrite_newer():
    # given
    ingest_orders([order("o1", refunded="400", updated_at=T0 + timedelta(hours=2))])

    # when
    result = ingest_orders([order("o1", updated_at=T0 + timedelta(hours=1))])

    # then
    assert result.unchanged == 1
    assert OrderRecord.objects.get().refunded_amount == Decimal(400)


def test_partial_refund_reduces_spend():
    # given
    ingest_orders([order("o1", total="1000"), order("o2", total="3000")])

    # when
    ingest_orders([order("o2", total="3000", refunded="1000", updated_at=T0 + timedelta(days=2))])

    # then
    spend = CustomerSpend.objects.get()
    assert spend.total_spent_amount == Decimal(3000)
    assert spend.average_order_amount == Decimal(1500)
    assert CustomerProfile.objects.get().order_count == 2


def test_cancelled_order_does_not_count():
    # given
    ingest_orders(
        [order("o1", total="1000"), order("o2", total="3000", placed_at=T0 + timedelta(days=1))]
    )

    # when
    ingest_orders(
        [
            order(
                "o2",
                total="3000",
                placed_at=T0 + timedelta(days=1),
                status=OrderStatus.CANCELED,
                updated_at=T0 + timedelta(days=2),
            )
        ]
    )

    # then
    profile = CustomerProfile.objects.get()
    assert profile.order_count == 1
    assert profile.last_order_at == T0
    assert CustomerSpend.objects.get().total_spent_amount == Decimal(1000)
    assert OrderRecord.objects.get(order_id="o2").status == "canceled"


def test_spend_is_kept_per_currency():
    # given / when
    ingest_orders(
        [
            order("o1", user_id="1", email="u@example.com", total="1000", currency="JPY"),
            order("o2", user_id="1", email="u@example.com", total="12.50", currency="USD"),
            order("o3", user_id="1", email="u@example.com", total="7.25", currency="USD"),
        ]
    )

    # then
    spends = {s.currency: s for s in CustomerSpend.objects.all()}
    assert spends["JPY"].total_spent_amount == Decimal(1000)
    assert spends["USD"].total_spent_amount == Decimal("19.75")
    assert spends["USD"].average_order_amount == Decimal("9.88")
    assert CustomerProfile.objects.get().order_count == 3


def test_registration_adopts_guest_orders():
    # given
    ingest_orders([order("o1", email="ann@example.com"), order("o2", email="ann@example.com")])
    guest_pk = CustomerProfile.objects.get().pk

    # when
    ingest_customers([customer("42", email="ANN@example.com")])

    # then
    profile = CustomerProfile.objects.get()
    assert profile.pk == guest_pk
    assert profile.user_id == "42"
    assert profile.order_count == 2


def test_an_unconfirmed_account_leaves_the_guest_history_alone_until_confirmed():
    # given: two guest orders, then an account registered with that email, not confirmed
    ingest_orders([order("o1", email="ann@example.com"), order("o2", email="ann@example.com")])
    guest_pk = CustomerProfile.objects.get().pk

    # when
    ingest_customers([customer("42", email="ann@example.com", email_confirmed=False)])

    # then: the guest keeps both orders; the account has none and no email
    guest = CustomerProfile.objects.get(pk=guest_pk)
    assert (guest.user_id, guest.order_count) == (None, 2)
    account = CustomerProfile.objects.get(user_id="42")
    assert (account.email_digest, account.order_count) == (None, 0)
    assert set(OrderRecord.objects.values_list("profile_id", flat=True)) == {guest_pk}

    # when: the email is confirmed
    ingest_customers([customer("42", email="ann@example.com", updated_at=T0 + timedelta(hours=1))])

    # then: the account adopts the guest history
    account = CustomerProfile.objects.get(user_id="42")
    assert account.email_digest == digest_for("ann@example.com")
    assert account.order_count == 2
    assert not CustomerProfile.objects.filter(user_id__isnull=True).exists()


def test_guest_orders_join_the_registered_customer_with_that_email():
    # given
    ingest_customers([customer("42", email="ann@example.com")])
    ingest_orders([order("o1", user_id="42", email="ann@example.com")])

    # when
    ingest_orders([order("o2", email="ann@example.com")])

    # then
    profile = CustomerProfile.objects.get()
    assert profile.user_id == "42"
    assert profile.order_count == 2


def test_registered_profile_absorbs_a_later_found_guest_profile():
    # given
    ingest_orders([order("o1", user_id="42", email="ann@example.com")])
    CustomerProfile.objects.create(email_digest=digest_for("bob@example.com"))
    ingest_orders([order("o2", email="bob@example.com")])

    # when the customer changes their email to bob's
    ingest_customers([customer("42", email="bob@example.com")])

    # then
    assert CustomerProfile.objects.count() == 1
    assert CustomerProfile.objects.get().order_count == 2


def test_deleted_customer_keeps_anonymous_aggregates():
    # given
    ingest_customers([customer("42", email="ann@example.com")])
    ingest_orders([order("o1", user_id="42", email="ann@example.com", total="5000")])

    # when
    ingest_customers([customer("42", updated_at=T0 + timedelta(days=3), deleted=True)])

    # then
    profile = CustomerProfile.objects.get()
    assert profile.email_digest is None
    assert profile.anonymized_at == T0 + timedelta(days=3)
    assert profile.order_count == 1
    assert CustomerSpend.objects.get().total_spent_amount == Decimal(5000)
    assert not OrderRecord.objects.filter(email_digest__isnull=False).exists()


def test_later_events_of_a_deleted_customer_do_not_bring_back_their_email():
    # given
    ingest_orders([order("o1", user_id="42", email="ann@example.com", total="5000")])
    ingest_customers([customer("42", updated_at=T0 + timedelta(days=3), deleted=True)])

    # when: a stale customer update and a refund on the order (now a guest order in the store)
    ingest_customers([customer("42", email="ann@example.com", updated_at=T0 + timedelta(days=4))])
    ingest_orders(
        [
            order(
                "o1",
                email="ann@example.com",
                total="5000",
                refunded="1000",
                updated_at=T0 + timedelta(days=5),
            )
        ]
    )

    # then
    profile = CustomerProfile.objects.get()
    assert profile.email_digest is None
    assert OrderRecord.objects.get().email_digest is None
    assert CustomerSpend.objects.get().total_spent_amount == Decimal(4000)


def test_deleting_an_unknown_customer_leaves_a_tombstone():
    # when
    ingest_customers([customer("9", deleted=True)])
    ingest_customers([customer("9", email="x@example.com", updated_at=T0 - timedelta(days=1))])

    # then
    profile = CustomerProfile.objects.get()
    assert profile.anonymized_at is not None
    assert profile.email_digest is None


def test_order_moving_to_an_account_leaves_no_empty_guest_profile():
    # given
    ingest_orders([order("o1", email="ann@example.com")])

    # when the store attaches the order to the account registered with another email
    ingest_customers([customer("42", email="ann.new@example.com")])
    ingest_orders(
        [order("o1", user_id="42", email="ann.new@example.com", updated_at=T0 + timedelta(hours=1))]
    )

    # then
    profile = CustomerProfile.objects.get()
    assert profile.user_id == "42"
    assert profile.order_count == 1


def test_lines_are_replaced_not_appended():
    # given
    ingest_orders([order("o1")])

    # when
    ingest_orders([order("o1", updated_at=T0 + timedelta(minutes=5), lines=[])])

    # then
    assert not OrderLineRecord.objects.exists()


def test_superseded_user_version_leaves_no_profile_behind():
    # given: two versions of one order with the same time, first seen as the user's
    as_user = order("o1", user_id="1", email="ann@example.com")
    as_guest = order("o1", email="ann@example.com", status=OrderStatus.UNCONFIRMED)
    ingest_orders([as_user])

    # when
    ingest_orders([as_guest])

    # then: whichever version wins, one profile holds the order
    assert CustomerProfile.objects.count() == 1
    winner = max([as_user, as_guest], key=lambda s: s.version_key())
    assert CustomerProfile.objects.get().user_id == winner.user_id


def test_guest_order_in_the_same_batch_joins_the_user():
    # when
    ingest_orders(
        [
            order("o1", user_id="1", email="ann@example.com"),
            order("o2", email="ann@example.com", placed_at=T0 + timedelta(days=1)),
        ]
    )

    # then
    profile = CustomerProfile.objects.get()
    assert profile.user_id == "1"
    assert profile.order_count == 2


def test_lapse_is_the_last_order_plus_the_usual_gap():
    # when: orders on day 0, 10 and 20 (and a cancelled one that does not count)
    ingest_orders(
        [
            order("o1", placed_at=T0),
            order("o2", placed_at=T0 + timedelta(days=10)),
            order("o3", placed_at=T0 + timedelta(days=20)),
            order("o4", placed_at=T0 + timedelta(days=21), status=OrderStatus.CANCELED),
        ]
    )

    # then
    assert CustomerProfile.objects.get().lapse_at == T0 + timedelta(days=30)


def test_one_order_has_no_usual_gap():
    # when
    ingest_orders([order("o1")])

    # then
    assert CustomerProfile.objects.get().lapse_at is None

"""Property: feeding every event twice, in any order and any batching, leaves identical rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import (
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from saleor_crm_plugin.customers.snapshots import CustomerSnapshot, OrderStatus
from tests.factories import T0, customer, order

pytestmark = pytest.mark.django_db

USERS = {"1": "ann@example.com", "2": "bob@example.com", "3": "cy@example.com"}
GUEST_EMAILS = ["ann@example.com", "dee@example.com", "eve@example.com"]
STATUSES = [
    OrderStatus.UNCONFIRMED,
    OrderStatus.UNFULFILLED,
    OrderStatus.FULFILLED,
    OrderStatus.CANCELED,
    OrderStatus.RETURNED,
    OrderStatus.DRAFT,
]


@st.composite
def order_history(draw, index):
    """The successive snapshots of one order: amounts and status change, owner may be claimed."""
    currency = draw(st.sampled_from(["JPY", "USD"]))
    total = Decimal(draw(st.integers(0, 50_000))) / (1 if currency == "JPY" else 100)
    placed_at = T0 + timedelta(days=draw(st.integers(0, 400)))
    user_id = draw(st.none() | st.sampled_from(sorted(USERS)))
    email = USERS[user_id] if user_id else draw(st.sampled_from(GUEST_EMAILS))
    claimed_later = user_id is not None and draw(st.booleans())
    versions = []
    for step in range(draw(st.integers(1, 3))):
        refunded = min(
            total, Decimal(draw(st.integers(0, 60_000))) / (1 if currency == "JPY" else 100)
        )
        versions.append(
            order(
                f"o{index}",
                user_id=None if (claimed_later and step == 0) else user_id,
                email=email,
                total=str(total),
                currency=currency,
                status=draw(st.sampled_from(STATUSES)),
                placed_at=placed_at,
                updated_at=placed_at + timedelta(hours=step * draw(st.integers(0, 3))),
                refunded=str(refunded if step else 0),
            )
        )
    return versions


@st.composite
def store_events(draw):
    orders = [s for i in range(draw(st.integers(1, 6))) for s in draw(order_history(i))]
    customers = [
        customer(
            user_id, email=USERS[user_id], updated_at=T0 + timedelta(days=draw(st.integers(0, 3)))
        )
        for user_id in draw(st.sets(st.sampled_from(sorted(USERS))))
    ]
    return orders + customers


def _feed(events, batch_sizes):
    position = 0
    for size in batch_sizes:
        batch = events[position : position + size]
        position += size
        ingest_orders([e for e in batch if not isinstance(e, CustomerSnapshot)])
        ingest_customers([e for e in batch if isinstance(e, CustomerSnapshot)])
    for event in events[position:]:
        if isinstance(event, CustomerSnapshot):
            ingest_customers([event])
        else:
            ingest_orders([event])


def _owner(profile):
    return profile.user_id or profile.email_digest


def _state():
    profiles = sorted(
        (
            _owner(p),
            p.email_digest,
            p.order_count,
            p.first_order_at,
            p.last_order_at,
            p.joined_at,
            p.anonymized_at is not None,
            p.source_updated_at,
        )
        for p in CustomerProfile.objects.all()
    )
    orders = sorted(
        (
            o.order_id,
            _owner(o.profile),
            o.user_id,
            o.email_digest,
            o.status,
            o.counts,
            o.total_gross_amount,
            o.refunded_amount,
            o.net_spend_amount,
            o.source_fingerprint,
        )
        for o in OrderRecord.objects.select_related("profile")
    )
    spends = sorted(
        (
            _owner(s.profile),
            s.currency,
            s.order_count,
            s.total_spent_amount,
            s.average_order_amount,
            s.first_order_at,
            s.last_order_at,
        )
        for s in CustomerSpend.objects.select_related("profile")
    )
    lines = sorted(
        (line.order.order_id, line.line_id, line.quantity, line.unit_price_gross_amount)
        for line in OrderLineRecord.objects.select_related("order")
    )
    return profiles, orders, spends, lines


def _wipe():
    OrderLineRecord.objects.all().delete()
    OrderRecord.objects.all().delete()
    CustomerSpend.objects.all().delete()
    CustomerProfile.objects.all().delete()


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=store_events(), data=st.data())
def test_any_order_and_duplicates_give_the_same_rows(events, data):
    # given: the events in the order they happened, once
    _wipe()
    _feed(sorted(events, key=lambda e: e.updated_at), [])
    expected = _state()

    # when: every event twice, shuffled, in random batches
    _wipe()
    shuffled = data.draw(st.permutations(events + events))
    batch_sizes = data.draw(st.lists(st.integers(1, 5), max_size=4))
    _feed(shuffled, batch_sizes)

    # then
    assert _state() == expected
    assert expected[1], "every example has orders"
    _assert_spend_rows_copy_their_profile()


def _assert_spend_rows_copy_their_profile():
    for spend in CustomerSpend.objects.select_related("profile"):
        profile = spend.profile
        assert (
            spend.profile_order_count,
            spend.profile_first_order_at,
            spend.profile_last_order_at,
            spend.profile_lapse_at,
            spend.profile_active,
        ) == (
            profile.order_count,
            profile.first_order_at,
            profile.last_order_at,
            profile.lapse_at,
            profile.anonymized_at is None,
        )

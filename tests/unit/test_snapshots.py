from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from saleor_crm_plugin.customers.snapshots import (
    OrderStatus,
    SnapshotError,
    email_digest,
    order_from_dict,
    order_to_dict,
)
from tests.factories import T0, order


def test_saleor_status_spelling_is_accepted():
    # given / when
    status = OrderStatus.parse("partially fulfilled")

    # then
    assert status == OrderStatus.PARTIALLY_FULFILLED


def test_unknown_status_names_the_field():
    # when
    with pytest.raises(SnapshotError) as error:
        OrderStatus.parse("shipped")

    # then
    assert error.value.field == "status"
    assert "'shipped' is not an order status" in error.value.message


def test_naive_time_is_rejected():
    # when
    with pytest.raises(SnapshotError) as error:
        order(placed_at=datetime(2025, 1, 1, 12, 0))  # noqa: DTZ001

    # then
    assert error.value.field == "placed_at"
    assert "has no time zone" in error.value.message


def test_times_are_stored_in_utc():
    # given
    tokyo = timezone(timedelta(hours=9))

    # when
    snapshot = order(placed_at=T0.astimezone(tokyo))

    # then
    assert snapshot.placed_at.utcoffset() == timedelta(0)
    assert snapshot.fingerprint() == order(placed_at=T0).fingerprint()


def test_guest_order_without_email_is_rejected():
    # when
    with pytest.raises(SnapshotError) as error:
        order(email=None)

    # then
    assert error.value.field == "email"


def test_negative_total_is_rejected():
    # when
    with pytest.raises(SnapshotError) as error:
        order(total="-1")

    # then
    assert error.value.field == "total_gross"


def test_amounts_round_to_the_currency_minor_unit():
    # when
    snapshot = order(total="10.005", currency="USD", paid="10.005")

    # then
    assert snapshot.total_gross == Decimal("10.01")
    assert snapshot.total_gross.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("status", "refunded", "counts", "spend"),
    [
        (OrderStatus.UNFULFILLED, "0", True, Decimal(1000)),
        (OrderStatus.FULFILLED, "300", True, Decimal(700)),
        (OrderStatus.RETURNED, "1000", False, Decimal(0)),
        (OrderStatus.CANCELED, "0", False, Decimal(0)),
        (OrderStatus.DRAFT, "0", False, Decimal(0)),
        (OrderStatus.EXPIRED, "0", False, Decimal(0)),
        (OrderStatus.UNCONFIRMED, "0", True, Decimal(1000)),
    ],
    ids=[
        "placed",
        "partly-refunded",
        "fully-refunded",
        "cancelled",
        "draft",
        "expired",
        "unconfirmed",
    ],
)
def test_what_counts_toward_spend(status, refunded, counts, spend):
    # given
    snapshot = order(status=status, refunded=refunded)

    # then
    assert snapshot.counts is counts
    assert snapshot.net_spend == spend


def test_free_order_counts():
    # given
    snapshot = order(total="0")

    # then
    assert snapshot.counts is True
    assert snapshot.net_spend == Decimal(0)


def test_plain_data_round_trip():
    # given
    snapshot = order(user_id="7", email="A@Example.com ", refunded="100")

    # when
    again = order_from_dict(order_to_dict(snapshot))

    # then
    assert again == snapshot
    assert again.email == "a@example.com"


def test_email_digest_ignores_case_and_spaces():
    # then
    assert email_digest(" Ann@Example.COM", b"k") == email_digest("ann@example.com", b"k")
    assert email_digest("ann@example.com", b"k") != email_digest("ann@example.com", b"other")
    assert email_digest(None, b"k") is None


def test_newer_snapshot_wins():
    # given
    old = order(updated_at=T0)
    new = order(updated_at=T0 + timedelta(seconds=1), refunded="100")

    # then
    assert new.version_key() > old.version_key()

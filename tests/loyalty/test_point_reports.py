"""Points currencies, paid points and the points reports on PostgreSQL."""

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend
from saleor_crm_plugin.errors import FieldError
from saleor_crm_plugin.loyalty.lots import Entry, Kind, replay
from saleor_crm_plugin.loyalty.models import PointsEntry, PointsLot
from saleor_crm_plugin.loyalty.point_report_services import (
    compute_free_points_months,
    free_points_csv,
    free_points_report,
    paid_points_csv,
    paid_points_report,
)
from saleor_crm_plugin.loyalty.point_reports import base_dates, paid_value
from saleor_crm_plugin.loyalty.services import (
    PointsError,
    adjust,
    entries_of,
    issue_paid_points,
    liability,
    record,
    redeem,
)

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
CONFIG = parse_config({"store-time-zone": "Asia/Tokyo"})
T0 = datetime(2025, 10, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _customer(user_id: str, *currencies: str) -> CustomerProfile:
    profile = CustomerProfile.objects.create(user_id=user_id)
    for currency in currencies:
        CustomerSpend.objects.create(profile=profile, currency=currency)
    return profile


def test_an_adjustment_defaults_to_the_customers_only_currency():
    # given
    profile = _customer("1", "JPY")

    # when
    adjust(profile.pk, 100, "adjust:1", T0, reason="goodwill", actor="staff:1")

    # then
    assert PointsEntry.objects.get(key="adjust:1").currency == "JPY"
    assert PointsLot.objects.get(key="adjust:1").currency == "JPY"
    assert AuditEvent.objects.get().detail == {"request": "adjust:1", "currency": "JPY"}


@pytest.mark.parametrize(
    ("currencies", "given", "message"),
    [
        ((), None, "currency: is required: the customer has no currency of their own"),
        (("JPY", "USD"), None, "currency: is required: the customer has several currencies"),
        (("JPY",), "YEN", "currency: 'YEN' is not an ISO 4217 currency code in use"),
        (("JPY",), "J1", "currency: 'J1' is not an ISO 4217 currency code (three letters)"),
    ],
    ids=["none", "several", "unknown-code", "malformed"],
)
def test_an_adjustment_without_a_currency_it_can_know_is_refused(currencies, given, message):
    profile = _customer("1", *currencies)
    with pytest.raises(PointsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        adjust(profile.pk, 100, "adjust:1", T0, reason="x", actor="staff:1", currency=given)
    assert not PointsEntry.objects.exists()
    assert not AuditEvent.objects.exists()


def test_paid_points_are_issued_once_per_request_and_audited():
    # given
    profile = _customer("1")

    # when: the same request twice
    first = issue_paid_points(
        profile.pk, 1000, "9000", "jpy", "paid:1", T0, reason="point card", actor="staff:2"
    )
    again = issue_paid_points(
        profile.pk, 1000, "9000", "JPY", "paid:1", T0, reason="point card", actor="staff:2"
    )

    # then
    assert first.available == again.available == 1000
    entry = PointsEntry.objects.get()
    assert (entry.kind, entry.funding, entry.paid_amount, entry.currency) == (
        "earn",
        "paid",
        Decimal(9000),
        "JPY",
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.points, event.reason, event.detail) == (
        "paid_points_issued",
        "staff:2",
        1000,
        "point card",
        {"request": "paid:1", "amount": "9000", "currency": "JPY"},
    )


@pytest.mark.parametrize(
    ("points", "amount", "currency", "field", "message"),
    [
        (0, "100", "JPY", "points", "must be a whole number above 0, not 0"),
        (10, "1.5", "JPY", "amount", "'1.5' has more decimals than JPY allows (0)"),
        (10, "-1", "JPY", "amount", "'-1' is negative"),
        (10, "ten", "JPY", "amount", "'ten' is not a number"),
        (10, "100", "", "currency", "'' is not an ISO 4217 currency code (three letters)"),
    ],
    ids=["no-points", "fraction-of-yen", "negative", "not-a-number", "no-currency"],
)
def test_paid_points_with_bad_input_are_refused_naming_the_field(
    points, amount, currency, field, message
):
    profile = _customer("1")
    with pytest.raises(PointsError) as error:
        issue_paid_points(
            profile.pk, points, amount, currency, "paid:1", T0, reason="card", actor="staff:1"
        )
    assert (error.value.field, error.value.message) == (field, message)
    assert not PointsEntry.objects.exists()


def test_the_liability_values_points_written_without_a_currency():
    # given: lots left without a currency (before every point had one): a customer with one
    # currency, one with two, one with none
    one, two, none = _customer("1", "USD"), _customer("2", "JPY", "USD"), _customer("3")
    for profile in (one, two, none):
        record(profile.pk, Entry(f"bonus:{profile.pk}", Kind.EARN, 10, T0))

    # when
    without_default = liability(T0 + DAY)
    with_default = liability(T0 + DAY, "JPY")

    # then: the customer's only currency, else the store's default
    assert without_default == [("", 20, 0), ("USD", 10, 0)]
    assert with_default == [("JPY", 20, 0), ("USD", 10, 0)]


def test_the_migration_gives_old_points_the_accounts_only_currency():
    # given: an adjustment of a customer with JPY orders and one of a customer with two
    # currencies, both written without a currency
    one, two = _customer("1", "JPY"), _customer("2", "JPY", "USD")
    for profile in (one, two):
        record(profile.pk, Entry(f"adjust:{profile.pk}", Kind.ADJUST, 10, T0))
    migration = importlib.import_module("saleor_crm_plugin.migrations.0040_points_funding")

    # when
    migration.fill_currencies(apps, None)

    # then: the sandbox's settings name no default currency (three earn rates)
    assert dict(PointsEntry.objects.values_list("key", "currency")) == {
        f"adjust:{one.pk}": "JPY",
        f"adjust:{two.pk}": "",
    }
    assert dict(PointsLot.objects.values_list("key", "currency")) == {
        f"adjust:{one.pk}": "JPY",
        f"adjust:{two.pk}": "",
    }


def _paid_history(profile, prefix: str) -> None:
    """Paid and free points bought, earned and spent over a year and a half."""
    issue_paid_points(
        profile.pk, 3000, "27000", "JPY", f"{prefix}paid:1", T0, reason="card", actor="s:1"
    )
    record(profile.pk, Entry(f"{prefix}earn:1", Kind.EARN, 500, T0 + DAY), currency="JPY")
    redeem(profile.pk, 1200, f"{prefix}redeem:1", T0 + 30 * DAY)
    issue_paid_points(
        profile.pk,
        700,
        "7000",
        "JPY",
        f"{prefix}paid:2",
        T0 + 200 * DAY,
        reason="card",
        actor="s:1",
    )
    redeem(profile.pk, 2500, f"{prefix}redeem:2", T0 + 300 * DAY)
    record(
        profile.pk,
        Entry(f"{prefix}reverse:1", Kind.REVERSE, -100, T0 + 310 * DAY, lot=f"{prefix}paid:2"),
        currency="JPY",
    )


def test_the_base_date_report_adds_up_with_the_ledger():
    # given: three customers with the same history, one with free points only
    customers = [_customer(str(n), "JPY") for n in range(3)]
    for number, profile in enumerate(customers[:2]):
        _paid_history(profile, f"c{number}:")
    record(customers[2].pk, Entry("free:1", Kind.EARN, 900, T0), currency="JPY")

    # when
    rows = paid_points_report(CONFIG, 2026, 2027)

    # then: each base date is what replaying each customer's ledger to its end gives
    for base, row in zip(base_dates(2026, 2027, TOKYO), rows, strict=True):
        points, amount = 0, Decimal(0)
        for profile in customers:
            state = replay(entries_of(profile.pk), base.end - timedelta(microseconds=1))
            for lot in state.lots:
                if lot.funding == "paid":
                    points += lot.remaining
                    amount += paid_value(lot, "JPY")
        assert (row.base_date, row.currency, row.points, row.amount) == (
            base.day,
            "JPY",
            points,
            amount,
        )
    # and by hand, each customer: March 31, 2026: the redemption of 1,200 took the oldest lot
    # (paid:1, bought before the 500 free), 1,800 left at 9 JPY; September 30: the 2,500
    # took paid:1's 1,800, the 500 free and 200 of paid:2, the refund 100: 400 left at 10 JPY
    assert [(r.points, r.amount, r.issued_points, r.issued_amount) for r in rows] == [
        (3600, Decimal(32400), 6000, Decimal(54000)),
        (800, Decimal(8000), 1400, Decimal(14000)),
        (800, Decimal(8000), 0, Decimal(0)),
        (800, Decimal(8000), 0, Decimal(0)),
    ]
    assert [r.exceeds_threshold for r in rows] == [False] * 4


def test_the_reports_as_csv():
    # given
    profile = _customer("1", "JPY")
    _paid_history(profile, "")

    # when
    paid = "".join(paid_points_csv(CONFIG, 2026, 2026)).splitlines()
    run = compute_free_points_months(CONFIG, T0 + 400 * DAY)
    free = "".join(free_points_csv(CONFIG, "2025-10", "2025-11")).splitlines()
    stamp = run.computed_at.astimezone(UTC).isoformat(timespec="seconds")

    # then
    assert paid == [
        "base_date,currency,unused_points,unused_amount,issued_points,issued_amount,"
        "exceeds_threshold",
        "2026-03-31,JPY,1800,16200,3000,27000,false",
        "2026-09-30,JPY,400,4000,700,7000,false",
    ]
    assert free == [  # the redemption of October 31 took paid points only
        "month,currency,opening,issued,used,expired,reversed,closing,computed_at",
        f"2025-10,JPY,0,500,0,0,0,500,{stamp}",
        f"2025-11,JPY,500,0,0,0,0,500,{stamp}",
    ]


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda: paid_points_report(CONFIG, 1999, 2026), "fromYear", "must be a year from 2000"),
        (lambda: paid_points_report(CONFIG, 2026, 2025), "toYear", "2025 is before fromYear"),
        (lambda: paid_points_report(CONFIG, 2000, 2030), "toYear", "at most 20 years"),
        (lambda: free_points_report(CONFIG, "2026-13", "2026-12"), "fromMonth", "'2026-13' is"),
        (lambda: free_points_report(CONFIG, "2026-02", "2026-01"), "toMonth", "2026-01 is before"),
        (lambda: free_points_report(CONFIG, "2000-01", "2026-01"), "toMonth", "at most 120"),
    ],
    ids=[
        "year-too-early",
        "years-reversed",
        "too-many-years",
        "bad-month",
        "months-reversed",
        "too-many-months",
    ],
)
def test_report_arguments_are_checked(call, field, message):
    with pytest.raises(FieldError) as error:
        call()
    assert error.value.field == field
    assert error.value.message.startswith(message)

"""Paid points, adjustments' currencies and the points reports through GraphQL and CSV."""

import base64
import csv
import io
import json

import pytest
from freezegun import freeze_time

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.loyalty.models import PointsEntry
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

ISSUE = """mutation I($customerId: ID!, $points: Int!, $amount: Decimal!, $currency: String!,
                    $reason: String!, $requestId: String!) {
  crmPaidPointsIssue(customerId: $customerId, points: $points, amount: $amount,
                     currency: $currency, reason: $reason, requestId: $requestId) {
    points { available }
    errors { field message code }
  }
}"""
ADJUST = """mutation A($customerId: ID!, $currency: String) {
  crmPointsAdjust(customerId: $customerId, points: 10, reason: "goodwill", requestId: "r1",
                  currency: $currency) {
    points { available }
    errors { field message code }
  }
}"""
REPORTS = """query Q($fromYear: Int!, $toYear: Int!, $fromMonth: String!, $toMonth: String!) {
  crmPaidPointsBaseDates(fromYear: $fromYear, toYear: $toYear) {
    baseDate currency unusedPoints unusedAmount { amount currency } issuedPoints
    issuedAmount { amount currency } exceedsThreshold
  }
  crmFreePointsMonths(fromMonth: $fromMonth, toMonth: $toMonth) {
    computedAt firstMonth lastMonth
    months { month currency opening issued used expired reversed closing }
  }
}"""
FREE = """query F($fromMonth: String!, $toMonth: String!) {
  crmFreePointsMonths(fromMonth: $fromMonth, toMonth: $toMonth) {
    computedAt months { month currency closing }
  }
}"""
COMPUTE = (
    """mutation { crmFreePointsMonthsCompute { queued computedAt errors { field message } } }"""
)
RANGE = {"fromYear": 2026, "toYear": 2026, "fromMonth": "2026-01", "toMonth": "2026-02"}


def _customer(email: str):
    """A registered customer the CRM knows, with no order."""
    user = make_user(email)
    CustomerProfile.objects.create(user_id=str(user.pk))
    return user


def _id(user) -> str:
    return base64.b64encode(f"User:{user.pk}".encode()).decode()


def _issue(post, token, customer, **overrides):
    variables = {
        "customerId": _id(customer),
        "points": 12000,
        "amount": "11000000",
        "currency": "JPY",
        "reason": "point card",
        "requestId": "card-1",
        **overrides,
    }
    return post(ISSUE, variables, token=token)["data"]["crmPaidPointsIssue"]


NOW = "2026-02-10 03:00:00+00:00"


def _sold_and_given(post, staff_user, customer):
    """12,000 paid points sold for 11,000,000 JPY (sent twice), and 10 free points given."""
    first = _issue(post, staff_user.api_token, customer)
    again = _issue(post, staff_user.api_token, customer)
    given = post(
        ADJUST, {"customerId": _id(customer), "currency": "JPY"}, token=staff_user.api_token
    )
    assert given["data"]["crmPointsAdjust"]["errors"] == []
    return first, again


def _compute(post, token, capture):
    """Ask for the free points months now; the task runs on commit (eagerly here)."""
    with capture(execute=True):
        answer = post(COMPUTE, token=token)
    return answer


@freeze_time(NOW)
def test_staff_issue_paid_points_and_the_reports_show_them(
    post, staff_user, django_capture_on_commit_callbacks
):
    # given
    ann = _customer("ann@example.com")

    # when
    first, again = _sold_and_given(post, staff_user, ann)
    computed = _compute(post, staff_user.api_token, django_capture_on_commit_callbacks)
    answer = post(REPORTS, RANGE, token=staff_user.api_token)

    # then
    assert first == again == {"points": {"available": 12000}, "errors": []}  # issued once
    assert PointsEntry.objects.filter(funding="paid").count() == 1
    assert answer["data"]["crmPaidPointsBaseDates"] == [
        {
            "baseDate": "2026-03-31",
            "currency": "JPY",
            "unusedPoints": 12000,
            "unusedAmount": {"amount": 11000000.0, "currency": "JPY"},
            "issuedPoints": 12000,
            "issuedAmount": {"amount": 11000000.0, "currency": "JPY"},
            "exceedsThreshold": True,
        },
        {
            "baseDate": "2026-09-30",
            "currency": "JPY",
            "unusedPoints": 12000,
            "unusedAmount": {"amount": 11000000.0, "currency": "JPY"},
            "issuedPoints": 0,
            "issuedAmount": {"amount": 0.0, "currency": "JPY"},
            "exceedsThreshold": True,
        },
    ]
    assert computed["data"]["crmFreePointsMonthsCompute"] == {
        "queued": True,
        "computedAt": None,  # none were in force when asked
        "errors": [],
    }
    free = answer["data"]["crmFreePointsMonths"]
    assert (free["computedAt"], free["firstMonth"], free["lastMonth"]) == (
        "2026-02-10T03:00:00+00:00",
        "2026-02",
        "2026-02",
    )
    assert free["months"] == [
        {
            "month": "2026-01",
            "currency": "JPY",
            "opening": 0,
            "issued": 0,
            "used": 0,
            "expired": 0,
            "reversed": 0,
            "closing": 0,
        },
        {
            "month": "2026-02",
            "currency": "JPY",
            "opening": 0,
            "issued": 10,
            "used": 0,
            "expired": 0,
            "reversed": 0,
            "closing": 10,
        },
    ]


@freeze_time(NOW)
def test_the_free_points_months_say_when_nothing_is_computed_yet(
    post, staff_user, django_capture_on_commit_callbacks
):
    # given
    _sold_and_given(post, staff_user, _customer("ann@example.com"))

    # when
    before = post(FREE, {"fromMonth": "2026-01", "toMonth": "2026-02"}, token=staff_user.api_token)
    _compute(post, staff_user.api_token, django_capture_on_commit_callbacks)
    later = post(FREE, {"fromMonth": "2026-02", "toMonth": "2026-03"}, token=staff_user.api_token)

    # then
    assert before["data"] is None
    assert before["errors"][0]["message"] == (
        "report: the free points months have not been computed yet: the nightly task "
        "computes them, or staff start it now with crmFreePointsMonthsCompute"
    )
    assert before["errors"][0]["extensions"]["exception"] == {
        "code": "NotComputed",
        "field": "report",
    }
    assert later["errors"][0]["message"] == (
        "toMonth: 2026-03 is after the last month computed, 2026-02 (computed at "
        "2026-02-10T03:00:00+00:00): the next computation (nightly, or "
        "crmFreePointsMonthsCompute) adds it"
    )
    assert later["errors"][0]["extensions"]["exception"]["code"] == "NotComputed"


@freeze_time(NOW)
def test_asking_for_the_months_now_is_audited_and_answers_the_months_in_force(
    post, staff_user, django_capture_on_commit_callbacks
):
    # given: months computed once
    _customer("ann@example.com")
    _compute(post, staff_user.api_token, django_capture_on_commit_callbacks)

    # when
    again = _compute(post, staff_user.api_token, django_capture_on_commit_callbacks)

    # then
    assert again["data"]["crmFreePointsMonthsCompute"]["computedAt"] == (
        "2026-02-10T03:00:00+00:00"
    )
    events = AuditEvent.objects.filter(action="free_points_compute_requested")
    assert [(e.actor, e.at.isoformat()) for e in events] == [
        (f"staff:{staff_user.pk}", "2026-02-10T03:00:00+00:00")
    ] * 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"points": 0}, "points", "must be a whole number above 0, not 0"),
        ({"amount": "10.5"}, "amount", "'10.5' has more decimals than JPY allows (0)"),
        ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code in use"),
        ({"reason": " "}, "reason", "is required: say why, for the audit trail"),
    ],
    ids=["no-points", "fraction", "unknown-currency", "no-reason"],
)
def test_paid_points_with_bad_input_answer_a_field_error(
    post, staff_user, overrides, field, message
):
    ann = _customer("ann@example.com")
    answer = _issue(post, staff_user.api_token, ann, **overrides)
    assert answer["points"] is None
    assert answer["errors"] == [{"field": field, "message": message, "code": "INVALID"}]
    assert not PointsEntry.objects.filter(funding="paid").exists()


def test_an_adjustment_of_a_customer_without_a_currency_names_the_field(post, staff_user):
    # given: a customer with no order
    bob = _customer("bob@example.com")

    # when
    refused = post(ADJUST, {"customerId": _id(bob)}, token=staff_user.api_token)
    given = post(ADJUST, {"customerId": _id(bob), "currency": "usd"}, token=staff_user.api_token)

    # then
    assert refused["data"]["crmPointsAdjust"]["errors"] == [
        {
            "field": "currency",
            "message": "is required: the customer has no currency of their own",
            "code": "INVALID",
        }
    ]
    assert given["data"]["crmPointsAdjust"] == {"points": {"available": 10}, "errors": []}
    assert PointsEntry.objects.get().currency == "USD"


def test_only_staff_issue_paid_points_and_read_the_reports(post):
    ann = _customer("ann@example.com")
    other = make_user("other@example.com")
    issued = post(
        ISSUE,
        {
            "customerId": _id(ann),
            "points": 5,
            "amount": "5",
            "currency": "JPY",
            "reason": "x",
            "requestId": "r",
        },
        token=other.api_token,
    )
    read = post(REPORTS, RANGE, token=other.api_token)
    compute = post(COMPUTE, token=other.api_token)
    for answer in (issued, read, compute):
        assert answer["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert not PointsEntry.objects.filter(funding="paid").exists()
    assert not AuditEvent.objects.exists()


def test_a_bad_report_range_names_the_argument(post, staff_user):
    answer = post(REPORTS, {**RANGE, "toMonth": "2026-1"}, token=staff_user.api_token)
    assert answer["errors"][0]["message"] == (
        "toMonth: '2026-1' is not a month as YYYY-MM (2000 to 2100)"
    )


def _csv(client, body, token):
    return client.post(
        "/export/analytics.csv",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@freeze_time(NOW)
def test_the_paid_points_report_as_csv(client, post, staff_user):
    # given
    _sold_and_given(post, staff_user, _customer("ann@example.com"))

    # when
    response = _csv(
        client, {"report": "paidPoints", "fromYear": 2026, "toYear": 2026}, staff_user.api_token
    )
    bad = _csv(client, {"report": "paidPoints", "fromYear": 2026}, staff_user.api_token)

    # then
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="paid-points-2026-2026.csv"'
    text = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text))) == [
        [
            "base_date",
            "currency",
            "unused_points",
            "unused_amount",
            "issued_points",
            "issued_amount",
            "exceeds_threshold",
        ],
        ["2026-03-31", "JPY", "12000", "11000000", "12000", "11000000", "true"],
        ["2026-09-30", "JPY", "12000", "11000000", "0", "0", "true"],
    ]
    assert (bad.status_code, bad.json()) == (
        400,
        {"errors": [{"field": "toYear", "message": "is required"}]},
    )


@freeze_time(NOW)
def test_the_free_points_report_as_csv(
    client, post, staff_user, django_capture_on_commit_callbacks
):
    # given
    _sold_and_given(post, staff_user, _customer("ann@example.com"))
    body = {"report": "freePoints", "fromMonth": "2026-01", "toMonth": "2026-02"}
    before = _csv(client, body, staff_user.api_token)
    _compute(post, staff_user.api_token, django_capture_on_commit_callbacks)

    # when
    response = _csv(client, body, staff_user.api_token)

    # then
    assert (before.status_code, before.json()) == (
        409,
        {
            "errors": [
                {
                    "field": "report",
                    "message": "the free points months have not been computed yet: the "
                    "nightly task computes them, or staff start it now with "
                    "crmFreePointsMonthsCompute",
                }
            ]
        },
    )
    assert response["Content-Disposition"] == (
        'attachment; filename="free-points-2026-01-2026-02-computed-20260210.csv"'
    )
    assert b"".join(response.streaming_content).decode().splitlines() == [
        "month,currency,opening,issued,used,expired,reversed,closing,computed_at",
        "2026-01,JPY,0,0,0,0,0,0,2026-02-10T03:00:00+00:00",
        "2026-02,JPY,0,10,0,0,0,10,2026-02-10T03:00:00+00:00",
    ]

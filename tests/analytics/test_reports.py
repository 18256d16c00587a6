"""The stored repeat and retention reports: the ledger read, the nightly computation, the reads
and the CSV (PostgreSQL)."""

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django_celery_beat.models import PeriodicTask

from saleor_crm_plugin.analytics import report_services, reports
from saleor_crm_plugin.analytics.models import (
    CohortRow,
    F2Row,
    LtvRow,
    ProductRepeatRow,
    ReportRun,
)
from saleor_crm_plugin.analytics.report_services import (
    cohort_rows,
    cohort_table_lines,
    compute_reports,
    f2_rows,
    ledger_frames,
    ltv_rows,
    product_repeat_rows,
    report_csv,
    report_in_force,
)
from saleor_crm_plugin.analytics.tasks import compute_reports_task
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend, OrderRecord
from saleor_crm_plugin.customers.snapshots import LineSnapshot, OrderStatus
from saleor_crm_plugin.errors import FieldError
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription
from tests.factories import T0, order

pytestmark = pytest.mark.django_db

AS_OF = T0 + timedelta(days=200)  # 2025-07-29 03:00 UTC
CODES = ["bronze", "silver"]


def _line(order_id, product, price, n=1):
    return LineSnapshot(
        line_id=f"{order_id}-{n}",
        quantity=1,
        unit_price_gross=Decimal(price),
        product_name={"P1": "Tea", "P2": "Cup"}[product],
        variant_id=f"v-{product}",
        product_id=product,
        category_id="C1",
    )


def _ledger():
    """a: P1 on day 0 and day 20 (JPY); b: P1+P2 on day 3, P2 on day 100 (JPY), a cancelled
    order on day 5; c: P2 for 12.34 USD on day 40 (its first order started a subscription)."""
    snapshots = [
        order("a1", user_id="a", total="1000", lines=[_line("a1", "P1", "1000")]),
        order(
            "a2",
            user_id="a",
            total="500",
            placed_at=T0 + timedelta(days=20),
            lines=[_line("a2", "P1", "500")],
        ),
        order(
            "b1",
            user_id="b",
            email="b@example.com",
            total="3000",
            placed_at=T0 + timedelta(days=3),
            lines=[_line("b1", "P1", "1000"), _line("b1", "P2", "2000", 2)],
        ),
        order(
            "b2",
            user_id="b",
            email="b@example.com",
            total="2000",
            placed_at=T0 + timedelta(days=100),
            lines=[_line("b2", "P2", "2000")],
        ),
        order(
            "b3",
            user_id="b",
            email="b@example.com",
            total="700",
            status=OrderStatus.CANCELED,
            placed_at=T0 + timedelta(days=5),
            lines=[_line("b3", "P1", "700")],
        ),
        order(
            "c1",
            user_id="c",
            email="c@example.com",
            total="12.34",
            currency="USD",
            placed_at=T0 + timedelta(days=40),
            lines=[_line("c1", "P2", "12.34")],
        ),
    ]
    ingest_orders(snapshots)
    c = CustomerProfile.objects.get(user_id="c")
    subscription = Subscription.objects.create(
        profile=c, user_id="c", channel="default-channel", currency="USD", plan={}
    )
    Cycle.objects.create(
        subscription=subscription,
        sequence=1,
        delivery_on=(T0 + timedelta(days=40)).date(),
        renewal_due_at=T0 + timedelta(days=40),
        status=Cycle.Status.ORDERED,
        order_id="c1",
    )
    return {p.user_id: p.pk for p in CustomerProfile.objects.all()}


def test_the_ledger_is_read_with_amounts_in_minor_units():
    # given
    profiles = _ledger()
    ids = dict(OrderRecord.objects.values_list("order_id", "pk"))

    # when
    orders, lines = ledger_frames(AS_OF)

    # then: the cancelled order does not count; c's order started a subscription
    assert sorted(orders.itertuples(index=False, name=None)) == sorted(
        [
            (ids["a1"], profiles["a"], pd.Timestamp(T0), "channel-jpy", "JPY", 1000, False),
            (
                ids["a2"],
                profiles["a"],
                pd.Timestamp(T0 + timedelta(days=20)),
                "channel-jpy",
                "JPY",
                500,
                False,
            ),
            (
                ids["b1"],
                profiles["b"],
                pd.Timestamp(T0 + timedelta(days=3)),
                "channel-jpy",
                "JPY",
                3000,
                False,
            ),
            (
                ids["b2"],
                profiles["b"],
                pd.Timestamp(T0 + timedelta(days=100)),
                "channel-jpy",
                "JPY",
                2000,
                False,
            ),
            (
                ids["c1"],
                profiles["c"],
                pd.Timestamp(T0 + timedelta(days=40)),
                "default-channel",
                "USD",
                1234,
                True,
            ),
        ]
    )
    assert str(orders.placed_at.dt.tz) == "UTC"
    assert sorted(
        (order_id, product, name)
        for order_id, product, _, _, name in lines.astype(object).itertuples(index=False, name=None)
    ) == sorted(
        [
            (ids["a1"], "P1", "Tea"),
            (ids["a2"], "P1", "Tea"),
            (ids["b1"], "P1", "Tea"),
            (ids["b1"], "P2", "Cup"),
            (ids["b2"], "P2", "Cup"),
            (ids["b3"], "P1", "Tea"),  # every line: the reports drop those of orders not read
            (ids["c1"], "P2", "Cup"),
        ]
    )


def test_computing_stores_every_report_in_force():
    # given
    profiles = _ledger()
    CustomerSpend.objects.filter(profile_id=profiles["a"], currency="JPY").update(
        segment="Champions"
    )

    # when
    run = compute_reports(AS_OF, AS_OF, CODES)

    # then
    run.refresh_from_db()
    assert (run.status, run.in_force, run.as_of) == (ReportRun.OK, True, AS_OF)
    assert run.computed_at is not None
    assert set(run.seconds) == {
        "read_ledger",
        "read_groups",
        "repeat:product",
        "repeat:variant",
        "repeat:category",
        "f2",
        "cohorts",
        "ltv",
        "store",
    }
    # P1: a (days 0, 20) and b (day 3); a's second order after 20 days, b's after 97
    p1 = product_repeat_rows().get(item="P1", channel="", first_month="")
    assert (p1.name, p1.buyers, p1.repeat_buyers, p1.repeat_rate, p1.first_buyers) == (
        "Tea",
        2,
        1,
        0.5,
        2,
    )
    assert (p1.second_30, p1.observed_30, p1.share_30, p1.second_180, p1.observed_180) == (
        1,
        2,
        0.5,
        2,
        2,
    )
    assert (p1.median_days_to_second, p1.repeat_interval_days) == (58.5, 20.0)
    assert [row.item for row in product_repeat_rows(level="category")] == ["C1"]
    # F2 split by subscription: c's first order started one
    assert [
        (row.value, row.first_buyers, row.observed_30, row.second_30)
        for row in f2_rows(by="subscription", first_month="")
    ] == [("no", 2, 2, 1), ("yes", 1, 1, 0)]
    usd = cohort_rows(currency="USD").get(months_since=0)
    assert (usd.cohort_month, usd.customers, usd.revenue, usd.revenue_per_customer) == (
        "2025-02",
        1,
        Decimal("12.34"),
        Decimal("12.34"),
    )
    # LTV: a Champions (1,500), b unscored (5,000); nobody holds a rank: the lowest
    assert [
        (row.currency, row.by, row.value, row.customers, row.revenue)
        for row in ltv_rows(by="segment", sort="value")
    ] == [
        ("JPY", "segment", "", 1, Decimal(5000)),
        ("USD", "segment", "", 1, Decimal("12.34")),
        ("JPY", "segment", "Champions", 1, Decimal(1500)),
    ]
    assert [(row.currency, row.value, row.customers) for row in ltv_rows(by="rank")] == [
        ("JPY", "bronze", 2),
        ("USD", "bronze", 1),
    ]


def test_the_stored_rows_are_the_reports_of_the_ledger():
    # given
    _ledger()
    orders, lines = ledger_frames(AS_OF)

    # when
    compute_reports(AS_OF, AS_OF, CODES)

    # then
    expected = reports.product_repeat(orders, lines, AS_OF, item="variant_id")
    stored = ProductRepeatRow.objects.filter(level="variant")
    assert stored.count() == len(expected)
    assert sorted(stored.values_list("channel", "first_month", "item", "buyers")) == sorted(
        expected[["channel", "first_month", "item", "buyers"]].itertuples(index=False, name=None)
    )
    assert F2Row.objects.count() == len(reports.f2_conversion(orders, lines, AS_OF))
    assert CohortRow.objects.count() == len(reports.cohort_retention(orders, AS_OF))


def test_a_second_computation_replaces_the_first():
    # given
    _ledger()
    first = compute_reports(AS_OF, AS_OF, CODES)
    counts = [m.objects.count() for m in (ProductRepeatRow, F2Row, CohortRow, LtvRow)]

    # when
    second = compute_reports(AS_OF, AS_OF + timedelta(hours=1), CODES)

    # then
    assert list(ReportRun.objects.values_list("pk", "in_force")) == [(second.pk, True)]
    assert first.pk != second.pk
    assert [m.objects.count() for m in (ProductRepeatRow, F2Row, CohortRow, LtvRow)] == counts
    assert not ProductRepeatRow.objects.filter(run_id=first.pk).exists()


def test_a_failed_computation_leaves_the_previous_reports_in_force(monkeypatch):
    # given
    _ledger()
    first = compute_reports(AS_OF, AS_OF, CODES)

    def broken(*args, **kwargs):
        raise ValueError("no luck")

    monkeypatch.setattr(reports, "cohort_retention", broken)

    # when
    with pytest.raises(ValueError, match="no luck"):
        compute_reports(AS_OF + timedelta(days=1), AS_OF + timedelta(days=1), CODES)

    # then
    assert report_in_force() == first
    failed = ReportRun.objects.get(status=ReportRun.FAILED)
    assert (failed.in_force, failed.error) == (False, "ValueError: no luck")
    assert not ProductRepeatRow.objects.filter(run=failed).exists()
    assert list(product_repeat_rows().values_list("run", "item")) == [
        (first.pk, "P1"),
        (first.pk, "P2"),
    ]


def test_reads_filter_and_sort():
    # given
    _ledger()
    compute_reports(AS_OF, AS_OF, CODES)

    # when
    by_rate = list(product_repeat_rows(sort="-repeat_rate").values_list("item", "repeat_rate"))
    january = list(
        product_repeat_rows(first_month="2025-01", channel="channel-jpy").values_list(
            "item", "buyers"
        )
    )

    # then: P2 (b on days 3 and 100, c once) 1 of 2; P1 1 of 2: ties by item
    assert by_rate == [("P1", 0.5), ("P2", 0.5)]
    assert january == [("P1", 2), ("P2", 1)]
    assert list(f2_rows(channel="default-channel").values_list("first_month", "first_buyers")) == [
        ("", 1),
        ("2025-02", 1),
    ]


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda: product_repeat_rows(sort="price"), "sort", "'price' is not one of"),
        (lambda: product_repeat_rows(level="brand"), "level", "'brand' is not one of"),
        (
            lambda: product_repeat_rows(first_month="2025-1"),
            "first_month",
            "'2025-1' is not a month",
        ),
        (lambda: f2_rows(by="country"), "by", "'country' is not one of"),
        (lambda: ltv_rows(by="age"), "by", "'age' is not one of"),
        (lambda: report_csv("basket"), "report", "'basket' is not one of"),
    ],
    ids=["sort", "level", "month", "f2-by", "ltv-by", "report"],
)
def test_bad_filters_name_the_field(call, field, message):
    with pytest.raises(FieldError) as error:
        call()
    assert error.value.field == field
    assert error.value.message.startswith(message)


def test_reads_before_any_computation_are_empty():
    assert report_in_force() is None
    assert not product_repeat_rows().exists()
    assert cohort_table_lines() == ["Cohort retention: not computed yet"]


def test_csv_of_a_report():
    # given
    _ledger()
    compute_reports(AS_OF, AS_OF, CODES)

    # when
    text = "".join(report_csv("cohorts", channel="", currency="USD"))

    # then: February to July
    lines = text.splitlines()
    assert lines[0] == (
        "channel,currency,cohort_month,months_since,customers,active,retention,revenue,"
        "revenue_per_customer,cumulative_per_customer,complete"
    )
    assert lines[1] == ",USD,2025-02,0,1,1,1.0,12.340,12.340,12.340,True"
    assert len(lines) == 7
    repeat = "".join(report_csv("repeat", sort="item")).splitlines()
    assert repeat[0].startswith("level,channel,first_month,item,name,buyers,repeat_buyers,")
    assert [line.split(",")[3] for line in repeat[1:]] == ["P1", "P2"]


def test_the_demo_table_shows_retention_by_cohort():
    # given
    _ledger()
    compute_reports(AS_OF, AS_OF, CODES)

    # when
    lines = cohort_table_lines(months=4)

    # then
    assert lines == [
        "Cohort retention (share of each first-order month's customers ordering again, "
        "as of 2025-07-29):",
        "  JPY  month   customers      0      1      2      3",
        "       2025-01           2   100%     0%     0%    50%",
        "  USD  month   customers      0      1      2      3",
        "       2025-02           1   100%     0%     0%     0%",
    ]


def test_the_task_is_idempotent_and_nightly(settings):
    # given
    _ledger()

    # when
    first = compute_reports_task()
    second = compute_reports_task()

    # then
    assert first["run"] != second["run"]
    assert list(ReportRun.objects.values_list("pk", flat=True)) == [second["run"]]
    periodic = PeriodicTask.objects.get(name="saleor-crm: compute reports")
    assert periodic.task == "saleor_crm.compute_reports"
    # daily, at the analytics hour of the store's zone (03:00 UTC by default)
    assert periodic.interval is None
    assert (periodic.crontab.minute, periodic.crontab.hour) == ("0", "3")
    assert report_services.report_in_force().pk == second["run"]

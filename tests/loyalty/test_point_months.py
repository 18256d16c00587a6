"""The free points months, computed and stored (nightly, by chunks, on demand) on PostgreSQL."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery import current_app
from django_celery_beat.models import PeriodicTask

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.lots import Entry, Kind
from saleor_crm_plugin.loyalty.models import (
    FreePointsChunk,
    FreePointsMonth,
    FreePointsRun,
    PointsEntry,
)
from saleor_crm_plugin.loyalty.point_report_services import (
    FreePointsNotComputed,
    compute_free_points_chunk,
    compute_free_points_months,
    free_points_csv,
    free_points_file_name,
    free_points_report,
    request_free_points_months,
    start_free_points_run,
)
from saleor_crm_plugin.loyalty.point_reports import FreeMonth, History, free_point_months
from saleor_crm_plugin.loyalty.point_reports import month_starts as starts_of
from saleor_crm_plugin.loyalty.services import entries_of, issue_paid_points, record

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
CONFIG = parse_config({"store-time-zone": "Asia/Tokyo"})
T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _ledger() -> list[CustomerProfile]:
    """Three customers (JPY, JPY, USD): earnings, a redemption, a refund, an expiry, paid
    points (not free) and a customer without points."""
    ann, bob, cat, _nobody = (CustomerProfile.objects.create(user_id=str(n)) for n in range(4))
    record(ann.pk, Entry("a:earn:1", Kind.EARN, 500, T0), currency="JPY")
    record(ann.pk, Entry("a:redeem:1", Kind.REDEEM, -200, T0 + 20 * DAY))
    record(ann.pk, Entry("a:earn:2", Kind.EARN, 300, T0 + 30 * DAY), currency="JPY")
    record(
        ann.pk,
        Entry("a:reverse:2", Kind.REVERSE, -100, T0 + 40 * DAY, lot="a:earn:2"),
        currency="JPY",
    )
    record(bob.pk, Entry("b:earn:1", Kind.EARN, 80, T0 + 2 * DAY), currency="JPY")
    record(
        bob.pk, Entry("b:expire:1", Kind.EXPIRE, -80, T0 + 50 * DAY, lot="b:earn:1"), currency="JPY"
    )
    issue_paid_points(
        bob.pk, 1000, "1000", "JPY", "b:paid:1", T0 + DAY, reason="point card", actor="staff:1"
    )
    record(cat.pk, Entry("c:earn:1", Kind.EARN, 7, T0 + 45 * DAY), currency="USD")
    return [ann, bob, cat]


# By hand (Tokyo months): January: ann +500 -200, bob +80 (his paid 1,000 are not free);
# February: ann +300 -100 reversed, bob's 80 expired, cat +7 USD; March: nothing moves.
EXPECTED = [
    FreeMonth(date(2026, 1, 1), "JPY", 0, 580, 200, 0, 0, 380),
    FreeMonth(date(2026, 1, 1), "USD", 0, 0, 0, 0, 0, 0),
    FreeMonth(date(2026, 2, 1), "JPY", 380, 300, 0, 80, 100, 500),
    FreeMonth(date(2026, 2, 1), "USD", 0, 7, 0, 0, 0, 7),
    FreeMonth(date(2026, 3, 1), "JPY", 500, 0, 0, 0, 0, 500),
    FreeMonth(date(2026, 3, 1), "USD", 7, 0, 0, 0, 0, 7),
]


def _replayed(profiles, first: date, last: date) -> list[FreeMonth]:
    """The months replayed straight from the ledger (what a request did before they were
    stored)."""
    histories = []
    for profile in profiles:
        lots = PointsEntry.objects.filter(account__profile=profile, points__gt=0)
        histories.append(History(entries_of(profile.pk), dict(lots.values_list("key", "currency"))))
    return free_point_months(histories, starts_of(first, last, TOKYO))


def test_nothing_computed_yet_is_said_not_shown_as_an_empty_report():
    # given
    _ledger()

    # when
    with pytest.raises(FreePointsNotComputed) as caught:
        free_points_report(CONFIG, "2026-01", "2026-03")

    # then
    assert caught.value.field == "report"
    assert caught.value.message == (
        "the free points months have not been computed yet: the nightly task computes them, "
        "or staff start it now with crmFreePointsMonthsCompute"
    )
    assert free_points_file_name("2026-01", "2026-03") == "free-points-2026-01-2026-03"


@pytest.mark.parametrize("chunk_size", [None, 1, 2], ids=["one-chunk", "chunks-of-1", "of-2"])
def test_the_stored_months_are_the_replay_of_the_ledger_whatever_the_chunks(chunk_size):
    # given
    profiles = _ledger()

    # when
    run = compute_free_points_months(CONFIG, NOW, chunk_size)
    report = free_points_report(CONFIG, "2026-01", "2026-03")

    # then
    assert (run.status, run.in_force, run.first_month, run.last_month) == (
        "ok",
        True,
        date(2026, 1, 1),
        date(2026, 3, 1),
    )
    assert report.months == EXPECTED == _replayed(profiles, date(2026, 1, 1), date(2026, 3, 1))
    assert report.computed_at == run.computed_at
    assert run.chunks == {None: 1, 1: 3, 2: 2}[chunk_size]  # three accounts
    # only the summed months stay: the chunks' own rows are gone
    assert FreePointsMonth.objects.filter(chunk__isnull=False).count() == 0
    assert FreePointsMonth.objects.count() == len(EXPECTED)


def test_a_range_before_the_ledger_and_a_month_not_computed_yet():
    # given
    profiles = _ledger()
    run = compute_free_points_months(CONFIG, NOW)

    # when
    early = free_points_report(CONFIG, "2025-12", "2026-01")
    with pytest.raises(FreePointsNotComputed) as caught:
        free_points_report(CONFIG, "2026-03", "2026-04")

    # then: December opens and closes with nothing; USD appears once it has moved
    assert early.months == [
        FreeMonth(date(2025, 12, 1), "JPY", 0, 0, 0, 0, 0, 0),
        FreeMonth(date(2026, 1, 1), "JPY", 0, 580, 200, 0, 0, 380),
    ]
    assert early.months == _replayed(profiles, date(2025, 12, 1), date(2026, 1, 1))
    assert caught.value.field == "toMonth"
    assert caught.value.message == (
        f"2026-04 is after the last month computed, 2026-03 (computed at "
        f"{run.computed_at.isoformat(timespec='seconds')}): the next computation (nightly, or "
        "crmFreePointsMonthsCompute) adds it"
    )


def test_readers_see_the_previous_months_until_every_chunk_of_a_run_is_done():
    # given: months in force, then an entry dated in January written afterwards (an import)
    profiles = _ledger()
    first = compute_free_points_months(CONFIG, NOW)
    record(profiles[2].pk, Entry("c:import:1", Kind.EARN, 40, T0 + 3 * DAY), currency="JPY")
    run = start_free_points_run(CONFIG, NOW + DAY, chunk_size=2)
    chunks = list(run.chunk_set.order_by("low").values_list("pk", flat=True))

    # when: one chunk of two done, then the other (twice: a repeated task)
    half = compute_free_points_chunk(chunks[0], CONFIG)
    during = free_points_report(CONFIG, "2026-01", "2026-03")
    last = compute_free_points_chunk(chunks[1], CONFIG)
    again = compute_free_points_chunk(chunks[1], CONFIG)
    after = free_points_report(CONFIG, "2026-01", "2026-03")

    # then: the half-done run is not read; the whole new run replaces every month
    assert (half.finished_run, last.finished_run, again.repeated) == (False, True, True)
    assert (during.computed_at, during.months) == (first.computed_at, EXPECTED)
    run.refresh_from_db()
    assert after.computed_at == run.computed_at > first.computed_at
    assert after.months[0] == FreeMonth(date(2026, 1, 1), "JPY", 0, 620, 200, 0, 0, 420)
    assert after.months == _replayed(profiles, date(2026, 1, 1), date(2026, 3, 1))
    # the run replaced is kept for readers until the next swap, then deleted
    assert set(FreePointsRun.objects.values_list("pk", "in_force")) == {
        (first.pk, False),
        (run.pk, True),
    }
    third = compute_free_points_months(CONFIG, NOW + 2 * DAY)
    assert set(FreePointsRun.objects.values_list("pk", flat=True)) == {run.pk, third.pk}


def test_a_run_finishing_after_a_newer_one_is_dropped():
    # given: an older run half started, a newer one computed meanwhile
    _ledger()
    older = start_free_points_run(CONFIG, NOW, chunk_size=100)
    newer = compute_free_points_months(CONFIG, NOW + DAY)

    # when
    report = compute_free_points_chunk(older.chunk_set.get().pk, CONFIG)

    # then
    assert report.finished_run is False
    assert list(FreePointsRun.objects.values_list("pk", flat=True)) == [newer.pk]
    assert not FreePointsChunk.objects.filter(run_id=older.pk).exists()
    assert compute_free_points_chunk(-1, CONFIG).gone is True


def test_an_empty_ledger_gives_months_in_force_with_no_rows():
    run = compute_free_points_months(CONFIG, NOW)
    report = free_points_report(CONFIG, "2026-01", "2026-03")
    assert (run.chunks, run.first_month, report.months) == (0, None, [])


def test_months_computed_in_another_time_zone_are_not_shown_as_the_stores():
    # given
    _ledger()
    compute_free_points_months(CONFIG, NOW)

    # when
    with pytest.raises(FreePointsNotComputed) as caught:
        free_points_report(parse_config({"store-time-zone": "UTC"}), "2026-01", "2026-03")

    # then
    assert caught.value.field == "report"
    assert caught.value.message.startswith("the stored months are in Asia/Tokyo (computed at ")
    assert caught.value.message.endswith(
        "the store's time zone is now UTC: the next computation (nightly, or "
        "crmFreePointsMonthsCompute) gives its months"
    )


def test_the_csv_says_when_the_months_were_computed():
    # given
    _ledger()
    run = compute_free_points_months(CONFIG, NOW)
    stamp = run.computed_at.astimezone(UTC).isoformat(timespec="seconds")

    # when
    lines = "".join(free_points_csv(CONFIG, "2026-02", "2026-02")).splitlines()

    # then
    assert lines == [
        "month,currency,opening,issued,used,expired,reversed,closing,computed_at",
        f"2026-02,JPY,380,300,0,80,100,500,{stamp}",
        f"2026-02,USD,0,7,0,0,0,7,{stamp}",
    ]
    assert free_points_file_name("2026-02", "2026-02") == (
        f"free-points-2026-02-2026-02-computed-{run.computed_at.astimezone(UTC):%Y%m%d}"
    )


def test_staff_ask_for_the_months_now_audited_and_the_tasks_compute_them(
    django_capture_on_commit_callbacks,
):
    # given
    _ledger()

    # when: the task runs on commit (eagerly here), its chunk tasks too
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        before = request_free_points_months("staff:7", NOW)

    # then
    assert before is None
    assert len(callbacks) == 1
    event = AuditEvent.objects.exclude(action="paid_points_issued").get()
    assert (event.action, event.actor, event.at) == (
        "free_points_compute_requested",
        "staff:7",
        NOW,
    )
    report = free_points_report(get_host().config(), "2026-01", "2026-02")
    assert report.months == EXPECTED[:4]  # these entries fall in the same months in UTC


def test_the_months_are_computed_daily_from_the_beat_schedule():
    periodic = PeriodicTask.objects.get(name="saleor-crm: compute free points months")
    assert periodic.task == "saleor_crm.compute_free_points_months"
    assert periodic.crontab is not None
    assert (periodic.crontab.minute, periodic.crontab.day_of_week) == ("0", "*")
    assert "saleor_crm.compute_free_points_months" in current_app.tasks
    assert "saleor_crm.compute_free_points_chunk" in current_app.tasks

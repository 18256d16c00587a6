"""Subscription schedules: month ends, leap years, the store's zone, skip/pause/resume, cutoffs."""

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saleor_crm_plugin.subscriptions.schedule import (
    CycleState,
    Interval,
    ScheduleError,
    Unit,
    change_interval,
    cycle_date,
    move_next,
    parse_interval,
    pause,
    renewal_at,
    resume,
    skip,
    start_plan,
    unskip,
    upcoming,
)

MONTH = Interval(1, Unit.MONTH)
DAYS_30 = Interval(30, Unit.DAY)
ALLOWED = (DAYS_30, Interval(45, Unit.DAY), Interval(60, Unit.DAY), MONTH)


def _dates(plan, after, count=6):
    return [(c.sequence, c.date, c.state) for c in upcoming(plan, after, count)]


def test_monthly_deliveries_from_the_31st_clamp_to_month_end_without_drifting():
    plan = start_plan(date(2027, 1, 31), MONTH)
    assert [cycle_date(plan, n) for n in range(1, 6)] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]


def test_leap_years_give_february_29th():
    plan = start_plan(date(2027, 12, 29), Interval(2, Unit.MONTH))
    assert cycle_date(plan, 2) == date(2028, 2, 29)
    assert cycle_date(start_plan(date(2028, 1, 31), MONTH), 2) == date(2028, 2, 29)
    assert cycle_date(start_plan(date(2028, 2, 29), Interval(12, Unit.MONTH)), 2) == date(
        2029, 2, 28
    )


@given(
    anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    months=st.integers(1, 12),
    steps=st.integers(0, 60),
)
def test_a_monthly_date_is_the_anchor_day_or_the_month_end(anchor, months, steps):
    day = Interval(months, Unit.MONTH).after(anchor, steps)
    assert (day.year * 12 + day.month) - (anchor.year * 12 + anchor.month) == months * steps
    last_day = calendar.monthrange(day.year, day.month)[1]
    assert day.day == min(anchor.day, last_day)


def test_the_renewal_is_due_a_lead_time_before_the_delivery_in_the_stores_zone():
    tokyo = ZoneInfo("Asia/Tokyo")
    # delivery on the 5th in Tokyo, 3 days of lead, at 09:00 local = 00:00 UTC on the 2nd
    assert renewal_at(date(2027, 3, 5), 3, tokyo) == datetime(2027, 3, 2, 0, 0, tzinfo=UTC)
    # New York's DST start (2027-03-14) moves the UTC hour
    new_york = ZoneInfo("America/New_York")
    assert renewal_at(date(2027, 3, 13), 0, new_york).hour == 14
    assert renewal_at(date(2027, 3, 15), 0, new_york).hour == 13
    with pytest.raises(ScheduleError, match="hour"):
        renewal_at(date(2027, 3, 5), 3, tokyo, hour=24)


def test_skip_then_pause_then_resume():
    plan = start_plan(date(2027, 1, 10), DAYS_30)
    today = date(2027, 1, 1)

    skipped = skip(plan, 2, today).plan  # Feb 9
    assert _dates(skipped, today, 3) == [
        (1, date(2027, 1, 10), CycleState.DUE),
        (2, date(2027, 2, 9), CycleState.SKIPPED),
        (3, date(2027, 3, 11), CycleState.DUE),
    ]
    paused = pause(skipped, date(2027, 3, 1), today).plan  # open-ended from Mar 1
    assert [c.sequence for c in upcoming(paused, today, 10)] == [1, 2]  # nothing after
    resumed = resume(paused, date(2027, 5, 20), on=date(2027, 6, 1)).plan
    assert _dates(resumed, date(2027, 5, 20), 2) == [
        (3, date(2027, 6, 1), CycleState.DUE),
        (4, date(2027, 7, 1), CycleState.DUE),
    ]
    # earlier cycles keep their dates and states
    assert _dates(resumed, today, 2)[1] == (2, date(2027, 2, 9), CycleState.SKIPPED)
    assert unskip(resumed, 2, today).plan.skipped == frozenset()


def test_a_holiday_pause_leaves_the_rhythm_in_place():
    plan = start_plan(date(2027, 7, 1), Interval(2, Unit.WEEK))
    held = pause(plan, date(2027, 7, 20), date(2027, 7, 2), until=date(2027, 8, 10)).plan
    assert _dates(held, date(2027, 7, 2), 4) == [
        (2, date(2027, 7, 15), CycleState.DUE),
        (3, date(2027, 7, 29), CycleState.PAUSED),
        (4, date(2027, 8, 12), CycleState.DUE),
        (5, date(2027, 8, 26), CycleState.DUE),
    ]


def test_an_interval_change_mid_cycle_applies_from_the_next_delivery():
    plan = start_plan(date(2027, 1, 10), DAYS_30)
    today = date(2027, 1, 20)  # cycle 1 delivered; cycle 2 on Feb 9
    change = change_interval(plan, Interval(45, Unit.DAY), today, allowed=ALLOWED, cutoff_days=5)
    assert (change.applies_from, change.after_next) == (2, False)
    assert [cycle_date(change.plan, n) for n in (1, 2, 3)] == [
        date(2027, 1, 10),
        date(2027, 2, 9),
        date(2027, 3, 26),
    ]


def test_a_change_after_the_cutoff_applies_from_the_delivery_after_next():
    plan = start_plan(date(2027, 1, 10), DAYS_30)
    today = date(2027, 2, 6)  # cycle 2 on Feb 9: 3 days away, the cutoff is 5
    change = change_interval(plan, Interval(60, Unit.DAY), today, allowed=ALLOWED, cutoff_days=5)
    assert (change.applies_from, change.after_next) == (3, True)
    assert [cycle_date(change.plan, n) for n in (2, 3, 4)] == [
        date(2027, 2, 9),
        date(2027, 3, 11),
        date(2027, 5, 10),
    ]
    moved = move_next(plan, date(2027, 3, 20), today, max_days=14, cutoff_days=5)
    assert (moved.applies_from, moved.after_next) == (3, True)
    assert cycle_date(moved.plan, 2) == date(2027, 2, 9)
    assert cycle_date(moved.plan, 4) == date(2027, 4, 19)


@pytest.mark.parametrize(
    ("action", "field", "code"),
    [
        (lambda p, t: skip(p, 1, t), "sequence", "already_ordered"),
        (lambda p, t: skip(p, 3, t, cutoff_days=60), "sequence", "past_cutoff"),
        (lambda p, t: unskip(p, 3, t), "sequence", "not_skipped"),
        (lambda p, t: move_next(p, date(2027, 1, 15), t, max_days=30), "date", "in_past"),
        (lambda p, t: move_next(p, date(2027, 6, 1), t, max_days=30), "date", "out_of_bounds"),
        (
            lambda p, t: change_interval(p, Interval(7, Unit.DAY), t, allowed=ALLOWED),
            "interval",
            "not_allowed",
        ),
        (lambda p, t: change_interval(p, DAYS_30, t, allowed=ALLOWED), "interval", "unchanged"),
        (lambda p, t: pause(p, date(2027, 1, 1), t), "start", "in_past"),
        (lambda p, t: resume(p, t), "subscription", "not_paused"),
    ],
)
def test_illegal_changes_are_refused_with_a_code_and_change_nothing(action, field, code):
    plan = start_plan(date(2027, 1, 10), DAYS_30)
    plan = type(plan)(segments=plan.segments, ordered_through=1)  # cycle 1 is an order
    today = date(2027, 1, 20)
    with pytest.raises(ScheduleError) as caught:
        action(plan, today)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert cycle_date(plan, 2) == date(2027, 2, 9)


def test_intervals_are_read_as_merchants_write_them():
    assert parse_interval("30 days") == DAYS_30
    assert parse_interval("2 Weeks") == Interval(2, Unit.WEEK)
    assert parse_interval("1 month") == MONTH
    assert str(Interval(45, Unit.DAY)) == "45 days"
    for bad in ("monthly", "0 days", "3 fortnights", ""):
        with pytest.raises(ScheduleError):
            parse_interval(bad)


def test_a_plan_survives_its_json_form():
    from saleor_crm_plugin.subscriptions.schedule import plan_from_json, plan_to_json

    plan = start_plan(date(2027, 1, 31), MONTH)
    plan = skip(plan, 2, date(2027, 1, 1)).plan
    plan = pause(plan, date(2027, 4, 1), date(2027, 1, 1)).plan
    plan = resume(plan, date(2027, 5, 1), on=date(2027, 5, 15)).plan
    assert plan_from_json(plan_to_json(plan)) == plan


def test_a_preferred_weekday_moves_each_computed_delivery_forward_to_that_day():
    from saleor_crm_plugin.subscriptions.schedule import set_weekday

    plan = start_plan(date(2027, 1, 4), MONTH)  # a Monday; cycle 1 ordered already
    plan = replace(plan, ordered_through=1)
    change = set_weekday(plan, 4, date(2027, 1, 10), cutoff_days=5)  # Fridays

    assert (change.applies_from, change.after_next) == (2, False)
    dates = [c.date for c in upcoming(change.plan, date(2027, 1, 10), 4)]
    assert dates == [date(2027, 2, 5), date(2027, 3, 5), date(2027, 4, 9), date(2027, 5, 7)]
    assert {d.weekday() for d in dates} == {4}
    # cleared again: back to the monthly rhythm from the (already Friday) next delivery on
    cleared = set_weekday(change.plan, None, date(2027, 1, 10), cutoff_days=5).plan
    assert [c.date for c in upcoming(cleared, date(2027, 1, 10), 3)] == [
        date(2027, 2, 5),
        date(2027, 3, 5),
        date(2027, 4, 5),
    ]


def test_a_weekday_past_the_cutoff_applies_from_the_delivery_after_next():
    from saleor_crm_plugin.subscriptions.schedule import set_weekday

    plan = replace(start_plan(date(2027, 1, 4), Interval(2, Unit.WEEK)), ordered_through=1)
    change = set_weekday(plan, 2, date(2027, 1, 16), cutoff_days=5)  # next: Jan 18, 2 days away

    assert (change.applies_from, change.after_next) == (3, True)
    assert [c.date for c in upcoming(change.plan, date(2027, 1, 16), 3)] == [
        date(2027, 1, 18),  # kept: inside the cutoff
        date(2027, 2, 3),  # a Wednesday, and every two weeks from it
        date(2027, 2, 17),
    ]


def test_a_weekday_is_refused_for_deliveries_less_than_a_week_apart():
    from saleor_crm_plugin.subscriptions.schedule import set_weekday

    with pytest.raises(ScheduleError) as refused:
        set_weekday(start_plan(date(2027, 1, 4), Interval(5, Unit.DAY)), 1, date(2027, 1, 1))
    assert (refused.value.field, refused.value.code) == ("weekday", "not_allowed")
    with pytest.raises(ScheduleError) as bad:
        set_weekday(start_plan(date(2027, 1, 4), MONTH), 7, date(2027, 1, 1))
    assert (bad.value.field, bad.value.code) == ("weekday", "invalid")


def test_the_plan_keeps_its_weekdays_in_json():
    from saleor_crm_plugin.subscriptions.schedule import plan_from_json, plan_to_json, set_weekday

    plan = set_weekday(start_plan(date(2027, 1, 4), MONTH), 5, date(2027, 1, 1)).plan
    assert plan_from_json(plan_to_json(plan)) == plan


def test_spreading_gives_each_subscription_a_fixed_minute_inside_the_window():
    from datetime import timedelta

    from saleor_crm_plugin.subscriptions.schedule import spread_offset

    assert spread_offset(123, 0) == timedelta(0)
    offsets = [spread_offset(key, 8) for key in range(1, 10_001)]
    assert all(timedelta(0) <= offset < timedelta(hours=8) for offset in offsets)
    assert spread_offset(77, 8) == spread_offset(77, 8)
    per_hour = [0] * 8
    for offset in offsets:
        per_hour[int(offset.total_seconds() // 3600)] += 1
    assert max(per_hour) - min(per_hour) <= 10  # 1,250 an hour, give or take a few


@pytest.mark.parametrize(
    ("interval", "per_month"),
    [
        (Interval(1, Unit.MONTH), "1"),
        (Interval(2, Unit.MONTH), "0.5"),
        (Interval(30, Unit.DAY), "1.014583"),
        (Interval(1, Unit.WEEK), "4.348214"),
    ],
)
def test_deliveries_per_month(interval, per_month):
    from decimal import Decimal

    assert round(interval.per_month, 6) == Decimal(per_month)


def test_a_metadata_offer_is_read_as_merchants_write_it():
    from saleor_crm_plugin.subscriptions.schedule import parse_offer

    assert parse_offer("30 days, 2 months, 30 days") == (DAYS_30, Interval(2, Unit.MONTH))
    assert parse_offer("") == ()
    with pytest.raises(ScheduleError) as bad:
        parse_offer("30 days, monthly")
    assert bad.value.field == "interval"

"""When a flow's step is sent: delay, the store's send window, the weekly cap."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.campaigns.schedule import send_at, spread, step_due, under_cap

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = (9 * 60, 20 * 60)  # 09:00-20:00


def _tokyo(*args):
    return datetime(*args, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (_tokyo(2026, 3, 3, 8, 15), _tokyo(2026, 3, 3, 9, 0)),
        (_tokyo(2026, 3, 3, 12, 30), _tokyo(2026, 3, 3, 12, 30)),
        (_tokyo(2026, 3, 3, 19, 59), _tokyo(2026, 3, 3, 19, 59)),
        (_tokyo(2026, 3, 3, 20, 0), _tokyo(2026, 3, 4, 9, 0)),
        (_tokyo(2026, 3, 31, 23, 10), _tokyo(2026, 4, 1, 9, 0)),
    ],
    ids=["before-opens", "inside", "last-minute", "closes", "month-end"],
)
def test_a_step_goes_out_when_the_window_of_the_stores_day_is_open(due, expected):
    assert send_at(due, TOKYO, WINDOW) == expected.astimezone(UTC)
    assert send_at(due, TOKYO, WINDOW).tzinfo == ZoneInfo("UTC")


def test_the_window_follows_summer_time():
    # 21:00 on Saturday 7 March 2026 in New York (EST, -5) is due; the next 09:00 is Sunday 8
    # March, the day summer time starts (EDT, -4): 13:00 UTC, not 14:00
    due = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)
    assert send_at(due, NEW_YORK, WINDOW) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_a_step_is_due_its_delay_after_the_customer_entered():
    entered = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert step_due(entered, 3) == datetime(2026, 1, 8, 10, 0, tzinfo=UTC)
    assert step_due(entered, 0) == entered


def test_the_weekly_cap_counts_the_last_seven_days_across_flows():
    now = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    sent = [now - timedelta(days=6, hours=23), now - timedelta(days=2), now - timedelta(days=8)]
    assert under_cap(sent, now, cap=3)  # two in the week: one more is the third
    assert not under_cap(sent, now, cap=2)
    assert under_cap([], now, cap=1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: send_at(datetime(2026, 1, 1), TOKYO, WINDOW), "due: needs a time zone"),  # noqa: DTZ001 (the naive time refused)
        (lambda: send_at(_tokyo(2026, 1, 1), TOKYO, (600, 540)), "window: (600, 540)"),
        (lambda: step_due(_tokyo(2026, 1, 1), -1), "delay_days: -1 is negative"),
        (lambda: under_cap([], _tokyo(2026, 1, 1), 0), "cap: 0 is not a number"),
    ],
    ids=["naive", "window-backwards", "negative-delay", "no-cap"],
)
def test_wrong_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_spread_moves_a_share_of_the_way_to_the_windows_end():
    opening = datetime(2026, 12, 7, 9, 0, tzinfo=TOKYO)  # 11 hours of window left
    assert spread(opening, TOKYO, WINDOW, 0.0) == opening.astimezone(UTC)
    assert spread(opening, TOKYO, WINDOW, 0.5) == datetime(2026, 12, 7, 14, 30, tzinfo=TOKYO)
    late = datetime(2026, 12, 7, 19, 0, tzinfo=TOKYO)  # an hour left
    assert spread(late, TOKYO, WINDOW, 0.25) == datetime(2026, 12, 7, 19, 15, tzinfo=TOKYO)
    assert spread(opening, TOKYO, (540, 1440), 0.5) == datetime(2026, 12, 7, 16, 30, tzinfo=TOKYO)


def test_spread_refuses_a_fraction_outside_the_unit_interval():
    with pytest.raises(ValueError, match="fraction"):
        spread(datetime(2026, 12, 7, 9, 0, tzinfo=TOKYO), TOKYO, WINDOW, 1.0)

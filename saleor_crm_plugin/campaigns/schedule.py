"""When a flow's step may be sent: its delay after the customer entered the flow, moved into the
store's send window (local time), and the frequency cap across flows. Pure (standard library).

Times are aware; the window is minutes of the local day in the store's zone, start included,
end excluded ("09:00-20:00" is (540, 1200), the `subscription-send-window` form), so a step due
at night goes out when the window next opens, in the zone's own offset that day (summer time
included).
"""

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["WEEK", "send_at", "spread", "step_due", "under_cap"]

WEEK = timedelta(days=7)


def step_due(entered_at: datetime, delay_days: int) -> datetime:
    """The moment a step `delay_days` after entering the flow falls due."""
    if entered_at.tzinfo is None:
        raise ValueError("entered_at: needs a time zone")
    if delay_days < 0:
        raise ValueError(f"delay_days: {delay_days} is negative")
    return entered_at + timedelta(days=delay_days)


def _local(day, minutes: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)


def send_at(due: datetime, zone: ZoneInfo, window: tuple[int, int]) -> datetime:
    """The first moment at or after `due` inside the daily send window, in UTC."""
    if due.tzinfo is None:
        raise ValueError("due: needs a time zone")
    start, end = window
    if not 0 <= start < end <= 24 * 60:
        raise ValueError(f"window: {window!r} is not minutes of a day, start before end")
    local = due.astimezone(zone)
    minutes = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    day = local.date()
    if minutes < start:
        moment = _local(day, start, zone)
    elif minutes < end:
        moment = local
    else:
        moment = _local(day + timedelta(days=1), start, zone)
    return moment.astimezone(ZoneInfo("UTC"))


def spread(moment: datetime, zone: ZoneInfo, window: tuple[int, int], fraction: float) -> datetime:
    """`moment` (inside the window, as `send_at` returns it) moved `fraction` (0 to less than
    1) of the way to the end of that day's window, in UTC: the sends falling due together
    (a segment entering at once, the mail held overnight) go out across the window instead of
    in one burst, each customer at a time fixed by their `fraction`."""
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction: {fraction!r} is not from 0 to less than 1")
    local = moment.astimezone(zone)
    end = _local(local.date(), window[1], zone) if window[1] < 24 * 60 else None
    if end is None:
        end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    remaining = max((end - local).total_seconds(), 0.0)
    return (local + timedelta(seconds=int(remaining * fraction))).astimezone(ZoneInfo("UTC"))


def under_cap(sent: Iterable[datetime], now: datetime, cap: int) -> bool:
    """Whether one more message keeps the customer within `cap` messages in the week before
    `now`, across every flow (`sent`: when their messages went out)."""
    if cap < 1:
        raise ValueError(f"cap: {cap} is not a number of messages of 1 or more")
    return sum(1 for at in sent if now - WEEK < at <= now) < cap

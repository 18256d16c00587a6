"""Delivery schedules of subscriptions (定期購入): pure date arithmetic, no Django, no Saleor.

A subscription's deliveries are numbered cycles (1, 2, 3, ...). Their dates come from
*segments*: a segment says "from cycle `first` on, deliveries are `interval` apart starting on
`anchor`". Cycle n of a segment falls on `anchor + (n - first) x interval`, counted from the
anchor every time, so monthly deliveries anchored on Jan 31 fall on Feb 28 (29 in a leap year),
then Mar 31 again, never drifting to the 28th. Changing the interval or moving the next delivery
starts a new segment at the cycle it first applies to; earlier cycles keep their dates.

A cycle can be *skipped* (it keeps its number and date, nothing is delivered) and a *pause*
covers a range of dates (open-ended until resumed): its cycles are not delivered. Resuming
starts a new segment on the resume date (or a date the customer chose), so the rhythm restarts
from there instead of catching up.

Changes near a delivery follow the store's cutoff (締切): a change made fewer than
`cutoff_days` days before the next delivery applies from the delivery after it (次々回), and
the answer says so. Cycles already turned into orders (`ordered_through`) never change.

A preferred weekday moves each computed delivery forward to the next such weekday (0-6 days
later), from the cycle the preference was set for on; dates chosen explicitly (a moved next
delivery, a resume date) are kept as chosen, and intervals shorter than a week ignore it (they
would fold two deliveries onto one day).

Dates are the store's local dates; `renewal_at` turns a delivery date into the aware UTC time
its renewal order is due (a lead time before it, at a local hour).
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from ..dates import add_months
from ..errors import FieldError

__all__ = [
    "DEFAULT_PLANS_TEXT",
    "OFFER_KEY",
    "Change",
    "Cycle",
    "CycleState",
    "Interval",
    "Pause",
    "Plan",
    "ScheduleError",
    "Segment",
    "Unit",
    "Weekday",
    "change_interval",
    "cycle_date",
    "first_changeable",
    "move_next",
    "parse_interval",
    "parse_offer",
    "parse_plans",
    "pause",
    "plan_from_json",
    "plan_to_json",
    "renewal_at",
    "resume",
    "set_weekday",
    "skip",
    "spread_offset",
    "start_plan",
    "unskip",
    "upcoming",
]

# Cycles looked at before giving up on finding the next delivery (a pause of decades).
_HORIZON = 10_000


class ScheduleError(FieldError):
    """A schedule change is not allowed: `field` names the input, `code` says why."""

    def __init__(self, field: str, code: str, message: str):
        super().__init__(field, message)
        self.code = code


class Unit(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Interval:
    count: int
    unit: Unit

    def __post_init__(self):
        if (
            not isinstance(self.count, int)
            or isinstance(self.count, bool)
            or not (1 <= self.count <= 366)
        ):
            raise ScheduleError("interval", "invalid", f"{self.count!r} is not 1 to 366")

    def after(self, anchor: date, steps: int) -> date:
        """The date `steps` intervals after `anchor`, counted from the anchor."""
        if self.unit is Unit.DAY:
            return anchor + timedelta(days=self.count * steps)
        if self.unit is Unit.WEEK:
            return anchor + timedelta(weeks=self.count * steps)
        return add_months(anchor, self.count * steps)

    def __str__(self) -> str:
        return f"{self.count} {self.unit.value}{'s' if self.count != 1 else ''}"

    @property
    def per_month(self) -> Decimal:
        """Deliveries in an average month (365.25 / 12 days): 1 month -> 1, 30 days -> 1.01."""
        if self.unit is Unit.MONTH:
            return Decimal(1) / self.count
        days = self.count * (7 if self.unit is Unit.WEEK else 1)
        return Decimal("365.25") / 12 / days


def parse_interval(text: str) -> Interval:
    """`30 days`, `2 weeks`, `1 month` (singular or plural)."""
    words = str(text or "").strip().lower().split()
    if len(words) == 2 and words[0].isdigit():
        unit = words[1].rstrip("s")
        for candidate in Unit:
            if candidate.value == unit:
                return Interval(int(words[0]), candidate)
    raise ScheduleError(
        "interval",
        "invalid",
        f"'{text}' is not an interval such as '30 days', '2 weeks', '1 month'",
    )


@dataclass(frozen=True)
class Segment:
    first: int  # the first cycle it dates
    anchor: date  # that cycle's date
    interval: Interval


@dataclass(frozen=True)
class Pause:
    start: date  # deliveries on or after this day are paused
    end: date | None = None  # ... until this day (excluded); None: until resumed


class CycleState(Enum):
    DUE = "due"
    SKIPPED = "skipped"
    PAUSED = "paused"


@dataclass(frozen=True)
class Cycle:
    sequence: int
    date: date
    state: CycleState


@dataclass(frozen=True)
class Weekday:
    first: int  # from this cycle on
    day: int | None  # 0 = Monday ... 6 = Sunday; None: no preference any more


@dataclass(frozen=True)
class Plan:
    segments: tuple[Segment, ...]
    skipped: frozenset[int] = frozenset()
    pauses: tuple[Pause, ...] = ()
    ordered_through: int = 0  # cycles up to this one are orders already: they never change
    weekdays: tuple[Weekday, ...] = ()  # preferred delivery weekdays, by the cycle they start

    def weekday_for(self, sequence: int) -> int | None:
        day = None
        for preference in self.weekdays:
            if preference.first <= sequence:
                day = preference.day
        return day

    def segment_for(self, sequence: int) -> Segment:
        chosen = self.segments[0]
        for segment in self.segments:
            if segment.first <= sequence:
                chosen = segment
        return chosen

    @property
    def interval(self) -> Interval:
        return self.segments[-1].interval

    @property
    def open_pause(self) -> Pause | None:
        return next((p for p in self.pauses if p.end is None), None)


@dataclass(frozen=True)
class Change:
    """A schedule change's result: the new plan, and from which cycle it applies."""

    plan: Plan
    applies_from: int  # the cycle it first changes
    after_next: bool = False  # True: past the cutoff, so not the next delivery (次々回)


def start_plan(first_delivery: date, interval: Interval) -> Plan:
    return Plan(segments=(Segment(1, first_delivery, interval),))


def cycle_date(plan: Plan, sequence: int) -> date:
    if sequence < 1:
        raise ScheduleError("sequence", "invalid", f"cycles start at 1, not {sequence}")
    segment = plan.segment_for(sequence)
    day = segment.interval.after(segment.anchor, sequence - segment.first)
    weekday = plan.weekday_for(sequence)
    if weekday is not None and sequence != segment.first and _weekly_or_longer(segment.interval):
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return day


def _weekly_or_longer(interval: Interval) -> bool:
    return interval.unit is not Unit.DAY or interval.count >= 7


def _state(plan: Plan, sequence: int, day: date) -> CycleState:
    if sequence in plan.skipped:
        return CycleState.SKIPPED
    for hold in plan.pauses:
        if hold.start <= day and (hold.end is None or day < hold.end):
            return CycleState.PAUSED
    return CycleState.DUE


def upcoming(plan: Plan, after: date, count: int = 5) -> list[Cycle]:
    """The next `count` cycles dated on or after `after`, with what happens to each.

    An open-ended pause hides every cycle after its start (nothing is scheduled until resumed).
    """
    cycles, sequence = [], plan.ordered_through + 1
    hold = plan.open_pause
    while len(cycles) < count and sequence < plan.ordered_through + _HORIZON:
        day = cycle_date(plan, sequence)
        if hold is not None and day >= hold.start:
            break
        if day >= after:
            cycles.append(Cycle(sequence, day, _state(plan, sequence, day)))
        sequence += 1
    return cycles


def _next_due(plan: Plan, today: date) -> Cycle | None:
    return next((c for c in upcoming(plan, today, 50) if c.state is CycleState.DUE), None)


def first_changeable(plan: Plan, today: date, cutoff_days: int) -> tuple[int, bool]:
    """The first cycle a change made today may touch, and whether that skips the next one."""
    cycles = upcoming(plan, today, 2)
    if not cycles:
        return plan.ordered_through + 1, False
    first = cycles[0]
    if (first.date - today).days < cutoff_days:
        return first.sequence + 1, True
    return first.sequence, False


def _not_ordered(plan: Plan, sequence: int, field: str) -> None:
    if sequence <= plan.ordered_through:
        raise ScheduleError(
            field, "already_ordered", f"cycle {sequence} is an order already; it cannot change"
        )


def skip(plan: Plan, sequence: int, today: date, cutoff_days: int = 0) -> Change:
    """Skip one delivery. Past the cutoff the next delivery cannot be skipped any more."""
    _not_ordered(plan, sequence, "sequence")
    day = cycle_date(plan, sequence)
    if day < today:
        raise ScheduleError("sequence", "in_past", f"cycle {sequence} was due on {day}")
    if (day - today).days < cutoff_days:
        raise ScheduleError(
            "sequence",
            "past_cutoff",
            f"cycle {sequence} on {day} is within the {cutoff_days}-day change cutoff",
        )
    if sequence in plan.skipped:
        raise ScheduleError("sequence", "already_skipped", f"cycle {sequence} is skipped already")
    return Change(replace(plan, skipped=plan.skipped | {sequence}), sequence)


def unskip(plan: Plan, sequence: int, today: date, cutoff_days: int = 0) -> Change:
    _not_ordered(plan, sequence, "sequence")
    if sequence not in plan.skipped:
        raise ScheduleError("sequence", "not_skipped", f"cycle {sequence} is not skipped")
    day = cycle_date(plan, sequence)
    if day < today or (day - today).days < cutoff_days:
        raise ScheduleError(
            "sequence", "past_cutoff", f"cycle {sequence} on {day} is too close to change"
        )
    return Change(replace(plan, skipped=plan.skipped - {sequence}), sequence)


def change_interval(
    plan: Plan,
    interval: Interval,
    today: date,
    *,
    allowed: tuple[Interval, ...],
    cutoff_days: int = 0,
) -> Change:
    """Deliver every `interval` from the next changeable delivery on (keeping its date).

    The next changeable delivery keeps its date, and the ones after it follow the new interval.
    """
    if interval not in allowed:
        offered = ", ".join(str(choice) for choice in allowed) or "none"
        raise ScheduleError(
            "interval", "not_allowed", f"{interval} is not offered (offered: {offered})"
        )
    if interval == plan.interval:
        raise ScheduleError("interval", "unchanged", f"the interval is {interval} already")
    sequence, after_next = first_changeable(plan, today, cutoff_days)
    anchor = cycle_date(plan, sequence)
    segments = tuple(s for s in plan.segments if s.first < sequence)
    return Change(
        replace(plan, segments=(*segments, Segment(sequence, anchor, interval))),
        sequence,
        after_next,
    )


def move_next(
    plan: Plan,
    new_date: date,
    today: date,
    *,
    max_days: int,
    cutoff_days: int = 0,
) -> Change:
    """Move the next changeable delivery to `new_date`; later ones follow from it.

    Not into the past (nor today), and at most `max_days` from where it was.
    """
    if new_date <= today:
        raise ScheduleError("date", "in_past", f"{new_date} is not after today ({today})")
    sequence, after_next = first_changeable(plan, today, cutoff_days)
    current = cycle_date(plan, sequence)
    if abs((new_date - current).days) > max_days:
        raise ScheduleError(
            "date",
            "out_of_bounds",
            f"{new_date} is more than {max_days} days from the delivery on {current}",
        )
    if sequence > 1 and new_date <= cycle_date(plan, sequence - 1):
        raise ScheduleError(
            "date", "out_of_bounds", f"{new_date} is not after the delivery before it"
        )
    segments = tuple(s for s in plan.segments if s.first < sequence)
    return Change(
        replace(plan, segments=(*segments, Segment(sequence, new_date, plan.interval))),
        sequence,
        after_next,
    )


def pause(plan: Plan, start: date, today: date, until: date | None = None) -> Change:
    """Pause deliveries from `start` (not before today).

    With `until`, the cycles dated in [start, until) are not delivered and the rhythm goes on
    as before (a holiday). Without, nothing is scheduled until `resume`.
    """
    if plan.open_pause is not None:
        raise ScheduleError("start", "already_paused", "the subscription is paused already")
    if start < today:
        raise ScheduleError("start", "in_past", f"{start} is before today ({today})")
    if until is not None and until <= start:
        raise ScheduleError("until", "invalid", f"{until} is not after the pause's start {start}")
    first = next((c.sequence for c in upcoming(plan, start, 1)), plan.ordered_through + 1)
    _not_ordered(plan, first, "start")
    return Change(replace(plan, pauses=(*plan.pauses, Pause(start, until))), first)


def resume(plan: Plan, today: date, on: date | None = None) -> Change:
    """End the open pause: the next delivery is on `on` (default: one interval from today),
    and the rhythm restarts from there instead of catching up."""
    hold = plan.open_pause
    if hold is None:
        raise ScheduleError("subscription", "not_paused", "the subscription is not paused")
    when = on or plan.interval.after(today, 1)
    if when <= today:
        raise ScheduleError("date", "in_past", f"{when} is not after today ({today})")
    first = plan.ordered_through + 1
    while cycle_date(plan, first) < hold.start:
        first += 1
    pauses = tuple(Pause(p.start, when) if p is hold else p for p in plan.pauses)
    segments = tuple(s for s in plan.segments if s.first < first)
    resumed = replace(
        plan, pauses=pauses, segments=(*segments, Segment(first, when, plan.interval))
    )
    return Change(resumed, first)


def set_weekday(plan: Plan, weekday: int | None, today: date, cutoff_days: int = 0) -> Change:
    """Deliver on `weekday` (None: any day) from the next changeable delivery on: that delivery
    moves forward to the weekday too, and the rhythm goes on from it."""
    if weekday is not None and not (isinstance(weekday, int) and 0 <= weekday <= 6):
        raise ScheduleError("weekday", "invalid", f"must be 0 (Monday) to 6, not {weekday!r}")
    if weekday is not None and not _weekly_or_longer(plan.interval):
        raise ScheduleError(
            "weekday", "not_allowed", f"deliveries every {plan.interval} cannot keep a weekday"
        )
    sequence, after_next = first_changeable(plan, today, cutoff_days)
    weekdays = (*(w for w in plan.weekdays if w.first < sequence), Weekday(sequence, weekday))
    changed = replace(plan, weekdays=weekdays)
    anchor = cycle_date(plan, sequence)
    if weekday is not None:
        anchor += timedelta(days=(weekday - anchor.weekday()) % 7)
    segments = tuple(s for s in plan.segments if s.first < sequence)
    changed = replace(changed, segments=(*segments, Segment(sequence, anchor, plan.interval)))
    return Change(changed, sequence, after_next)


def spread_offset(key: int, hours: int) -> timedelta:
    """A subscription's fixed place in a window of `hours` (whole minutes): consecutive keys
    fall far apart (the golden-ratio sequence), so any day's renewals spread evenly."""
    if hours <= 0:
        return timedelta(0)
    fraction = (key * 0.6180339887498949) % 1.0
    return timedelta(minutes=int(fraction * hours * 60))


def renewal_at(delivery: date, lead_days: int, zone: ZoneInfo, hour: int = 9) -> datetime:
    """When the renewal order of a delivery is due: `lead_days` before it, at `hour` local."""
    if not 0 <= hour <= 23:
        raise ScheduleError("hour", "invalid", f"{hour} is not an hour of the day (0-23)")
    local = datetime.combine(delivery - timedelta(days=lead_days), time(hour), tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC"))


# --- the plan as JSON (how it is stored) ------------------------------------------------------


def plan_to_json(plan: Plan) -> dict:
    return {
        "segments": [
            {
                "first": s.first,
                "anchor": s.anchor.isoformat(),
                "count": s.interval.count,
                "unit": s.interval.unit.value,
            }
            for s in plan.segments
        ],
        "skipped": sorted(plan.skipped),
        "pauses": [
            {"start": p.start.isoformat(), "end": p.end.isoformat() if p.end else None}
            for p in plan.pauses
        ],
        "ordered_through": plan.ordered_through,
        "weekdays": [{"first": w.first, "day": w.day} for w in plan.weekdays],
    }


def plan_from_json(data: dict) -> Plan:
    return Plan(
        segments=tuple(
            Segment(
                s["first"],
                date.fromisoformat(s["anchor"]),
                Interval(s["count"], Unit(s["unit"])),
            )
            for s in data["segments"]
        ),
        skipped=frozenset(data.get("skipped", ())),
        pauses=tuple(
            Pause(
                date.fromisoformat(p["start"]), date.fromisoformat(p["end"]) if p["end"] else None
            )
            for p in data.get("pauses", ())
        ),
        ordered_through=data.get("ordered_through", 0),
        weekdays=tuple(Weekday(w["first"], w["day"]) for w in data.get("weekdays", ())),
    )


# --- what the store offers (the `subscription-plans` setting, product metadata) ---------------

OFFER_KEY = "crm.subscription_intervals"  # product or variant metadata: "30 days, 60 days"


def parse_offer(text: str) -> tuple[Interval, ...]:
    """A metadata value's intervals ('30 days, 2 months'); ScheduleError names the bad one."""
    intervals = []
    for part in str(text or "").split(","):
        if part.strip():
            interval = parse_interval(part)
            if interval not in intervals:
                intervals.append(interval)
    return tuple(intervals)


DEFAULT_PLANS_TEXT = (
    "# variant id or SKU: the intervals offered\n# COFFEE-1KG: 30 days, 45 days, 60 days"
)


def parse_plans(text: str) -> dict[str, tuple[Interval, ...]]:
    """One variant (Saleor's variant ID or its SKU) a line: `COFFEE-1KG: 30 days, 2 months`."""
    plans: dict[str, tuple[Interval, ...]] = {}
    for number, raw in enumerate(str(text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        variant, colon, rest = line.partition(":")
        variant = variant.strip()
        if not colon or not variant or not rest.strip():
            raise ValueError(f"line {number}: write it as 'COFFEE-1KG: 30 days, 45 days'")
        if variant in plans:
            raise ValueError(f"line {number}: {variant} has intervals on an earlier line")
        intervals = []
        for part in rest.split(","):
            try:
                interval = parse_interval(part)
            except ScheduleError as error:
                raise ValueError(f"line {number} ({variant}): {error.message}") from None
            if interval in intervals:
                raise ValueError(f"line {number} ({variant}): {interval} is listed twice")
            intervals.append(interval)
        plans[variant] = tuple(intervals)
    return plans

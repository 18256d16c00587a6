"""Points reports for the law and the accountant, replayed from the ledger. Pure: no Django.

- Paid points (有償ポイント) are a prepaid payment instrument under the Payment Services Act
  (資金決済法): on each base date (March 31 and September 30, end of day in the store's time
  zone) the issuer reports the unused balance, valued at what the customers paid for it, and
  must notify once it exceeds 10,000,000 JPY. `paid_base_dates` gives that balance per
  currency, with the amount issued in the half-year up to the base date.
- Free points (無償ポイント) are a liability the accountant follows month by month:
  `free_point_months` gives, per month and currency, the outstanding points at the start,
  those issued, used, expired (breakage) and reversed in the month, and the outstanding points
  at its end; closing = opening + issued - used - expired - reversed.

Free points are stored: a nightly computation runs `free_point_months` over every month of
the ledger, in chunks of customers that `add_free_months` sums (each figure is a sum over
customers), and a request reads a range of the stored months with `free_months_between`.

Both read each customer's entries (`History`) through `lots.Ledger`, so they are what the
ledger says: spending takes the oldest lots first whatever their funding, so a redemption may
use free and paid points together, and each report counts only its own lots.

Outstanding points are the points left in lots (usable, pending, or expired but not yet written
off by the expiry run), as `PointsAccount.remaining`; points owed (debt) are not outstanding.
The movements of a lot's points: *issued* (the lot's points when it is created), *used* (taken
by a redemption), *expired* (by an expiry entry), *reversed* (taken back: by a refund or
cancellation of its order, by a staff deduction, or at its creation to repay points owed).
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..money import quantize_amount
from .lots import FREE, PAID, Entry, Kind, Ledger, Lot

__all__ = [
    "NOTIFICATION_THRESHOLD_JPY",
    "BaseDate",
    "FreeMonth",
    "History",
    "PaidBaseDate",
    "add_free_months",
    "base_dates",
    "free_months_between",
    "free_point_months",
    "month_starts",
    "paid_base_dates",
    "paid_value",
]

# The Payment Services Act's threshold: an issuer notifies once the unused balance on a base
# date exceeds it (in yen).
NOTIFICATION_THRESHOLD_JPY = Decimal(10_000_000)


@dataclass(frozen=True)
class History:
    """One customer's entries (any order: they are replayed by `Entry.position`) and the
    currency of each lot, by the key of the entry that created it ("" : none known)."""

    entries: Sequence[Entry]
    currencies: Mapping[str, str]


@dataclass(frozen=True)
class BaseDate:
    """A base date and the moment its day ends in the store's time zone (exclusive), with
    the start of the half-year that ends with it."""

    day: date
    end: datetime
    half_year_start: datetime


@dataclass(frozen=True)
class PaidBaseDate:
    base_date: date
    currency: str
    points: int  # paid points unused at the end of the base date
    amount: Decimal  # what was paid for them (pro rata per lot)
    issued_points: int  # paid points issued in the half-year up to the base date
    issued_amount: Decimal
    exceeds_threshold: bool | None  # JPY: over 10,000,000; None in other currencies


@dataclass(frozen=True)
class FreeMonth:
    month: date  # its first day
    currency: str
    opening: int
    issued: int
    used: int
    expired: int
    reversed: int
    closing: int


def base_dates(first_year: int, last_year: int, zone: ZoneInfo) -> list[BaseDate]:
    """March 31 and September 30 of each year from `first_year` to `last_year`, in order.

    Parameters
    ----------
    first_year, last_year : int
        The years, both included.
    zone : ZoneInfo
        The store's time zone: a base date ends at midnight there.

    Returns
    -------
    list of BaseDate
    """
    result = []
    for year in range(first_year, last_year + 1):
        result.append(
            BaseDate(
                date(year, 3, 31),
                datetime(year, 4, 1, tzinfo=zone),
                datetime(year - 1, 10, 1, tzinfo=zone),
            )
        )
        result.append(
            BaseDate(
                date(year, 9, 30),
                datetime(year, 10, 1, tzinfo=zone),
                datetime(year, 4, 1, tzinfo=zone),
            )
        )
    return result


def month_starts(first: date, last: date, zone: ZoneInfo) -> list[datetime]:
    """The starts of the months from `first`'s to `last`'s (store time), then the end of the
    last one: the bounds `free_point_months` takes."""
    starts = []
    year, month = first.year, first.month
    while True:
        starts.append(datetime(year, month, 1, tzinfo=zone))
        if (year, month) > (last.year, last.month):
            return starts
        year, month = year + month // 12, month % 12 + 1


def paid_value(lot: Lot, currency: str) -> Decimal:
    """What was paid for the points left in a paid lot: its price pro rata, rounded half up
    to the currency's minor unit."""
    if not lot.remaining:
        return quantize_amount(Decimal(0), currency)
    return quantize_amount(lot.paid_amount * lot.remaining / lot.points, currency)


def _replay(history: History, ends: Sequence[datetime], allow_negative: bool):
    """Replay the history up to the last of `ends` (sorted, exclusive): yield ("entry",
    entry, ledger) after applying each entry (`ledger.changed` holds the lots it touched) and
    ("end", index, ledger) when the replay reaches `ends[index]`."""
    ends = [end.astimezone(UTC) for end in ends]  # compared to UTC times: no zone lookups
    ledger = Ledger(allow_negative=allow_negative)
    position = 0
    for entry in sorted(history.entries, key=lambda e: e.position):
        while position < len(ends) and entry.at >= ends[position]:
            yield "end", position, ledger
            position += 1
        if position == len(ends):
            return
        ledger.changed.clear()
        ledger.apply(entry)
        yield "entry", entry, ledger
    while position < len(ends):
        yield "end", position, ledger
        position += 1


def paid_base_dates(
    histories: Iterable[History], dates: Sequence[BaseDate], allow_negative: bool = True
) -> list[PaidBaseDate]:
    """The unused paid points on each base date, valued at what was paid for them, per
    currency, with what was issued in the half-year up to it.

    Parameters
    ----------
    histories : iterable of History
        The customers' entries; customers without paid points change nothing.
    dates : sequence of BaseDate
        In order (`base_dates`).
    allow_negative : bool
        The store's setting (points taken back after being spent become owed, or are lost).

    Returns
    -------
    list of PaidBaseDate
        A row per base date and currency any paid lot was issued in, by date then currency.
        The amount is the sum over lots of their rounded pro rata value (`paid_value`).
    """
    ends = [base.end for base in dates]
    points: dict[tuple[int, str], int] = defaultdict(int)
    amounts: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    issued_points: dict[tuple[int, str], int] = defaultdict(int)
    issued_amounts: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    currencies: set[str] = set()
    for history in histories:
        for kind, what, ledger in _replay(history, ends, allow_negative):
            if kind == "end":
                for lot in ledger.earned:
                    if lot.funding != PAID or not lot.remaining:
                        continue
                    if lot.expires_at is not None and lot.expires_at <= ends[what]:
                        continue  # expired: no longer usable, whether written off or not
                    currency = history.currencies.get(lot.key, "")
                    points[what, currency] += lot.remaining
                    amounts[what, currency] += paid_value(lot, currency)
            elif what.funding == PAID:
                currency = history.currencies.get(what.key, "")
                currencies.add(currency)
                for index, base in enumerate(dates):
                    if base.half_year_start <= what.at < base.end:
                        issued_points[index, currency] += what.points
                        issued_amounts[index, currency] += what.paid_amount
    rows = []
    for index, base in enumerate(dates):
        for currency in sorted(currencies):
            key = (index, currency)
            amount = quantize_amount(amounts[key], currency)
            rows.append(
                PaidBaseDate(
                    base.day,
                    currency,
                    points[key],
                    amount,
                    issued_points[key],
                    quantize_amount(issued_amounts[key], currency),
                    amount > NOTIFICATION_THRESHOLD_JPY if currency == "JPY" else None,
                )
            )
    return rows


_FLOW = {Kind.REDEEM: "used", Kind.EXPIRE: "expired", Kind.REVERSE: "reversed"}


def free_point_months(
    histories: Iterable[History], starts: Sequence[datetime], allow_negative: bool = True
) -> list[FreeMonth]:
    """Free points per month and currency: outstanding at the start and the end, and what
    was issued, used, expired and reversed in between.

    Parameters
    ----------
    histories : iterable of History
    starts : sequence of datetime
        The months' starts and the end of the last one (`month_starts`), in the store's
        time zone.
    allow_negative : bool
        The store's setting.

    Returns
    -------
    list of FreeMonth
        A row per month and currency with free points outstanding or moving at any time up
        to the last month's end, by month then currency.
    """
    months = len(starts) - 1
    bounds = [start.astimezone(UTC) for start in starts]  # fast to compare with UTC times
    opening: dict[str, int] = defaultdict(int)  # outstanding at the first month's start
    flows: dict[tuple[int, str], dict[str, int]] = defaultdict(
        lambda: {"issued": 0, "used": 0, "expired": 0, "reversed": 0}
    )
    currencies: set[str] = set()
    end = starts[-1]
    for history in histories:
        left: dict[str, int] = {}  # points left in each free lot, as last seen
        for kind, what, ledger in _replay(history, [end], allow_negative):
            if kind == "end":
                break
            for lot in ledger.changed.values():
                if lot.funding != FREE:
                    continue
                currency = history.currencies.get(lot.key, "")
                currencies.add(currency)
                month = bisect_right(bounds, what.at) - 1  # -1: before the first month
                before = left.get(lot.key)
                if before is None:  # created by this entry
                    moves = {"issued": lot.points, "reversed": lot.points - lot.remaining}
                else:
                    flow = _FLOW.get(what.kind, "reversed")  # a staff deduction: reversed
                    moves = {flow: before - lot.remaining}
                left[lot.key] = lot.remaining
                if month < 0:
                    opening[currency] += moves.get("issued", 0) - sum(
                        points for name, points in moves.items() if name != "issued"
                    )
                else:
                    row = flows[month, currency]
                    for name, points in moves.items():
                        row[name] += points
    rows = []
    for currency in sorted(currencies):
        outstanding = opening[currency]
        for month in range(months):
            row = flows.get((month, currency)) or {
                "issued": 0,
                "used": 0,
                "expired": 0,
                "reversed": 0,
            }
            closing = outstanding + row["issued"] - row["used"] - row["expired"] - row["reversed"]
            rows.append(
                FreeMonth(
                    starts[month].date(),
                    currency,
                    outstanding,
                    row["issued"],
                    row["used"],
                    row["expired"],
                    row["reversed"],
                    closing,
                )
            )
            outstanding = closing
    rows.sort(key=lambda row: (row.month, row.currency))
    return rows


_FIGURES = ("opening", "issued", "used", "expired", "reversed", "closing")


def add_free_months(parts: Iterable[Iterable[FreeMonth]]) -> list[FreeMonth]:
    """The free points months of several sets of customers together (each part a
    `free_point_months` over the same months): every figure summed per month and currency.

    Parameters
    ----------
    parts : iterable of iterables of FreeMonth
        One per set of customers (a chunk); a currency a part has no row in adds nothing.

    Returns
    -------
    list of FreeMonth
        By month then currency, as `free_point_months` orders them.
    """
    totals: dict[tuple[date, str], list[int]] = {}
    for part in parts:
        for row in part:
            figures = totals.setdefault((row.month, row.currency), [0] * len(_FIGURES))
            for index, name in enumerate(_FIGURES):
                figures[index] += getattr(row, name)
    return [
        FreeMonth(month, currency, *figures)
        for (month, currency), figures in sorted(totals.items())
    ]


def free_months_between(stored: Sequence[FreeMonth], first: date, last: date) -> list[FreeMonth]:
    """The rows of the months `first` to `last` (first days, both included) out of `stored`,
    every month of the ledger from its first one: what `free_point_months` gives for that
    range alone.

    A currency is shown once it has moved (points outstanding or moving) by the end of `last`;
    a month before the first stored one has nothing outstanding or moving. `last` must not
    be after the last stored month.

    Parameters
    ----------
    stored : sequence of FreeMonth
        Consecutive months per currency (`free_point_months` or `add_free_months`).
    first, last : date
        The first days of the first and last months asked for.

    Returns
    -------
    list of FreeMonth
        By month then currency.
    """
    if stored and last > max(row.month for row in stored):
        raise ValueError(f"{last:%Y-%m} is after the last stored month")
    by_key = {(row.month, row.currency): row for row in stored}
    shown = sorted(
        {
            row.currency
            for row in stored
            if row.month <= last and any(getattr(row, name) for name in _FIGURES)
        }
    )
    months = [start.date() for start in month_starts(first, last, UTC)[:-1]]
    rows = []
    for month in months:
        for currency in shown:
            row = by_key.get((month, currency))
            rows.append(row if row is not None else FreeMonth(month, currency, 0, 0, 0, 0, 0, 0))
    return rows

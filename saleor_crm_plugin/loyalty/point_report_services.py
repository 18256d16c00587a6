"""The points reports read from the ledger on PostgreSQL (`loyalty.point_reports` computes).

The entries are streamed in replay order, customer by customer, through a server-side cursor,
so the replay holds one customer's history at a time. The paid points report reads only the
customers with paid points (the partial index `points_entry_paid`); the free points report
reads every entry up to the end of its last month.

Every lot is valued in a currency: its own, else the customer's only one, else the store's
default (`services.LOT_CURRENCY`, as the outstanding-points table).
"""

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import groupby

from django.db import connection, transaction

from ..conf import CRMConfig
from ..errors import FieldError
from ..segments.export import csv_table
from .lots import Entry, Kind
from .models import PointsAccount, PointsEntry
from .point_reports import (
    FreeMonth,
    History,
    PaidBaseDate,
    base_dates,
    free_point_months,
    month_starts,
    paid_base_dates,
)
from .services import lot_currency_sql

__all__ = [
    "FREE_COLUMNS",
    "PAID_COLUMNS",
    "free_points_csv",
    "free_points_report",
    "paid_points_csv",
    "paid_points_report",
    "parse_month",
]

MAX_YEARS = 20
MAX_MONTHS = 120
FETCH = 10_000

_ENTRIES = """
SELECT e.account_id, e.key, e.kind, e.points, {at}, e.lot, {available_at}, {expires_at}, e.held,
       e.funding, e.paid_amount, {currency}
FROM {entries} e JOIN {accounts} a ON a.id = e.account_id
WHERE e.at < %s {only_paid}
ORDER BY e.account_id, e.at, e.key
"""
_ONLY_PAID = "AND e.account_id IN (SELECT p.account_id FROM {entries} p WHERE p.funding = 'paid')"


# Times as whole microseconds since 1970 (UTC): turned into datetimes by arithmetic, several
# times faster than parsing their text (three a row, millions of rows).
_MICROSECONDS = "(extract(epoch FROM {column}) * 1000000)::bigint"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(microseconds: int | None) -> datetime | None:
    return None if microseconds is None else _EPOCH + timedelta(microseconds=microseconds)


def history_sql(only_paid: bool) -> str:
    """The entries in replay order, customer by customer; parameters: the store's default
    currency, the end (exclusive)."""
    entries = PointsEntry._meta.db_table
    return _ENTRIES.format(
        at=_MICROSECONDS.format(column="e.at"),
        available_at=_MICROSECONDS.format(column="e.available_at"),
        expires_at=_MICROSECONDS.format(column="e.expires_at"),
        currency=lot_currency_sql("e"),
        entries=entries,
        accounts=PointsAccount._meta.db_table,
        only_paid=_ONLY_PAID.format(entries=entries) if only_paid else "",
    )


def _histories(end: datetime, default_currency: str, only_paid: bool) -> Iterator[History]:
    """Each customer's entries before `end` with the currency of each of their lots."""
    sql = history_sql(only_paid)
    with transaction.atomic():  # a server-side cursor lives in a transaction
        if connection.vendor == "postgresql":
            # The whole result is read: plan for it, and skip JIT (the per-row currency
            # subquery makes the estimate look dear, but it runs only for rows without one).
            with connection.cursor() as settings:
                settings.execute("SET LOCAL jit = off")
                settings.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, [default_currency, end])
            rows = (row for chunk in iter(lambda: cursor.fetchmany(FETCH), []) for row in chunk)
            for _account, group in groupby(rows, key=lambda row: row[0]):
                history, currencies = [], {}
                for (
                    _,
                    key,
                    kind,
                    points,
                    at,
                    lot,
                    available_at,
                    expires_at,
                    held,
                    funding,
                    paid_amount,
                    currency,
                ) in group:
                    history.append(
                        Entry(
                            key,
                            Kind(kind),
                            points,
                            _moment(at),
                            lot=lot,
                            available_at=_moment(available_at),
                            expires_at=_moment(expires_at),
                            held=held,
                            funding=funding,
                            paid_amount=paid_amount,
                        )
                    )
                    if points > 0:
                        currencies[key] = currency
                yield History(history, currencies)
        finally:
            cursor.close()


def _year(field: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 2000 <= value <= 2100:
        raise FieldError(field, f"must be a year from 2000 to 2100, not {value!r}")
    return value


def paid_points_report(config: CRMConfig, from_year: int, to_year: int) -> list[PaidBaseDate]:
    """The Payment Services Act base-date report: unused paid points on March 31 and
    September 30 of each year from `from_year` to `to_year`, per currency."""
    first, last = _year("fromYear", from_year), _year("toYear", to_year)
    if first > last:
        raise FieldError("toYear", f"{last} is before fromYear {first}")
    if last - first + 1 > MAX_YEARS:
        raise FieldError("toYear", f"at most {MAX_YEARS} years at a time")
    dates = base_dates(first, last, config.zone)
    histories = _histories(dates[-1].end, config.loyalty.default_currency, only_paid=True)
    return paid_base_dates(histories, dates, config.loyalty.allow_negative)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(field: str, value) -> date:
    """`YYYY-MM` as the month's first day; FieldError naming `field` otherwise."""
    found = _MONTH.match(value) if isinstance(value, str) else None
    if found is None or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
        raise FieldError(field, f"{value!r} is not a month as YYYY-MM (2000 to 2100)")
    return date(int(found[1]), int(found[2]), 1)


def free_points_report(config: CRMConfig, from_month: str, to_month: str) -> list[FreeMonth]:
    """Free points per month (store time) and currency, from `from_month` to `to_month`
    (`YYYY-MM`, both included): opening, issued, used, expired, reversed, closing."""
    first, last = parse_month("fromMonth", from_month), parse_month("toMonth", to_month)
    if first > last:
        raise FieldError("toMonth", f"{to_month} is before fromMonth {from_month}")
    if (last.year - first.year) * 12 + last.month - first.month + 1 > MAX_MONTHS:
        raise FieldError("toMonth", f"at most {MAX_MONTHS} months at a time")
    starts = month_starts(first, last, config.zone)
    histories = _histories(starts[-1], config.loyalty.default_currency, only_paid=False)
    return free_point_months(histories, starts, config.loyalty.allow_negative)


PAID_COLUMNS = (
    "base_date",
    "currency",
    "unused_points",
    "unused_amount",
    "issued_points",
    "issued_amount",
    "exceeds_threshold",
)
FREE_COLUMNS = ("month", "currency", "opening", "issued", "used", "expired", "reversed", "closing")


def _flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def paid_points_csv(config: CRMConfig, from_year: int, to_year: int) -> Iterator[str]:
    """The base-date report as CSV text (header first)."""
    rows = paid_points_report(config, from_year, to_year)
    return csv_table(
        PAID_COLUMNS,
        (
            (
                row.base_date.isoformat(),
                row.currency,
                row.points,
                row.amount,
                row.issued_points,
                row.issued_amount,
                _flag(row.exceeds_threshold),
            )
            for row in rows
        ),
    )


def free_points_csv(config: CRMConfig, from_month: str, to_month: str) -> Iterator[str]:
    """The free points months as CSV text (header first)."""
    rows = free_points_report(config, from_month, to_month)
    return csv_table(
        FREE_COLUMNS,
        (
            (
                f"{row.month:%Y-%m}",
                row.currency,
                row.opening,
                row.issued,
                row.used,
                row.expired,
                row.reversed,
                row.closing,
            )
            for row in rows
        ),
    )

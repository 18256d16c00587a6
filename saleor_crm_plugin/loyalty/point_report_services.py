"""The points reports read from the ledger on PostgreSQL (`loyalty.point_reports` computes).

The entries are streamed in replay order, customer by customer, through a server-side cursor,
so the replay holds one customer's history at a time. The paid points report reads only the
customers with paid points (the partial index `points_entry_paid`) on each request.

The free points months replay every entry, far too much for a request (656.8 s at 1,000,000
accounts and 4.5M entries), so they are stored: a nightly task (and staff on demand,
`request_free_points_months`) computes every month of the ledger, from its first entry's
month to the current one (store time), as a `FreePointsRun` split into chunks of points
account ids that any number of workers replay apart (`start_free_points_run`, then
`compute_free_points_chunk` per chunk). The chunk that finds none left sums the chunks'
months (`point_reports.add_free_months`) and puts the run in force in one transaction, so a
reader sees a whole run, never half of one (the run it replaces is kept until the next swap,
for a reader that has just looked it up; older ones are deleted). Entries written with
past dates (imported lots, late refunds) are counted by the next run, which replaces every
month. A request reads the months of the run in force (`free_points_report`), with when they
were computed.

Every lot is valued in a currency: its own, else the customer's only one, else the store's
default (`services.LOT_CURRENCY`, as the outstanding-points table).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from ..audit import services as audit
from ..audit.models import AuditEvent
from ..conf import CRMConfig
from ..customers.models import id_ranges
from ..errors import FieldError
from ..segments.export import csv_table
from ..task_options import enqueue
from .lots import Entry, Kind
from .models import FreePointsChunk, FreePointsMonth, FreePointsRun, PointsAccount, PointsEntry
from .point_reports import (
    FreeMonth,
    History,
    PaidBaseDate,
    add_free_months,
    base_dates,
    free_months_between,
    free_point_months,
    month_starts,
    paid_base_dates,
)
from .services import lot_currency_sql

__all__ = [
    "FREE_COLUMNS",
    "PAID_COLUMNS",
    "FreePointsNotComputed",
    "FreePointsReport",
    "compute_free_points_chunk",
    "compute_free_points_months",
    "free_points_csv",
    "free_points_file_name",
    "free_points_in_force",
    "free_points_report",
    "paid_points_csv",
    "paid_points_report",
    "parse_month",
    "request_free_points_months",
    "start_free_points_run",
]

MAX_YEARS = 20
MAX_MONTHS = 120
FETCH = 10_000
FIRST_MONTH = date(2000, 1, 1)  # the first month a report can ask for (`parse_month`)
STALE_RUN = timedelta(days=1)  # a run still "running" after this died with its workers

_ENTRIES = """
SELECT e.account_id, e.key, e.kind, e.points, {at}, e.lot, {available_at}, {expires_at}, e.held,
       e.funding, e.paid_amount, {currency}
FROM {entries} e JOIN {accounts} a ON a.id = e.account_id
WHERE e.at < %s {only_paid} {accounts_between}
ORDER BY e.account_id, e.at, e.key
"""
# A chunk: its entries by the index (account, at), in the order the replay reads them, and
# its accounts by their primary key (the same range, said twice for the planner).
_ACCOUNTS_BETWEEN = "AND e.account_id BETWEEN %s AND %s AND a.id BETWEEN %s AND %s"
_ONLY_PAID = "AND e.account_id IN (SELECT p.account_id FROM {entries} p WHERE p.funding = 'paid')"


# Times as whole microseconds since 1970 (UTC): turned into datetimes by arithmetic, several
# times faster than parsing their text (three a row, millions of rows).
_MICROSECONDS = "(extract(epoch FROM {column}) * 1000000)::bigint"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(microseconds: int | None) -> datetime | None:
    return None if microseconds is None else _EPOCH + timedelta(microseconds=microseconds)


def history_sql(only_paid: bool, accounts_between: bool = False) -> str:
    """The entries in replay order, customer by customer; parameters: the store's default
    currency, the end (exclusive), and with `accounts_between` the lowest and highest points
    account id, twice."""
    entries = PointsEntry._meta.db_table
    return _ENTRIES.format(
        at=_MICROSECONDS.format(column="e.at"),
        available_at=_MICROSECONDS.format(column="e.available_at"),
        expires_at=_MICROSECONDS.format(column="e.expires_at"),
        currency=lot_currency_sql("e"),
        entries=entries,
        accounts=PointsAccount._meta.db_table,
        only_paid=_ONLY_PAID.format(entries=entries) if only_paid else "",
        accounts_between=_ACCOUNTS_BETWEEN if accounts_between else "",
    )


def _histories(
    end: datetime,
    default_currency: str,
    only_paid: bool,
    accounts: tuple[int, int] | None = None,
) -> Iterator[History]:
    """Each customer's entries before `end` with the currency of each of their lots (only the
    points accounts with ids in `accounts`, both included, when given)."""
    sql = history_sql(only_paid, accounts is not None)
    params = [default_currency, end, *(accounts or ()), *(accounts or ())]
    with transaction.atomic():  # a server-side cursor lives in a transaction
        if connection.vendor == "postgresql":
            # The whole result is read: plan for it, and skip JIT (the per-row currency
            # subquery makes the estimate look dear, but it runs only for rows without one).
            with connection.cursor() as settings:
                settings.execute("SET LOCAL jit = off")
                settings.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
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


class FreePointsNotComputed(FieldError):
    """The free points months asked for are not stored (yet): `field` names what is missing."""


@dataclass(frozen=True)
class FreePointsReport:
    """Stored free points months of a range, and the run they come from."""

    computed_at: datetime
    first_month: date | None  # the ledger's first month (None: it was empty)
    last_month: date  # the last month computed (the month the run started in)
    months: list[FreeMonth]


def _not_computed_yet() -> FreePointsNotComputed:
    return FreePointsNotComputed(
        "report",
        "the free points months have not been computed yet: the nightly task computes them, "
        "or staff start it now with crmFreePointsMonthsCompute",
    )


def free_points_in_force() -> FreePointsRun | None:
    """The run whose months are shown (None before the first computation finished)."""
    return FreePointsRun.objects.filter(in_force=True).first()


def _free_month(row: FreePointsMonth) -> FreeMonth:
    return FreeMonth(
        row.month,
        row.currency,
        row.opening,
        row.issued,
        row.used,
        row.expired,
        row.reversed,
        row.closing,
    )


def _stored_months(run_id: int) -> list[FreeMonth]:
    rows = FreePointsMonth.objects.filter(run_id=run_id, chunk__isnull=True).order_by(
        "month", "currency"
    )
    return [_free_month(row) for row in rows]


def free_points_report(config: CRMConfig, from_month: str, to_month: str) -> FreePointsReport:
    """Free points per month (store time) and currency, from `from_month` to `to_month`
    (`YYYY-MM`, both included): opening, issued, used, expired, reversed, closing, as the
    run in force computed them.

    Raises `FieldError` for a bad range, `FreePointsNotComputed` when nothing is stored yet,
    when `to_month` is after the last month computed, or when the months were computed in
    another time zone than the store's.
    """
    first, last = parse_month("fromMonth", from_month), parse_month("toMonth", to_month)
    if first > last:
        raise FieldError("toMonth", f"{to_month} is before fromMonth {from_month}")
    if (last.year - first.year) * 12 + last.month - first.month + 1 > MAX_MONTHS:
        raise FieldError("toMonth", f"at most {MAX_MONTHS} months at a time")
    # The run in force, then its rows: a run that has just been replaced keeps its rows
    # until the next swap (`_finish`), so they are read whole.
    run = free_points_in_force()
    if run is None:
        raise _not_computed_yet()
    computed = f"computed at {run.computed_at.isoformat(timespec='seconds')}"
    if run.time_zone != config.store_time_zone:
        raise FreePointsNotComputed(
            "report",
            f"the stored months are in {run.time_zone} ({computed}), the store's time "
            f"zone is now {config.store_time_zone}: the next computation (nightly, or "
            "crmFreePointsMonthsCompute) gives its months",
        )
    if last > run.last_month:
        raise FreePointsNotComputed(
            "toMonth",
            f"{to_month} is after the last month computed, {run.last_month:%Y-%m} "
            f"({computed}): the next computation (nightly, or crmFreePointsMonthsCompute) "
            "adds it",
        )
    stored = _stored_months(run.pk)
    return FreePointsReport(
        run.computed_at, run.first_month, run.last_month, free_months_between(stored, first, last)
    )


# -- computing the free points months ------------------------------------------------------


def _month_of(moment: datetime, zone: ZoneInfo) -> date:
    local = moment.astimezone(zone)
    return date(local.year, local.month, 1)


def start_free_points_run(config: CRMConfig, now: datetime, chunk_size: int) -> FreePointsRun:
    """Begin a computation of every free points month up to `now`'s (store time), split
    into chunks of about `chunk_size` points accounts (by id); compute each with
    `compute_free_points_chunk` (in any order, on any worker, more than once). A ledger
    without customers gives a run in force at once, with no months."""
    if chunk_size < 1:
        raise ValueError("chunk_size: must be at least 1")
    zone = config.zone
    earliest = PointsEntry.objects.aggregate(at=Min("at"))["at"]
    first = None if earliest is None else max(_month_of(earliest, zone), FIRST_MONTH)
    last = _month_of(now, zone)
    if first is not None and first > last:  # only entries dated in later months
        first = last
    ranges = id_ranges(PointsAccount, chunk_size) if first is not None else []
    with transaction.atomic():
        run = FreePointsRun.objects.create(
            started_at=now,
            time_zone=config.store_time_zone,
            first_month=first,
            last_month=last,
            chunks=len(ranges),
        )
        FreePointsChunk.objects.bulk_create(
            FreePointsChunk(run=run, low=low, high=high) for low, high in ranges
        )
        if not ranges:
            _finish(run)
    return run


def _starts(run: FreePointsRun) -> list[datetime]:
    return month_starts(run.first_month, run.last_month, ZoneInfo(run.time_zone))


@dataclass(frozen=True)
class FreePointsChunkReport:
    customers: int = 0  # customers with entries replayed
    rows: int = 0  # month and currency rows written
    repeated: bool = False  # already computed (a retried or duplicated task): nothing done
    gone: bool = False  # its run was replaced meanwhile: nothing done
    finished_run: bool = False  # the run's last chunk: the run is in force (not replaced)


def _counted(histories, counter: list[int]):
    for history in histories:
        counter[0] += 1
        yield history


def compute_free_points_chunk(chunk_id: int, config: CRMConfig) -> FreePointsChunkReport:
    """Replay the entries of one chunk's customers into their free points months and store
    them; idempotent. The chunk row is locked while it computes, so a duplicated task waits
    and then does nothing; the chunk that completes its run puts the run in force."""
    with transaction.atomic():
        chunk = (
            FreePointsChunk.objects.select_for_update()
            .select_related("run")
            .filter(pk=chunk_id)
            .first()
        )
        if chunk is None:
            return FreePointsChunkReport(gone=True)
        if chunk.done_at is not None:
            return FreePointsChunkReport(repeated=True)
        run = chunk.run
        starts = _starts(run)
        counter = [0]
        histories = _histories(
            starts[-1], config.loyalty.default_currency, False, (chunk.low, chunk.high)
        )
        months = free_point_months(
            _counted(histories, counter), starts, config.loyalty.allow_negative
        )
        FreePointsMonth.objects.bulk_create(_month_rows(run, chunk, months))
        chunk.done_at = timezone.now()
        chunk.save(update_fields=["done_at"])
        run = FreePointsRun.objects.select_for_update().get(pk=run.pk)
        finished = (
            run.status == FreePointsRun.RUNNING
            and not run.chunk_set.filter(done_at__isnull=True).exists()
            and _finish(run)
        )
    return FreePointsChunkReport(counter[0], len(months), finished_run=finished)


def _month_rows(run, chunk, months: list[FreeMonth]) -> list[FreePointsMonth]:
    return [
        FreePointsMonth(
            run=run,
            chunk=chunk,
            month=row.month,
            currency=row.currency,
            opening=row.opening,
            issued=row.issued,
            used=row.used,
            expired=row.expired,
            reversed=row.reversed,
            closing=row.closing,
        )
        for row in months
    ]


def _finish(run: FreePointsRun) -> bool:
    """Sum the chunks' months into the run's and put it in force (inside the caller's
    transaction, the run row locked). The run it replaces is kept until the next swap, for a
    reader that has just read which run is in force; older ones, failed ones and runs still
    "running" after `STALE_RUN` are deleted. A run that a newer one already replaced is
    deleted instead. Return whether the run is in force."""
    newer = FreePointsRun.objects.filter(in_force=True, started_at__gt=run.started_at)
    if newer.exists():
        run.delete()
        return False
    partial = FreePointsMonth.objects.filter(run=run, chunk__isnull=False).order_by("chunk_id")
    parts = [
        [_free_month(row) for row in rows]
        for _chunk, rows in groupby(partial, key=lambda row: row.chunk_id)
    ]
    FreePointsMonth.objects.bulk_create(_month_rows(run, None, add_free_months(parts)))
    partial.delete()
    previous = list(FreePointsRun.objects.filter(in_force=True).values_list("pk", flat=True))
    FreePointsRun.objects.filter(in_force=True).update(in_force=False)
    run.status, run.in_force, run.computed_at = FreePointsRun.OK, True, timezone.now()
    run.save(update_fields=["status", "in_force", "computed_at"])
    FreePointsRun.objects.exclude(pk__in=[run.pk, *previous]).filter(
        ~Q(status=FreePointsRun.RUNNING) | Q(started_at__lt=run.started_at - STALE_RUN)
    ).delete()
    return True


def compute_free_points_months(
    config: CRMConfig, now: datetime, chunk_size: int | None = None
) -> FreePointsRun:
    """Compute every free points month in this process (chunk after chunk; one chunk without
    `chunk_size`) and put them in force; return the run. A failure marks the run failed (the
    previous one stays in force) and is raised."""
    run = start_free_points_run(config, now, chunk_size or _ALL)
    try:
        for chunk_id in run.chunk_set.order_by("low").values_list("pk", flat=True):
            compute_free_points_chunk(chunk_id, config)
    except Exception as error:
        FreePointsRun.objects.filter(pk=run.pk).update(
            status=FreePointsRun.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    run.refresh_from_db()
    return run


_ALL = 2**62  # a chunk size that takes every account id at once


def request_free_points_months(actor: str, now: datetime) -> FreePointsRun | None:
    """Have the free points months computed now (staff; audited), by the nightly task's
    chunks on the workers; return the run in force until it finishes."""
    from .tasks import compute_free_points_months_task  # the task module imports this one

    with transaction.atomic():
        audit.record(AuditEvent.FREE_POINTS_COMPUTE_REQUESTED, actor, now)
        enqueue(compute_free_points_months_task)
    return free_points_in_force()


PAID_COLUMNS = (
    "base_date",
    "currency",
    "unused_points",
    "unused_amount",
    "issued_points",
    "issued_amount",
    "exceeds_threshold",
)
FREE_COLUMNS = (
    "month",
    "currency",
    "opening",
    "issued",
    "used",
    "expired",
    "reversed",
    "closing",
    "computed_at",
)


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
    """The stored free points months as CSV text (header first), each row with when they were
    computed (`computed_at`, UTC)."""
    report = free_points_report(config, from_month, to_month)
    computed = report.computed_at.astimezone(UTC).isoformat(timespec="seconds")
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
                computed,
            )
            for row in report.months
        ),
    )


def free_points_file_name(from_month: str, to_month: str) -> str:
    """The CSV's file name (without .csv), with the day the months in force were computed."""
    run = free_points_in_force()
    name = f"free-points-{from_month}-{to_month}"
    return name if run is None else f"{name}-computed-{run.computed_at.astimezone(UTC):%Y%m%d}"

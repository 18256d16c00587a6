"""The repeat and retention reports, stored: the nightly task reads the ledger, computes every
report (`analytics.reports`) for an `as_of`, and stores them as one `ReportRun`; GraphQL, pages
and CSV exports read the run in force. Nothing here runs in a request but the reads.

Reading: on PostgreSQL the orders and lines come by COPY ... TO STDOUT (CSV) straight into
pandas, only the columns the reports need: ids as integers, amounts as integers in the
currency's minor unit (computed by PostgreSQL, exact), channels, currencies and product ids as
categoricals. The lines are read without a join (a lines-table scan); the reports drop those
whose order does not count or came after `as_of`. Other databases (the sandbox's SQLite) go
through the ORM.

Storing: a run's rows are written and the run put in force in one transaction, which deletes
the older runs; until it commits, readers see the previous run.
"""

import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..customers.models import CustomerSpend, OrderLineRecord, OrderRecord
from ..errors import FieldError
from ..loyalty.models import MemberRank
from ..money import THREE_DECIMAL, ZERO_DECIMAL, minor_unit
from ..rows import add_rows
from ..segments.export import csv_table
from ..subscriptions.models import Cycle
from . import reports
from .frames import copy_frame
from .models import CohortRow, F2Row, LtvRow, ProductRepeatRow, ReportRun

__all__ = [
    "LEVELS",
    "REPORTS",
    "cohort_rows",
    "cohort_table_lines",
    "compute_reports",
    "demo_lines",
    "f2_rows",
    "ledger_frames",
    "ltv_rows",
    "product_repeat_rows",
    "report_csv",
    "report_currencies",
    "report_in_force",
]

LEVELS = {"product": "product_id", "variant": "variant_id", "category": "category_id"}
REPORTS = ("repeat", "f2", "cohorts", "ltv")
STALE_RUN = timedelta(days=1)  # a run still "running" after this died with its worker
_ORDER_COLUMNS = [
    "order_id",
    "customer_id",
    "placed_at",
    "channel",
    "currency",
    "amount",
    "subscription_start",
]
_LINE_COLUMNS = ["order_id", "product_id", "variant_id", "category_id", "product_name"]


# -- reading the ledger -------------------------------------------------------------------


def _minor_units_sql(column: str) -> str:
    zero = ", ".join(f"'{code}'" for code in sorted(ZERO_DECIMAL))
    three = ", ".join(f"'{code}'" for code in sorted(THREE_DECIMAL))
    return (
        f"round({column} * CASE WHEN currency IN ({zero}) THEN 1 "
        f"WHEN currency IN ({three}) THEN 1000 ELSE 100 END)::bigint"
    )


def _started_orders() -> Q:
    """Cycles whose order started a subscription (its first delivery)."""
    return Q(sequence=1, status=Cycle.Status.ORDERED)


def ledger_frames(as_of: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The counted orders placed before `as_of` (`_ORDER_COLUMNS`; customer = profile id,
    amount = net spend in minor units, subscription_start = the order is a subscription's first
    delivery) and every order line (`_LINE_COLUMNS`)."""
    if connection.vendor != "postgresql":
        return _orm_frames(as_of)
    orders_table = OrderRecord._meta.db_table
    cycles = Cycle.objects.filter(_started_orders()).values("order_id").query
    cycles_sql, cycles_params = cycles.sql_with_params()
    orders = copy_frame(
        f"SELECT id, profile_id, (extract(epoch FROM placed_at) * 1000000)::bigint, channel, "
        f"currency, {_minor_units_sql('net_spend_amount')}, "
        f"(order_id IN ({cycles_sql}))::int FROM {orders_table} "
        "WHERE counts AND placed_at < %s",
        [*cycles_params, as_of],
        _ORDER_COLUMNS,
        {
            "order_id": np.int64,
            "customer_id": np.int64,
            "placed_at": np.int64,
            "channel": "category",
            "currency": "category",
            "amount": np.int64,
            "subscription_start": np.int8,
        },
    )
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], unit="us", utc=True)
    orders["subscription_start"] = orders["subscription_start"].astype(bool)
    lines = copy_frame(
        f"SELECT order_id, product_id, variant_id, category_id, product_name "
        f"FROM {OrderLineRecord._meta.db_table}",
        [],
        _LINE_COLUMNS,
        {"order_id": np.int64, **dict.fromkeys(_LINE_COLUMNS[1:], "category")},
    )
    return orders, lines


def _orm_frames(as_of: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    started = set(Cycle.objects.filter(_started_orders()).values_list("order_id", flat=True))
    rows = OrderRecord.objects.filter(counts=True, placed_at__lt=as_of).values_list(
        "pk", "profile_id", "placed_at", "channel", "currency", "net_spend_amount", "order_id"
    )
    orders = pd.DataFrame(
        [
            (
                pk,
                profile,
                at,
                channel,
                currency,
                int(amount.scaleb(minor_unit(currency))),
                (order_id in started),
            )
            for pk, profile, at, channel, currency, amount, order_id in rows.iterator(
                chunk_size=20_000
            )
        ],
        columns=_ORDER_COLUMNS,
    )
    orders["amount"] = orders["amount"].astype(np.int64)
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], utc=True)
    lines = pd.DataFrame(
        list(
            OrderLineRecord.objects.values_list(
                "order_id", "product_id", "variant_id", "category_id", "product_name"
            ).iterator(chunk_size=20_000)
        ),
        columns=_LINE_COLUMNS,
    )
    return orders, lines


def _groups() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The RFM segment in force per customer and currency, and the rank each customer holds."""
    segments = pd.DataFrame(
        list(
            CustomerSpend.objects.filter(segment__isnull=False)
            .values_list("profile_id", "currency", "segment")
            .iterator(chunk_size=50_000)
        ),
        columns=["customer_id", "currency", "segment"],
    )
    ranks = pd.DataFrame(
        list(MemberRank.objects.values_list("profile_id", "code").iterator(chunk_size=50_000)),
        columns=["customer_id", "rank"],
    )
    return segments, ranks


# -- computing and storing ----------------------------------------------------------------


def _timed(seconds: dict, name: str, step):
    started = time.perf_counter()
    result = step()
    seconds[name] = round(time.perf_counter() - started, 3)
    return result


def compute(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    as_of: datetime,
    segments: pd.DataFrame,
    ranks: pd.DataFrame,
    ladder_codes: list[str],
    seconds: dict,
) -> dict[str, pd.DataFrame]:
    """Every report over these frames (a name -> DataFrame; the repeat rate per level)."""
    held = ranks[ranks["rank"].isin(ladder_codes)] if ladder_codes else ranks
    out = {}
    for level, column in LEVELS.items():
        out[f"repeat:{level}"] = _timed(
            seconds,
            f"repeat:{level}",
            lambda column=column: reports.product_repeat(
                orders,
                lines,
                as_of,
                item=column,
                name=None if column == "category_id" else "product_name",
            ),
        )
    out["f2"] = _timed(seconds, "f2", lambda: reports.f2_conversion(orders, lines, as_of))
    out["cohorts"] = _timed(seconds, "cohorts", lambda: reports.cohort_retention(orders, as_of))
    out["ltv"] = _timed(
        seconds,
        "ltv",
        lambda: reports.ltv_by_group(
            orders,
            lines,
            as_of,
            segments=segments,
            ranks=held,
            no_rank=ladder_codes[0] if ladder_codes else "",
        ),
    )
    return out


def _records(frame: pd.DataFrame, columns: list[str], *prefix) -> list[tuple]:
    values = [frame[column].astype(object).tolist() for column in columns]
    cleaned = [
        [None if isinstance(v, float) and v != v else v for v in column] for column in values
    ]
    return [(*prefix, *row) for row in zip(*cleaned, strict=True)]


_REPEAT_FIELDS = reports._repeat_columns(reports.REPEAT_WINDOWS)
_F2_FIELDS = ["first_month", "by", "value", "name", "first_buyers"] + [
    f"{kind}_{days}" for days in reports.F2_WINDOWS for kind in ("observed", "second", "share")
]
_COHORT_FIELDS = [
    "channel",
    "currency",
    "cohort_month",
    "months_since",
    "customers",
    "active",
    "retention",
    "revenue",
    "revenue_per_customer",
    "cumulative_per_customer",
    "complete",
]
_LTV_FIELDS = ["currency", "by", "value", "name", "customers", "revenue", "average", "median"]


def _store(run: ReportRun, results: dict[str, pd.DataFrame]) -> None:
    for level in LEVELS:
        frame = results[f"repeat:{level}"]
        frame = frame.assign(item=frame["item"].astype(str).str.slice(0, 64))
        add_rows(
            ProductRepeatRow,
            ["run", "level", "channel", *_REPEAT_FIELDS],
            _records(frame, ["channel", *_REPEAT_FIELDS], run.pk, level),
        )
    f2 = results["f2"]
    f2 = f2.assign(value=f2["value"].astype(str).str.slice(0, 64))
    add_rows(F2Row, ["run", "channel", *_F2_FIELDS], _records(f2, ["channel", *_F2_FIELDS], run.pk))
    add_rows(
        CohortRow, ["run", *_COHORT_FIELDS], _records(results["cohorts"], _COHORT_FIELDS, run.pk)
    )
    ltv = results["ltv"]
    ltv = ltv.assign(value=ltv["value"].astype(str).str.slice(0, 64))
    add_rows(LtvRow, ["run", *_LTV_FIELDS], _records(ltv, _LTV_FIELDS, run.pk))


def compute_reports(as_of: datetime, now: datetime, ladder_codes: list[str]) -> ReportRun:
    """Compute every report for `as_of` and put them in force (one transaction); return the
    run. A failure marks the run failed (the previous one stays in force) and is raised.

    `ladder_codes`: the rank codes, lowest first (a customer holding none, or one no longer on
    the ladder, counts under the lowest).
    """
    run = ReportRun.objects.create(as_of=as_of, started_at=now)
    seconds: dict[str, float] = {}
    try:
        orders, lines = _timed(seconds, "read_ledger", lambda: ledger_frames(as_of))
        segments, ranks = _timed(seconds, "read_groups", _groups)
        results = compute(orders, lines, as_of, segments, ranks, ladder_codes, seconds)
        del orders, lines
        with transaction.atomic():
            _timed(seconds, "store", lambda: _store(run, results))
            ReportRun.objects.filter(in_force=True).update(in_force=False)
            run.status, run.in_force, run.seconds = ReportRun.OK, True, seconds
            run.computed_at = timezone.now()
            run.save()
            old = ReportRun.objects.exclude(pk=run.pk).filter(
                ~Q(status=ReportRun.RUNNING) | Q(started_at__lt=now - STALE_RUN)
            )
            old_ids = list(old.values_list("pk", flat=True))
            for model in (ProductRepeatRow, F2Row, CohortRow, LtvRow):
                model.objects.filter(run_id__in=old_ids).delete()
            ReportRun.objects.filter(pk__in=old_ids).delete()
    except Exception as error:
        ReportRun.objects.filter(pk=run.pk).update(
            status=ReportRun.FAILED, error=f"{type(error).__name__}: {error}", seconds=seconds
        )
        raise
    return run


# -- reading the stored reports -----------------------------------------------------------


def report_currencies(run: ReportRun) -> list[str]:
    """The currencies the run's cohort and LTV reports have rows in."""
    return sorted(
        set(CohortRow.objects.filter(run=run).values_list("currency", flat=True).distinct())
        | set(LtvRow.objects.filter(run=run).values_list("currency", flat=True).distinct())
    )


def report_in_force() -> ReportRun | None:
    """The run whose reports are shown (None before the first computation)."""
    return ReportRun.objects.filter(in_force=True).first()


def _rows(model, sort: str, allowed: set[str], tie: list[str], **where) -> QuerySet:
    field = sort.removeprefix("-")
    if field not in allowed:
        raise FieldError("sort", f"'{sort}' is not one of {', '.join(sorted(allowed))}")
    run = report_in_force()
    if run is None:
        return model.objects.none()
    direction = "-" if sort.startswith("-") else ""
    # Rows whose figure is unknown (None) last, whichever the direction.
    key = F(field).desc(nulls_last=True) if direction else F(field).asc(nulls_last=True)
    return model.objects.filter(run=run, **where).order_by(key, *tie)


def _month(value: str, field: str) -> str:
    if value and (len(value) != 7 or value[4] != "-" or not value.replace("-", "").isdigit()):
        raise FieldError(field, f"'{value}' is not a month as YYYY-MM")
    return value


_REPEAT_SORTS = {
    "buyers",
    "repeat_buyers",
    "repeat_rate",
    "first_buyers",
    "share_30",
    "share_60",
    "share_90",
    "share_180",
    "median_days_to_second",
    "repeat_interval_days",
    "name",
    "item",
}


def product_repeat_rows(
    level: str = "product", channel: str = "", first_month: str = "", sort: str = "-buyers"
) -> QuerySet:
    """The repeat rate rows of a level in a channel ("" all) for the customers of a first-order
    month ('YYYY-MM', "" all), sorted by a figure ("-" first: descending; ties by item)."""
    if level not in LEVELS:
        raise FieldError("level", f"'{level}' is not one of {', '.join(LEVELS)}")
    return _rows(
        ProductRepeatRow,
        sort,
        _REPEAT_SORTS,
        ["item"],
        level=level,
        channel=channel,
        first_month=_month(first_month, "first_month"),
    )


_F2_BY = ("all", "subscription", "product")


def f2_rows(
    channel: str = "", by: str = "all", first_month: str | None = None, sort: str = "first_month"
) -> QuerySet:
    """F2 rows of a channel ("" all) split `by` ("all", "subscription", "product"): every
    first-order month ("" the whole, first) unless one is given."""
    if by not in _F2_BY:
        raise FieldError("by", f"'{by}' is not one of {', '.join(_F2_BY)}")
    where = {"channel": channel, "by": by}
    if first_month is not None:
        where["first_month"] = _month(first_month, "first_month")
    sorts = {"first_month", "first_buyers", "share_30", "share_60", "share_90", "value", "name"}
    return _rows(F2Row, sort, sorts, ["first_month", "value"], **where)


def cohort_rows(channel: str = "", currency: str | None = None) -> QuerySet:
    """The cohort table of a channel ("" all), per currency, cohort month and months since."""
    where = {"channel": channel}
    if currency:
        where["currency"] = currency
    return _rows(CohortRow, "currency", {"currency"}, ["cohort_month", "months_since"], **where)


_LTV_BY = ("segment", "rank", "first_product")


def ltv_rows(currency: str | None = None, by: str | None = None, sort: str = "-average"):
    """LTV per group (of one currency, one kind of group, or all)."""
    where = {}
    if currency:
        where["currency"] = currency
    if by is not None:
        if by not in _LTV_BY:
            raise FieldError("by", f"'{by}' is not one of {', '.join(_LTV_BY)}")
        where["by"] = by
    sorts = {"customers", "revenue", "average", "median", "value"}
    return _rows(LtvRow, sort, sorts, ["currency", "by", "value"], **where)


# -- CSV ----------------------------------------------------------------------------------

_CSV = {
    "repeat": (product_repeat_rows, ["level", "channel", *_REPEAT_FIELDS]),
    "f2": (f2_rows, ["channel", *_F2_FIELDS]),
    "cohorts": (cohort_rows, _COHORT_FIELDS),
    "ltv": (ltv_rows, _LTV_FIELDS),
}


def report_csv(report: str, **filters) -> Iterator[str]:
    """The CSV text of a stored report (`REPORTS`) as its read function filters and sorts it,
    header first, streamed a chunk at a time. Raises FieldError for a bad report or filter."""
    if report not in _CSV:
        raise FieldError("report", f"'{report}' is not one of {', '.join(REPORTS)}")
    read, columns = _CSV[report]
    rows = read(**filters).values_list(*columns)
    return csv_table(columns, _plain(rows.iterator(chunk_size=2000)))


def _plain(rows: Iterable[tuple]) -> Iterator[tuple]:
    for row in rows:
        yield tuple("" if value is None else value for value in row)


# -- the demo -----------------------------------------------------------------------------


def cohort_table_lines(months: int = 6, cohorts: int = 6) -> list[str]:
    """The stored cohort table as text: retention share by first-order month (the last
    `cohorts`) and months since (0 .. months-1), per currency, all channels."""
    run = report_in_force()
    if run is None:
        return ["Cohort retention: not computed yet"]
    lines = [
        f"Cohort retention (share of each first-order month's customers ordering again, "
        f"as of {run.as_of:%Y-%m-%d}):"
    ]
    rows = cohort_rows(channel="")
    for currency in sorted(set(rows.values_list("currency", flat=True))):
        cells = rows.filter(currency=currency, months_since__lt=months)
        recent = sorted(set(cells.values_list("cohort_month", flat=True)))[-cohorts:]
        header = "".join(f"{since:>7}" for since in range(months))
        lines.append(f"  {currency}  month   customers{header}")
        table: dict[str, dict[int, float]] = {}
        sizes = {}
        for cell in cells.filter(cohort_month__in=recent):
            table.setdefault(cell.cohort_month, {})[cell.months_since] = cell.retention
            sizes[cell.cohort_month] = cell.customers
        for month in recent:
            shares = "".join(
                f"{table[month][since]:>7.0%}" if since in table[month] else " " * 7
                for since in range(months)
            )
            lines.append(f"       {month} {sizes[month]:>11,}{shares}")
    return lines


def demo_lines() -> list[str]:
    """Compute the reports now (what the nightly task does) and show the cohort table."""
    from ..host import get_host

    now = timezone.now()
    ladder = get_host().config().loyalty.ladder
    run = compute_reports(now, now, [rank.code for rank in ladder.ranks])
    took = sum(run.seconds.values())
    return [f"Reports (the nightly computation, run now: {took:.1f} s)", *cohort_table_lines()]

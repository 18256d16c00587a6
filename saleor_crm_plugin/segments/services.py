"""RFM recompute and rescoring: the only writers of scores, cut points and segment sizes.

A full recompute fits each currency group's cut points on every customer's spend row
(`rfm.fit_groups`), stores them, scores everyone against them (`rfm.score_with`), writes the
scores that changed, removes those of customers no longer scored, and records the size and
revenue of every segment. `recompute_rfm` does it in one process. The Celery tasks split it:
`start_recompute` fits and stores the cut points and plans chunks of profile ids,
`score_recompute_chunk` scores one chunk (row-locked, idempotent), and the chunk that finishes
the run records the segment sizes; the scores equal the one-piece recompute's. After an order,
`rescore_profiles` rescores its customer against the stored cut points (`rfm.score_rows`).

Scores live on the customer's spend row of their currency (`CustomerSpend`; the group is the
currency). Only what changed is written: a scan reads each spend row with its stored scores
(one COPY on PostgreSQL), compares them in the process and updates the differing rows; the
scores of rows no longer scored (the customer was deleted) are cleared by one statement that
checks the rows as they are when it runs. On SQLite (the sandbox) the ORM does the same.
"""

import io
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from ..customers.models import UNSCORED, CustomerSpend, profile_id_ranges
from ..history.versions import record_cut_points
from ..money import quantize_amount
from .bins import FixedBins
from .models import RecomputeChunk, RecomputeRun, ScoreCutPoints, SegmentSize
from .rfm import METRICS, CutPoints, fit_groups, score_rows, score_with
from .segment_map import SegmentMap

__all__ = [
    "ChunkReport",
    "RecomputeReport",
    "recompute_rfm",
    "record_segment_sizes",
    "rescore_profiles",
    "score_recompute_chunk",
    "start_recompute",
]

COLUMNS = ["customer_id", "group", "last_order_at", "order_count", "monetary"]


@dataclass(frozen=True)
class RecomputeReport:
    scored: int
    written: int
    removed: int
    unscored_groups: tuple[str, ...]
    computed_at: datetime
    # Profiles whose scores were written or removed (their metadata needs rewriting).
    changed_profiles: tuple[int, ...] = ()


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which profiles a rescore covers: all, an id range (a chunk), or a list of ids."""

    low: int | None = None
    high: int | None = None
    ids: tuple[int, ...] | None = None

    def q(self, prefix: str = "") -> Q:
        if self.ids is not None:
            return Q(**{f"{prefix}id__in": self.ids})
        return Q(
            **{
                key: value
                for key, value in ((f"{prefix}id__gte", self.low), (f"{prefix}id__lte", self.high))
                if value is not None
            }
        )

    def sql(self, column: str) -> tuple[str, list]:
        if self.ids is not None:
            return f"{column} = ANY(%s)", [list(self.ids)]
        parts, params = [], []
        if self.low is not None:
            parts.append(f"{column} >= %s")
            params.append(self.low)
        if self.high is not None:
            parts.append(f"{column} <= %s")
            params.append(self.high)
        return (" AND ".join(parts) or "TRUE"), params


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


OLD = ["old_r", "old_f", "old_m", "old_segment"]


def _spend_rows(scope: Scope, stored: bool = True) -> pd.DataFrame:
    """Every scored customer's spend per currency (the RFM group) within a scan `scope`.

    With `stored`, each row also carries the customer's stored scores in that group
    (`old_r`, `old_f`, `old_m`, `old_segment`; NaN when none), so only the rows that change
    are written. On PostgreSQL the rows come through COPY.
    """
    if connection.vendor != "postgresql":
        return _spend_rows_orm(scope, stored)
    where, params = scope.sql("s.profile_id")
    old = "s.r, s.f, s.m, s.segment" if stored else "NULL, NULL, NULL, NULL"
    sql = (
        "SELECT s.profile_id, s.currency, extract(epoch FROM s.last_order_at), s.order_count,"
        f" s.total_spent_amount, {old} FROM {_table(CustomerSpend)} s"
        f" WHERE s.profile_active AND s.order_count > 0 AND {where}"
    )
    frame = pd.read_csv(
        _copy_out(sql, params),
        names=COLUMNS + OLD,
        dtype={
            "customer_id": "int64",
            "group": str,
            "order_count": "int64",
            "monetary": float,
            "old_segment": object,
        },
    )
    frame["last_order_at"] = pd.to_datetime(frame["last_order_at"], unit="s", utc=True)
    return frame


def _copy_out(sql: str, params: list) -> io.BytesIO:
    """The result of `sql` as CSV, through COPY (PostgreSQL)."""
    import psycopg

    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        inlined = psycopg.ClientCursor(raw.connection).mogrify(sql, params)
        with raw.copy(f"COPY ({inlined}) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    return buffer


def _scored_spends(scope: Scope):
    """The spend rows within `scope` that are scored now: active customers, counted orders."""
    return CustomerSpend.objects.filter(
        scope.q("profile__"), profile_active=True, order_count__gt=0
    )


def _spend_values(scope: Scope):
    return _scored_spends(scope).values_list(
        "profile_id", "currency", "last_order_at", "order_count", "total_spent_amount"
    )


def _spend_rows_orm(scope: Scope, stored: bool) -> pd.DataFrame:
    rows = _scored_spends(scope).values_list(
        "profile_id",
        "currency",
        "last_order_at",
        "order_count",
        "total_spent_amount",
        *(("r", "f", "m", "segment") if stored else ()),
    )
    frame = pd.DataFrame(list(rows), columns=COLUMNS + (OLD if stored else []))
    for column in OLD:
        if column not in frame:
            frame[column] = None
    frame["monetary"] = frame["monetary"].map(float)
    frame["last_order_at"] = pd.to_datetime(frame["last_order_at"], utc=True)
    return frame


# --- writing ------------------------------------------------------------------------------

# A score as written: (profile id, group, r, f, m, segment).
ScoreRow = tuple[int, str, int, int, int, str]


def _changed_rows(scored: pd.DataFrame) -> list[ScoreRow]:
    """The scored rows whose scores differ from the stored ones (or that have none)."""
    differs = np.zeros(len(scored), dtype=bool)
    for column in ("r", "f", "m"):
        old = pd.to_numeric(scored[f"old_{column}"]).to_numpy(dtype=float)  # NaN: none
        differs |= ~(old == scored[column].to_numpy())
    old_segment = scored["old_segment"].to_numpy(dtype=object)
    differs |= old_segment != scored["segment"].to_numpy(dtype=object)
    changed = scored[differs]
    return list(
        zip(
            changed["customer_id"].to_numpy(np.int64).tolist(),
            changed["group"].tolist(),
            changed["r"].to_numpy(np.int64).tolist(),
            changed["f"].to_numpy(np.int64).tolist(),
            changed["m"].to_numpy(np.int64).tolist(),
            changed["segment"].tolist(),
            strict=True,
        )
    )


def _save_scores(rows: list[ScoreRow], scope: Scope, as_of: datetime):
    """Write these scores, clear those of rows in `scope` no longer scored; return the ids.

    Returns (written profile ids, cleared profile ids). A row gone since it was read (its
    currency has no counted order left) is not written; a row whose customer was deleted
    since is cleared, as the clearing checks the rows when it runs. Runs inside the caller's
    transaction.
    """
    if connection.vendor != "postgresql":
        return _save_scores_orm(rows, scope, as_of)
    written = []
    where, params = scope.sql("s.profile_id")
    with connection.cursor() as cursor:
        if rows:
            cursor.execute(
                f"""
                UPDATE {_table(CustomerSpend)} AS s
                SET r = t.r, f = t.f, m = t.m, segment = t.segment, scored_at = %s
                FROM unnest(%s::bigint[], %s::varchar[], %s::smallint[], %s::smallint[],
                            %s::smallint[], %s::varchar[]) AS t(profile_id, currency, r, f, m,
                                                                segment)
                WHERE s.profile_id = t.profile_id AND s.currency = t.currency
                  AND (s.r, s.f, s.m, s.segment)
                      IS DISTINCT FROM (t.r, t.f, t.m, t.segment)
                RETURNING s.profile_id
                """,
                [as_of, *(list(column) for column in zip(*rows, strict=True))],
            )
            written = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"""
            UPDATE {_table(CustomerSpend)} AS s
            SET r = NULL, f = NULL, m = NULL, segment = NULL, scored_at = NULL
            WHERE {where} AND s.segment IS NOT NULL
              AND NOT (s.profile_active AND s.order_count > 0)
            RETURNING s.profile_id
            """,
            params,
        )
        cleared = [row[0] for row in cursor.fetchall()]
    return written, cleared


def _save_scores_orm(rows, scope: Scope, as_of: datetime):
    pks = {
        (profile_id, currency): pk
        for pk, profile_id, currency in CustomerSpend.objects.filter(
            profile_id__in={row[0] for row in rows}
        ).values_list("pk", "profile_id", "currency")
    }
    changed = [
        CustomerSpend(pk=pks[(pid, currency)], r=r, f=f, m=m, segment=segment, scored_at=as_of)
        for pid, currency, r, f, m, segment in rows
        if (pid, currency) in pks  # a row gone since it was read is not written
    ]
    CustomerSpend.objects.bulk_update(changed, list(UNSCORED), batch_size=500)
    written = [row[0] for row in rows if row[:2] in pks]
    stale = CustomerSpend.objects.filter(scope.q("profile__"), segment__isnull=False).exclude(
        profile_active=True, order_count__gt=0
    )
    cleared = list(stale.values_list("profile_id", flat=True))
    stale.update(**UNSCORED)
    return written, cleared


def _write_scores(scored: pd.DataFrame, scope: Scope, as_of: datetime):
    """Make the stored scores within a scan `scope` equal to `scored`; (written, cleared).

    Writes only the rows that differ and clears the scores of rows no longer scored.
    """
    return _save_scores(_changed_rows(scored), scope, as_of)


def _store_cut_points(cut_points: dict, as_of: datetime, segments=None) -> None:
    record_cut_points(cut_points, as_of, segments)
    for group, fitted in cut_points.items():
        ScoreCutPoints.objects.update_or_create(
            group=group,
            defaults={
                "recency": list(fitted["recency"].bounds),
                "frequency": list(fitted["frequency"].bounds),
                "monetary": list(fitted["monetary"].bounds),
                "customers": fitted["recency"].customers,
                "computed_at": as_of,
                "method": fitted["recency"].method,
            },
        )
    ScoreCutPoints.objects.exclude(group__in=list(cut_points)).delete()


def _stored_cut_points() -> dict:
    return {
        row.group: {
            metric: CutPoints(tuple(getattr(row, metric)), row.customers, row.method)
            for metric in METRICS
        }
        for row in ScoreCutPoints.objects.all()
    }


def scoring_methods() -> dict[str, str]:
    """How each group's scores in force were set (`rfm.QUINTILES` or `rfm.FIXED`), by group."""
    return dict(ScoreCutPoints.objects.values_list("group", "method"))


def record_segment_sizes(as_of: datetime) -> int:
    """Record how many customers each segment of each group has now, and their spend."""
    rows = (
        CustomerSpend.objects.filter(segment__isnull=False)
        .values("currency", "segment")
        .annotate(customers=Count("pk"), revenue=Sum("total_spent_amount"))
        .order_by("currency", "segment")
    )
    sizes = [
        SegmentSize(
            computed_at=as_of,
            group=row["currency"],
            segment=row["segment"],
            customers=row["customers"],
            revenue_amount=quantize_amount(row["revenue"] or Decimal(0), row["currency"]),
        )
        for row in rows
    ]
    SegmentSize.objects.bulk_create(sizes, ignore_conflicts=True)
    return len(sizes)


# --- the recompute ------------------------------------------------------------------------


def _fit_and_store(
    customers: pd.DataFrame,
    zone: ZoneInfo,
    as_of: datetime,
    bins: FixedBins | None,
    segments: SegmentMap | None = None,
) -> dict:
    """Fit every group's cut points (or take the store's fixed bins), store them, and drop
    the scores of unscored groups."""
    cut_points = fit_groups(customers, as_of, zone, bins)
    _store_cut_points(cut_points, as_of, segments)
    CustomerSpend.objects.exclude(currency__in=list(cut_points)).filter(
        segment__isnull=False
    ).update(**UNSCORED)
    return cut_points


def _unscored(customers: pd.DataFrame, cut_points: dict) -> tuple[str, ...]:
    return tuple(sorted(set(customers["group"]) - set(cut_points)))


def recompute_rfm(
    zone: ZoneInfo,
    as_of: datetime | None = None,
    segments: SegmentMap | None = None,
    bins: FixedBins | None = None,
) -> RecomputeReport:
    """Score every customer per currency in one process; write only the scores that changed.

    Also stores each group's cut points (to rescore one customer later) and records the size
    and revenue of every segment at this recompute. `segments` is the store's segment map,
    `bins` its fixed RFM bins when it scores by them (`CRMConfig.rfm_bins`).
    """
    as_of = as_of or timezone.now()
    customers = _spend_rows(Scope())
    with transaction.atomic():
        cut_points = _fit_and_store(customers, zone, as_of, bins, segments)
        scored = score_with(customers, cut_points, as_of, zone, segments)
        written, removed = _write_scores(scored, Scope(), as_of)
        record_segment_sizes(as_of)
    return RecomputeReport(
        scored=len(scored),
        written=len(written),
        removed=len(removed),
        unscored_groups=_unscored(customers, cut_points),
        computed_at=as_of,
        changed_profiles=tuple(sorted(set(written) | set(removed))),
    )


def start_recompute(
    zone: ZoneInfo,
    chunk_size: int,
    as_of: datetime | None = None,
    bins: FixedBins | None = None,
    segments: SegmentMap | None = None,
):
    """Begin a recompute split over workers: fit and store the cut points, plan the chunks.

    Returns the `RecomputeRun`; score each of its chunks with `score_recompute_chunk` (in any
    order, on any worker, more than once). The scores come out exactly as `recompute_rfm`'s.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size: must be at least 1")
    as_of = as_of or timezone.now()
    customers = _spend_rows(Scope(), stored=False)  # the fit needs no stored scores
    with transaction.atomic():
        cut_points = _fit_and_store(customers, zone, as_of, bins, segments)
        ranges = profile_id_ranges(chunk_size)
        run = RecomputeRun.objects.create(
            computed_at=as_of,
            scored=int(customers["group"].isin(list(cut_points)).sum()),
            chunks=len(ranges),
            finished_at=None if ranges else timezone.now(),
        )
        RecomputeChunk.objects.bulk_create(
            RecomputeChunk(run=run, low=low, high=high) for low, high in ranges
        )
        if not ranges:
            record_segment_sizes(as_of)
    return run


@dataclass(frozen=True)
class ChunkReport:
    scored: int = 0
    written: int = 0
    removed: int = 0
    # Already scored before (a retried or duplicated task): nothing was done.
    repeated: bool = False
    # A newer run began first; its own chunks cover these ids.
    superseded: bool = False
    # This chunk was the run's last: segment sizes were recorded.
    finished_run: bool = False
    changed_profiles: tuple[int, ...] = ()


def score_recompute_chunk(chunk_id: int, zone: ZoneInfo, segments: SegmentMap | None = None):
    """Score one chunk of a recompute run against the run's cut points; idempotent.

    The chunk row is locked while it is scored, so a duplicated task waits and then does
    nothing. The chunk that completes the run records the segment sizes (the run row is
    locked for that check, so exactly one chunk does it).
    """
    with transaction.atomic():
        chunk = RecomputeChunk.objects.select_for_update().select_related("run").get(pk=chunk_id)
        if chunk.done_at is not None:
            return ChunkReport(repeated=True)
        run = chunk.run
        if RecomputeRun.objects.filter(computed_at__gt=run.computed_at).exists():
            chunk.superseded = True
            report = ChunkReport(superseded=True)
        else:
            scored, written, removed = _rescore(
                Scope(low=chunk.low, high=chunk.high), zone, run.computed_at, segments
            )
            chunk.written, chunk.removed = len(written), len(removed)
            report = ChunkReport(
                scored=scored,
                written=len(written),
                removed=len(removed),
                changed_profiles=tuple(sorted(set(written) | set(removed))),
            )
        chunk.done_at = timezone.now()
        chunk.save(update_fields=["done_at", "written", "removed", "superseded"])
        run = RecomputeRun.objects.select_for_update().get(pk=run.pk)
        if run.finished_at is None and not run.chunk_set.filter(done_at__isnull=True).exists():
            if not report.superseded:
                record_segment_sizes(run.computed_at)
            run.finished_at = timezone.now()
            run.save(update_fields=["finished_at"])
            report = replace(report, finished_run=not report.superseded)
    return report


def rescore_profiles(
    profile_ids, zone: ZoneInfo, as_of: datetime | None = None, segments: SegmentMap | None = None
) -> int:
    """Rescore these customers at once against the last full recompute's cut points.

    Used after an order changes a customer's figures; a group that has not been recomputed
    yet (no cut points) is left for the next full recompute. Returns how many profiles'
    scores changed. Reads two small queries and writes only what changed (usually nothing).
    """
    ids = sorted({int(i) for i in profile_ids})
    if not ids:
        return 0
    as_of = as_of or timezone.now()
    cut_points = _stored_cut_points()
    scored = score_rows(
        list(_spend_values(Scope(ids=tuple(ids)))), cut_points, as_of, zone, segments
    )
    stored = {
        (pid, group): (r, f, m, segment)
        for pid, group, r, f, m, segment in CustomerSpend.objects.filter(
            profile_id__in=ids, segment__isnull=False
        ).values_list("profile_id", "currency", "r", "f", "m", "segment")
    }
    rows = [row for row in scored if stored.get(row[:2]) != row[2:]]
    seen = {row[:2] for row in scored}
    stale = [key for key in stored if key[1] in cut_points and key not in seen]
    if not rows and not stale:
        return 0
    with transaction.atomic():
        written, removed = _save_scores(rows, Scope(ids=tuple(ids)), as_of)
    return len(set(written) | set(removed))


def _rescore(scope: Scope, zone: ZoneInfo, as_of: datetime, segments):
    """Score a scan `scope` against the stored cut points; (scored, written ids, removed ids)."""
    customers = _spend_rows(scope)
    cut_points = _stored_cut_points()
    scored = score_with(customers, cut_points, as_of, zone, segments)
    with transaction.atomic():
        written, removed = _write_scores(scored, scope, as_of)
    return len(scored), written, removed

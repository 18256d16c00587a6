"""RFM scoring: Recency, Frequency and Monetary scores 1-5 and the named R/F segment. Pure.

Scores are quintiles on ranks, computed within a group (a channel or currency: spend is never
compared across currencies). For each metric and customer:

    p = worse / (worse + better)        score = 1 + min(4, floor(5 * p))

where `worse` and `better` count the group's customers with a strictly worse or better value
(recency: more or fewer days since the last order; frequency: fewer or more orders; monetary:
less or more spend). Customers with the same value are left out of their own comparison. So:

- tied values always share a score, whatever the order of the input, and bins never overlap;
- with all values different this is plain quintiles (10 customers: 1,1,2,2,3,3,4,4,5,5);
- the worst value always scores 1 and the best always 5, however many share it: one-time buyers
  are F 1 (the map's "New" is R 5, F 1) and everyone who ordered today is R 5;
- when every customer of a group has the same value, nobody is better or worse: all score 3;
- a score can stay empty when one value holds a large share of a group (with 55% one-time
  buyers, F goes 1, 3, ...). Splitting equal customers over two scores would make a score
  depend on the order of the rows, so it is not done;
- a group with fewer than `MIN_GROUP` (5) customers gets no scores and no segment (None).

`fit_cut_points` keeps the boundaries of a full recompute so that one customer can be rescored
at once after an order: `score_values` gives every value seen in the recompute exactly the
score the recompute gave it, and a new value the score of its place among those boundaries.

Quintiles only rank customers against each other: in a small store where most customers
ordered today, a customer whose last order was 16 days ago is R 1. A store can instead score
against fixed bins it chooses (`FixedBins`, the `rfm-scoring` setting), as Japanese CRM tools
configure RFM: R by days since the last order, F by order count, M by spend in each currency.
Fixed bins score any number of customers (no `MIN_GROUP`); a currency without M bins is
scored by quintiles. Each group's `CutPoints.method` says which is in force.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .bins import FIXED, QUINTILES, FixedBins, parse_fixed_bins
from .segment_map import (
    DEFAULT_SEGMENTS,
    SEGMENT_NAMES,
    parse_segment_map,
    segment_cells,
    segment_of,
)

__all__ = [
    "DEFAULT_SEGMENTS",
    "FIXED",
    "MIN_GROUP",
    "QUINTILES",
    "SEGMENT_NAMES",
    "CutPoints",
    "FixedBins",
    "days_since",
    "fit_cut_points",
    "fit_groups",
    "fixed_cut_points",
    "parse_fixed_bins",
    "parse_segment_map",
    "score_rfm",
    "score_rows",
    "score_values",
    "score_with",
    "segment_grid",
    "segment_of",
]

MIN_GROUP = 5
METRICS = ("recency", "frequency", "monetary")


@dataclass(frozen=True)
class CutPoints:
    """The four boundaries of one metric in one group: a value scores 1 + how many it exceeds.

    Values are "goodness" (higher is better): recency is minus days. A boundary of None means
    no value scores below that score (every value exceeds it). `method`: how they were set,
    `QUINTILES` (fitted to the customers) or `FIXED` (the store's bins).
    """

    bounds: tuple[float | None, float | None, float | None, float | None]
    customers: int
    method: str = QUINTILES


def fixed_cut_points(bins: FixedBins, group: str, customers: int) -> dict | None:
    """The cut points of `bins` for one group (None when it has no M bins), in the form
    `fit_groups` gives: a value scores 1 + how many boundaries it exceeds."""
    if group not in bins.monetary:
        return None

    def cut(bounds) -> CutPoints:
        return CutPoints(tuple(bounds), customers, FIXED)

    # Days are whole and counts whole: half a unit below each boundary makes "at least".
    # Spend has at most three decimals: half a thousandth below.
    return {
        "recency": cut(-(days + 0.5) for days in reversed(bins.recency)),
        "frequency": cut(count - 0.5 for count in bins.frequency),
        "monetary": cut(float(amount) - 0.0005 for amount in bins.monetary[group]),
    }


def _scores_of_distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct values (ascending) and the score of each."""
    distinct, counts = np.unique(values, return_counts=True)
    worse = np.cumsum(counts) - counts
    better = len(values) - worse - counts
    others = worse + better
    share = np.divide(worse, others, out=np.full(len(distinct), 0.5), where=others > 0)
    return distinct, 1 + np.minimum(4, np.floor(5 * share)).astype(int)


def fit_cut_points(goodness) -> CutPoints | None:
    """Return the boundaries that reproduce the scores of these values.

    Parameters
    ----------
    goodness
        One value per customer, higher is better.

    Returns
    -------
    CutPoints or None
        None when there are fewer than `MIN_GROUP` customers.
    """
    values = np.asarray(goodness, dtype=float)
    if len(values) < MIN_GROUP:
        return None
    distinct, scores = _scores_of_distinct(values)
    bounds = []
    for score in range(2, 6):
        below = distinct[scores < score]  # scores rise with the value: these are the lowest
        bounds.append(float(below[-1]) if len(below) else None)
    return CutPoints(bounds=tuple(bounds), customers=len(values))


def score_values(goodness, cut_points: CutPoints) -> np.ndarray:
    """Score values 1-5 against stored boundaries (vectorized)."""
    values = np.asarray(goodness, dtype=float)
    scores = np.ones(len(values), dtype=int)
    for bound in cut_points.bounds:
        scores += (values > bound) if bound is not None else 1
    return scores


def days_since(moment: datetime, as_of: datetime, zone: ZoneInfo) -> int:
    """Whole days between two aware times, both taken as dates in the store's zone."""
    return (as_of.astimezone(zone).date() - moment.astimezone(zone).date()).days


def _days_since(last_order_at: pd.Series, as_of: datetime, zone: ZoneInfo) -> pd.Series:
    """`days_since` for a column, vectorized: local midnight of each day, then whole days."""
    today = pd.Timestamp(as_of.astimezone(zone).date())
    local_days = (
        pd.to_datetime(last_order_at, utc=True).dt.tz_convert(zone).dt.tz_localize(None)
    ).dt.normalize()
    return (today - local_days).dt.days


def _goodness(frame: pd.DataFrame, recency_days: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric as "higher is better" floats (for ranking only, never stored)."""
    return {
        "recency": -recency_days.astype(float),
        "frequency": frame["order_count"].to_numpy(float),
        "monetary": frame["monetary"].map(float).to_numpy(float),
    }


def fit_groups(
    customers: pd.DataFrame, as_of: datetime, zone: ZoneInfo, bins: FixedBins | None = None
) -> dict:
    """Fit the cut points of every group large enough to be scored.

    Parameters
    ----------
    customers
        The columns of `score_rfm`.
    as_of, zone
        The scoring time and the store's time zone (recency in local days).
    bins
        The store's fixed bins, when it scores by them: a group with M bins takes them
        (whatever its size); the others are fitted as quintiles.

    Returns
    -------
    dict
        `{group: {"recency": CutPoints, "frequency": ..., "monetary": ...}}`; groups fitted
        as quintiles with fewer than `MIN_GROUP` customers are left out.
    """
    _require_aware(as_of)
    if customers.empty:
        return {}
    days = _days_since(customers["last_order_at"], as_of, zone).to_numpy(float)
    goodness = _goodness(customers, days)
    cut_points = {}
    for group, rows in sorted(customers.groupby("group").indices.items()):
        fitted = None if bins is None else fixed_cut_points(bins, group, len(rows))
        if fitted is None:
            fitted = {metric: fit_cut_points(goodness[metric][rows]) for metric in METRICS}
        if fitted["recency"] is not None:
            cut_points[group] = fitted
    return cut_points


def score_with(
    customers: pd.DataFrame,
    cut_points: Mapping,
    as_of: datetime,
    zone: ZoneInfo,
    segments: Mapping | None = None,
) -> pd.DataFrame:
    """Score customers against fitted cut points (a whole store, a chunk, or one customer).

    Parameters
    ----------
    customers
        The columns of `score_rfm`.
    cut_points
        `fit_groups`' result, from this data or stored by an earlier recompute.
    as_of, zone
        The scoring time and the store's time zone.
    segments
        Segment map (see `DEFAULT_SEGMENTS` and `parse_segment_map`).

    Returns
    -------
    DataFrame
        The rows of groups that have cut points, sorted by group then customer id, with
        `recency_days`, `r`, `f`, `m` (int) and `segment`. For every value the fit saw, the
        score is the one the fit's own data got (see `fit_cut_points`).
    """
    _require_aware(as_of)
    cells = segment_cells(segments or DEFAULT_SEGMENTS)
    # numpy over the columns, one DataFrame at the end: this also runs for one customer
    # after every paid order, where pandas' per-call overhead would dominate.
    frame = customers[customers["group"].isin(list(cut_points)).to_numpy()]
    groups = frame["group"].to_numpy(dtype=object)
    order = np.lexsort((frame["customer_id"].to_numpy(), groups))
    frame = frame.iloc[order].reset_index(drop=True)
    groups = groups[order]
    days = _days_since(frame["last_order_at"], as_of, zone).to_numpy("int64")
    goodness = _goodness(frame, days)
    scores = {column: np.zeros(len(frame), dtype="int64") for column in ("r", "f", "m")}
    for group in dict.fromkeys(groups):
        rows = groups == group
        for column, metric in zip(("r", "f", "m"), METRICS, strict=True):
            scores[column][rows] = score_values(goodness[metric][rows], cut_points[group][metric])
    return frame.assign(
        recency_days=days,
        **scores,
        segment=_segments(scores["r"], scores["f"], cells),
    )


def score_rows(
    rows,
    cut_points: Mapping,
    as_of: datetime,
    zone: ZoneInfo,
    segments: Mapping | None = None,
) -> list[tuple]:
    """Score a few customers against fitted cut points, row by row (no DataFrame).

    The same rule as `score_with`, for the one customer rescored after each order, where
    building a DataFrame would cost more than the scoring.

    Parameters
    ----------
    rows
        `(customer_id, group, last_order_at, order_count, monetary)` tuples.
    cut_points, as_of, zone, segments
        As for `score_with`.

    Returns
    -------
    list of tuple
        `(customer_id, group, r, f, m, segment)` for the rows of groups with cut points.
    """
    _require_aware(as_of)
    cells = segment_cells(segments or DEFAULT_SEGMENTS)
    scored = []
    for customer_id, group, last_order_at, order_count, monetary in rows:
        fitted = cut_points.get(group)
        if fitted is None:
            continue
        goodness = {
            "recency": -float(days_since(last_order_at, as_of, zone)),
            "frequency": float(order_count),
            "monetary": float(monetary),
        }
        r, f, m = (int(score_values([goodness[metric]], fitted[metric])[0]) for metric in METRICS)
        scored.append((customer_id, group, r, f, m, cells[(r, f)]))
    return scored


def score_rfm(
    customers: pd.DataFrame,
    as_of: datetime,
    zone: ZoneInfo,
    segments: Mapping | None = None,
    bins: FixedBins | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Score every customer within their group.

    Parameters
    ----------
    customers
        One row per customer and group with columns `customer_id`, `group` (channel or
        currency), `last_order_at` (aware), `order_count` (int >= 1) and `monetary` (spend in
        the group's currency, Decimal or number).
    as_of
        Aware time of the scoring; recency is counted in days in `zone`.
    segments
        Segment map (see `DEFAULT_SEGMENTS` and `parse_segment_map`).
    bins
        The store's fixed bins instead of quintiles (see `fit_groups`).

    Returns
    -------
    (DataFrame, dict)
        The input columns plus `recency_days`, `r`, `f`, `m` (nullable Int64) and `segment`
        (None where the group is too small), sorted by group then customer id; and the cut
        points per group: `{group: {"recency": CutPoints, "frequency": ..., "monetary": ...}}`.
    """
    _require_aware(as_of)
    frame = customers.sort_values(["group", "customer_id"], kind="stable").reset_index(drop=True)
    frame["recency_days"] = _days_since(frame["last_order_at"], as_of, zone).astype("int64")
    for column in ("r", "f", "m"):
        frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["segment"] = None
    cut_points = fit_groups(frame, as_of, zone, bins)
    scored = score_with(frame, cut_points, as_of, zone, segments)
    # Both frames are sorted by (group, customer id): the scored rows line up with the mask.
    mask = frame["group"].isin(list(cut_points)).to_numpy()
    for column in ("r", "f", "m", "segment"):
        frame.loc[mask, column] = scored[column].to_numpy()
    return frame, cut_points


def _require_aware(as_of: datetime) -> None:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of: needs a time zone")


def _segments(r: np.ndarray, f: np.ndarray, cells: Mapping) -> np.ndarray:
    """The segment name of each (R, F) pair, by table lookup."""
    table = np.empty(36, dtype=object)
    for (cell_r, cell_f), name in cells.items():
        table[cell_r * 6 + cell_f] = name
    return table[np.asarray(r, dtype="int64") * 6 + np.asarray(f, dtype="int64")]


def segment_grid(scored: pd.DataFrame) -> pd.DataFrame:
    """Count customers in each R-by-F cell per group (rows R 5..1, columns F 1..5)."""
    rows = []
    for group, part in scored.dropna(subset=["r"]).groupby("group", sort=True):
        counts = part.groupby(["r", "f"]).size()
        for r in range(5, 0, -1):
            rows.append(
                {
                    "group": group,
                    "r": r,
                    **{f"f{f}": int(counts.get((r, f), 0)) for f in range(1, 6)},
                }
            )
    return pd.DataFrame(rows, columns=["group", "r", "f1", "f2", "f3", "f4", "f5"])

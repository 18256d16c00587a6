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
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .segment_map import (
    DEFAULT_SEGMENTS,
    SEGMENT_NAMES,
    parse_segment_map,
    segment_cells,
    segment_of,
)

__all__ = [
    "DEFAULT_SEGMENTS",
    "MIN_GROUP",
    "SEGMENT_NAMES",
    "CutPoints",
    "days_since",
    "fit_cut_points",
    "parse_segment_map",
    "score_rfm",
    "score_values",
    "segment_grid",
    "segment_of",
]

MIN_GROUP = 5
METRICS = ("recency", "frequency", "monetary")


@dataclass(frozen=True)
class CutPoints:
    """The four boundaries of one metric in one group: a value scores 1 + how many it exceeds.

    Values are "goodness" (higher is better): recency is minus days. A boundary of None means
    no value scores below that score (every value exceeds it).
    """

    bounds: tuple[float | None, float | None, float | None, float | None]
    customers: int


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
    today: date = as_of.astimezone(zone).date()
    local_dates = pd.to_datetime(last_order_at, utc=True).dt.tz_convert(zone).dt.date
    return local_dates.map(lambda d: (today - d).days)


def score_rfm(
    customers: pd.DataFrame,
    as_of: datetime,
    zone: ZoneInfo,
    segments: Mapping | None = None,
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

    Returns
    -------
    (DataFrame, dict)
        The input columns plus `recency_days`, `r`, `f`, `m` (nullable Int64) and `segment`
        (None where the group is too small), sorted by group then customer id; and the cut
        points per group: `{group: {"recency": CutPoints, "frequency": ..., "monetary": ...}}`.
    """
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of: needs a time zone")
    cells = segment_cells(segments or DEFAULT_SEGMENTS)
    frame = customers.sort_values(["group", "customer_id"], kind="stable").reset_index(drop=True)
    frame["recency_days"] = _days_since(frame["last_order_at"], as_of, zone).astype("int64")
    goodness = {
        "recency": -frame["recency_days"].astype(float),
        "frequency": frame["order_count"].astype(float),
        "monetary": frame["monetary"].map(float),  # floats for ranking only, never stored
    }
    for column in ("r", "f", "m"):
        frame[column] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["segment"] = None
    cut_points: dict = {}
    for group, index in frame.groupby("group", sort=True).groups.items():
        fitted = {
            metric: fit_cut_points(goodness[metric].loc[index].to_numpy()) for metric in METRICS
        }
        if fitted["recency"] is None:
            continue
        cut_points[group] = fitted
        for column, metric in zip(("r", "f", "m"), METRICS, strict=True):
            frame.loc[index, column] = score_values(
                goodness[metric].loc[index].to_numpy(), fitted[metric]
            )
        frame.loc[index, "segment"] = [
            cells[(int(r), int(f))]
            for r, f in zip(frame.loc[index, "r"], frame.loc[index, "f"], strict=True)
        ]
    return frame, cut_points


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

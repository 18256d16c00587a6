"""Recommendations from the product pairs (`baskets`) and the products' repeat figures. Pure
(pandas), no Django.

Every pick carries a score that is a probability of the same kind, so picks of different
reasons are ranked together:

- **bought with X** (`BOUGHT_WITH`): the pair's confidence X -> Y, the share of the buyers of X
  who also bought Y (for the customer kind: within the window);
- **time to restock** (`RESTOCK`): the product's repeat rate, the share of its buyers who
  bought it again, offered once the customer's usual interval for it (the product's repeat
  interval) has passed since they last bought it.

Ties go to the higher lift, then the more common pair, then the product id, so the order never
depends on the input's.
"""

from datetime import datetime, timedelta

import pandas as pd

from ..errors import FieldError

__all__ = ["BOUGHT_WITH", "PICK_COLUMNS", "RESTOCK", "also_bought", "personal_picks"]

BOUGHT_WITH = "bought_with"
RESTOCK = "time_to_restock"
# product_id, name (may be empty), score, reason (BOUGHT_WITH / RESTOCK), because (the product
# bought with, for BOUGHT_WITH), because_name, text ("bought with Sencha", "time to restock"),
# lift and together (of the pair; NaN and 0 for a restock).
PICK_COLUMNS = [
    "product_id",
    "name",
    "score",
    "reason",
    "because",
    "because_name",
    "text",
    "lift",
    "together",
]


def _check_first(first: int) -> None:
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise FieldError("first", f"must be a whole number of 1 or more, not {first!r}")


def _oriented(pairs: pd.DataFrame) -> pd.DataFrame:
    """Each pair in both directions: source -> product with the confidence that way."""
    names = "name_a" in pairs.columns and "name_b" in pairs.columns
    forward = pd.DataFrame(
        {
            "source": pairs["product_a"],
            "source_name": pairs["name_a"] if names else "",
            "product_id": pairs["product_b"],
            "name": pairs["name_b"] if names else "",
            "score": pairs["confidence_ab"],
            "lift": pairs["lift"],
            "together": pairs["together"],
        }
    )
    backward = pd.DataFrame(
        {
            "source": pairs["product_b"],
            "source_name": pairs["name_b"] if names else "",
            "product_id": pairs["product_a"],
            "name": pairs["name_a"] if names else "",
            "score": pairs["confidence_ba"],
            "lift": pairs["lift"],
            "together": pairs["together"],
        }
    )
    return pd.concat([forward, backward], ignore_index=True)


def _best_first(picks: pd.DataFrame) -> pd.DataFrame:
    return picks.sort_values(
        ["score", "lift", "together", "product_id"],
        ascending=[False, False, False, True],
        na_position="last",
        kind="stable",
    )


def _bought_with_text(frame: pd.DataFrame) -> pd.Series:
    label = frame["because_name"].where(frame["because_name"].astype(bool), frame["because"])
    return "bought with " + label.astype(str)


def also_bought(
    pairs: pd.DataFrame,
    product,
    first: int,
    *,
    available=None,
) -> pd.DataFrame:
    """The products bought with `product`, best first ("customers who bought this also bought").

    Parameters
    ----------
    pairs : the pairs of one channel and kind (`baskets.COLUMNS`, optionally name_a, name_b)
    product : the product id shown
    first : how many to return at most
    available : the product ids that may be offered (published and available in the channel);
        None offers any

    Returns
    -------
    DataFrame : `PICK_COLUMNS`, best first: score = confidence product -> pick, reason
        BOUGHT_WITH because of `product`
    """
    _check_first(first)
    oriented = _oriented(pairs)
    picks = oriented[(oriented["source"] == product) & (oriented["product_id"] != product)]
    if available is not None:
        picks = picks[picks["product_id"].isin(set(available))]
    picks = _best_first(picks).head(first)
    return _finish(picks.rename(columns={"source": "because", "source_name": "because_name"}))


def _finish(picks: pd.DataFrame) -> pd.DataFrame:
    picks = picks.assign(reason=BOUGHT_WITH)
    picks["text"] = _bought_with_text(picks) if len(picks) else pd.Series(dtype=object)
    return picks[PICK_COLUMNS].reset_index(drop=True)


def personal_picks(
    purchases: pd.DataFrame,
    pairs: pd.DataFrame,
    repeat: pd.DataFrame,
    as_of: datetime,
    available,
    first: int,
    *,
    repeat_threshold: float = 0.3,
    recent_days: int | None = None,
    product: str = "product_id",
    last_bought_at: str = "last_bought_at",
) -> pd.DataFrame:
    """One customer's picks, best first, each with its reason.

    Parameters
    ----------
    purchases : the customer's products, one row each, with the named columns (`last_bought_at`
        aware: when they last bought it) and optionally `name`
    pairs : the pairs of the customer's channel (`baskets.COLUMNS`, optionally name_a, name_b)
    repeat : per product, `product_id`, `repeat_rate` (0 to 1) and `repeat_interval_days`
    as_of : aware datetime, now
    available : the product ids that may be offered (published and available in the channel)
    first : how many picks at most
    repeat_threshold : a product with a repeat rate at or above this is a repeat buy
    recent_days : a purchase this many days old or newer is recent; None: every purchase is

    Returns
    -------
    DataFrame : `PICK_COLUMNS`, best first. A product the customer bought recently is left out,
        unless it is a repeat buy whose repeat interval has passed since they last bought it:
        then it is offered as RESTOCK with its repeat rate as the score. Every other product is
        offered for the best pair with a product the customer bought (BOUGHT_WITH).
    """
    _check_first(first)
    if as_of.tzinfo is None:
        raise FieldError("as_of", "must be an aware datetime")
    if not 0 <= repeat_threshold <= 1:
        raise FieldError("repeat_threshold", f"must be a share from 0 to 1, not {repeat_threshold}")
    if recent_days is not None and (isinstance(recent_days, bool) or recent_days < 0):
        raise FieldError("recent_days", f"must be 0 or more days, not {recent_days!r}")
    for field, frame, columns in (
        ("purchases", purchases, [product, last_bought_at]),
        ("repeat", repeat, ["product_id", "repeat_rate", "repeat_interval_days"]),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise FieldError(field, f"lack the column(s) {', '.join(missing)}")
    if purchases.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in PICK_COLUMNS})
    available = set(available)
    bought_at = pd.to_datetime(purchases[last_bought_at], utc=True)
    bought = pd.DataFrame(
        {
            "product_id": purchases[product].to_numpy(),
            "at": bought_at.array,
            "name": purchases["name"].to_numpy() if "name" in purchases.columns else "",
        }
    )
    now = pd.Timestamp(as_of)
    if recent_days is None:
        recent = set(bought["product_id"])
    else:
        recent = set(bought.loc[bought["at"] > now - timedelta(days=recent_days), "product_id"])

    # Due repeat buys: the customer's products whose usual interval has passed.
    figures = repeat.set_index("product_id")
    due = bought.join(figures[["repeat_rate", "repeat_interval_days"]], on="product_id")
    interval = pd.to_timedelta(due["repeat_interval_days"], unit="D")
    due = due[
        (due["repeat_rate"] >= repeat_threshold)
        & interval.notna()
        & (due["at"] + interval <= now)
        & due["product_id"].isin(available)
    ]
    restock = pd.DataFrame(
        {
            "product_id": due["product_id"],
            "name": due["name"],
            "score": due["repeat_rate"].astype(float),
            "reason": RESTOCK,
            "because": None,
            "because_name": "",
            "text": "time to restock",
            "lift": float("nan"),
            "together": 0,
        }
    )

    # Pairs from what the customer bought to what they did not buy recently.
    oriented = _oriented(pairs)
    oriented = oriented[
        oriented["source"].isin(set(bought["product_id"]))
        & ~oriented["product_id"].isin(recent)
        & oriented["product_id"].isin(available)
    ]
    # The most recently bought source wins a tie, so the reason names what is freshest.
    oriented = oriented.join(bought.set_index("product_id")["at"], on="source")
    oriented = oriented.sort_values(
        ["product_id", "score", "lift", "together", "at", "source"],
        ascending=[True, False, False, False, False, True],
        kind="stable",
    ).drop_duplicates("product_id")
    paired = oriented.rename(columns={"source": "because", "source_name": "because_name"})
    paired = paired.assign(reason=BOUGHT_WITH)
    paired["text"] = _bought_with_text(paired) if len(paired) else pd.Series(dtype=object)

    picks = pd.concat(
        [frame for frame in (restock, paired[PICK_COLUMNS]) if len(frame)], ignore_index=True
    )
    if picks.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in PICK_COLUMNS})
    # A product both due and paired (bought long ago) keeps its better reason.
    picks = _best_first(picks).drop_duplicates("product_id").head(first)
    return picks[PICK_COLUMNS].reset_index(drop=True)

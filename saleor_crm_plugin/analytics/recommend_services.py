"""Recommendations read from storage: the basket pairs in force (`BasketRun` / `BasketPair`,
`basket_services`), the repeat report in force (`ProductRepeatRow`, `report_services`) and the
customer's own counted orders, ranked by the pure `recommend` and offered only when the store
sells the product in the channel now (the Host's `available_products`).

- `also_bought_for`: "customers who bought this also bought" for a product shown in a channel.
  Public data only: the pairs are counts over every customer of the channel, and a pair exists
  only when at least the store's minimum number of customers (or orders) bought both, so no
  one customer's purchases can be read from it.
- `personal_picks_for`: one customer's picks: products bought with what they bought, and their
  repeat buys whose usual interval has passed ("time to restock").

Only products the store offers in the channel are ever returned: the ranked candidates are
asked of the Host a block at a time, best first, until `first` are found (the Host is asked
about a few dozen products, not the whole catalogue).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd
from django.db.models import Max, Q

from ..customers.models import OrderLineRecord
from ..errors import FieldError
from . import baskets, recommend
from .models import BasketPair, BasketRun
from .report_services import product_repeat_rows

__all__ = [
    "MAX_FIRST",
    "RECENT_DAYS",
    "REPEAT_THRESHOLD",
    "Available",
    "Pick",
    "also_bought_for",
    "personal_picks_for",
]

# At most this many picks a request.
MAX_FIRST = 50
# A product whose repeat rate (the share of its buyers who bought it again, in the channel) is
# at least this is a repeat buy: offered again once its usual interval has passed.
REPEAT_THRESHOLD = 0.3
# The customer's purchases this recent are not offered again (unless due for a restock); an
# older one may be offered again for what it is bought with.
RECENT_DAYS = 365
# Of these products (ids), those the store offers in the channel, with their names.
Available = Callable[[list[str]], dict[str, str]]
# Ranked candidates asked of the Host at once (at least; twice `first` when more).
_ASK_BLOCK = 20


@dataclass(frozen=True)
class Pick:
    """A recommended product and why (`recommend.PICK_COLUMNS`)."""

    product_id: str
    name: str  # the store's name when it offers the product, else the ledger's newest
    score: float
    reason: str  # recommend.BOUGHT_WITH or recommend.RESTOCK
    because: str  # the product it was bought with; for a restock the product itself
    because_name: str  # its name on its newest order line in the ledger
    text: str  # "bought with Sencha", "time to restock"
    lift: float | None
    together: int
    # Personal picks: when the customer last bought `because`; None for "also bought".
    last_bought_at: datetime | None = None
    # A restock: the product's usual days between two purchases by one customer.
    interval_days: float | None = None


_READ = ["product_a", "product_b", "name_a", "name_b", "together", "confidence_ab"]
_READ += ["confidence_ba", "lift"]


def _pairs_of(run: BasketRun | None, products: Iterable[str]) -> pd.DataFrame:
    """The run's pairs with any of `products` on either side."""
    products = list(products)
    if run is None or not products:
        return pd.DataFrame(columns=_READ)
    rows = BasketPair.objects.filter(run=run).filter(
        Q(product_a__in=products) | Q(product_b__in=products)
    )
    return pd.DataFrame(list(rows.values_list(*_READ)), columns=_READ)


def _offered(ranked: pd.DataFrame, first: int, available: Available | None) -> pd.DataFrame:
    """The best `first` of the ranked picks that the store offers, named as the store names
    them (`available` None: every pick, with the ledger's names)."""
    if available is None:
        return ranked.head(first)
    ids = ranked["product_id"].tolist()
    names: dict[str, str] = {}
    found = 0
    step = max(2 * first, _ASK_BLOCK)
    for start in range(0, len(ids), step):
        block = available(ids[start : start + step])
        names.update(block)
        found += sum(1 for product in ids[start : start + step] if product in block)
        if found >= first:
            break
    kept = ranked[ranked["product_id"].isin(names)].head(first).copy()
    store_names = kept["product_id"].map(names)
    kept["name"] = store_names.where(store_names.astype(bool), kept["name"])
    return kept


def _checked_first(first: int) -> int:
    if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= MAX_FIRST:
        raise FieldError("first", f"must be a whole number from 1 to {MAX_FIRST}, not {first!r}")
    return first


def also_bought_run(channel: str) -> BasketRun | None:
    """The pairs "also bought" reads in a channel: the customer kind (bought by one customer
    within the window, which includes the same basket), else the order kind when the channel
    has no customer-kind run; None before the first computation."""
    runs = {run.kind: run for run in BasketRun.objects.filter(channel=channel)}
    return runs.get(baskets.CUSTOMER) or runs.get(baskets.ORDER)


def also_bought_for(
    product: str,
    channel: str,
    first: int,
    *,
    kind: str | None = None,
    available: Available | None = None,
) -> list[Pick]:
    """ "Customers who bought this also bought" for `product` in `channel`, best first (by
    confidence, `recommend.also_bought`), never the product itself.

    `kind`: the pairs' kind (`baskets.KINDS`); None: `also_bought_run`'s. `available`: the
    store's offer in the channel (`Available`); None offers any product in the pairs. An
    unknown product or channel has no picks.
    """
    _checked_first(first)
    if kind is None:
        run = also_bought_run(channel)
    elif kind in baskets.KINDS:
        run = BasketRun.objects.filter(channel=channel, kind=kind).first()
    else:
        raise FieldError("kind", f"'{kind}' is not {' or '.join(baskets.KINDS)}")
    pairs = _pairs_of(run, [product])
    if pairs.empty:
        return []
    ranked = recommend.also_bought(pairs, product, len(pairs))
    return _picks(_offered(ranked, first, available))


def _purchases(profile_id: int, channel: str, as_of: datetime) -> pd.DataFrame:
    """The customer's products in the channel with when they last bought each (counted
    orders placed before `as_of`)."""
    bought = (
        OrderLineRecord.objects.filter(
            order__profile_id=profile_id,
            order__channel=channel,
            order__counts=True,
            order__placed_at__lt=as_of,
            product_id__isnull=False,
        )
        .values("product_id")
        .annotate(last_bought_at=Max("order__placed_at"))
        .order_by("product_id")
    )
    return pd.DataFrame(
        list(bought.values_list("product_id", "last_bought_at")),
        columns=["product_id", "last_bought_at"],
    )


def repeat_figures(channel: str, products: Iterable[str]) -> pd.DataFrame:
    """The repeat rate and usual interval (days) of these products among the channel's
    customers, from the repeat report in force (none before its first computation)."""
    rows = (
        product_repeat_rows(level="product", channel=channel)
        .filter(item__in=list(products))
        .order_by()
        .values_list("item", "repeat_rate", "repeat_interval_days")
    )
    frame = pd.DataFrame(list(rows), columns=["product_id", "repeat_rate", "repeat_interval_days"])
    return frame.astype({"repeat_rate": float, "repeat_interval_days": float})


def personal_picks_for(
    profile_id: int,
    channel: str,
    as_of: datetime,
    first: int,
    *,
    available: Available | None = None,
    repeat: pd.DataFrame | None = None,
    repeat_threshold: float = REPEAT_THRESHOLD,
    recent_days: int | None = RECENT_DAYS,
) -> list[Pick]:
    """A customer's picks in `channel`, best first (`recommend.personal_picks`): from their
    counted orders there, the channel's "also bought" pairs (`also_bought_run`) and the
    products' repeat figures (`repeat`: product_id, repeat_rate, repeat_interval_days; None:
    the repeat report in force for the channel).

    A product they bought in the last `recent_days` days is not offered, unless it is a repeat
    buy (repeat rate at least `repeat_threshold`) whose usual interval has passed since they
    last bought it: then it is offered to restock. Only `available` products (None: any).
    """
    _checked_first(first)
    purchases = _purchases(profile_id, channel, as_of)
    if purchases.empty:
        return []
    pairs = _pairs_of(also_bought_run(channel), purchases["product_id"])
    if repeat is None:
        repeat = repeat_figures(channel, purchases["product_id"])
    names = pd.concat(
        [
            pd.Series(pairs["name_a"].to_numpy(), index=pairs["product_a"].to_numpy()),
            pd.Series(pairs["name_b"].to_numpy(), index=pairs["product_b"].to_numpy()),
        ]
    )
    names = names[~names.index.duplicated()]
    purchases["name"] = names.reindex(purchases["product_id"]).fillna("").to_numpy()
    candidates = set(purchases["product_id"]) | set(pairs["product_a"]) | set(pairs["product_b"])
    ranked = recommend.personal_picks(
        purchases,
        pairs,
        repeat,
        as_of,
        candidates,
        len(candidates),
        repeat_threshold=repeat_threshold,
        recent_days=recent_days,
    )
    # A restock is because of the product itself (named as the ledger names it, like the
    # products a pick was bought with).
    restock = ranked["reason"] == recommend.RESTOCK
    ranked.loc[restock, "because"] = ranked.loc[restock, "product_id"]
    ranked.loc[restock, "because_name"] = ranked.loc[restock, "name"]
    picks = _offered(ranked, first, available)
    last = purchases.set_index("product_id")["last_bought_at"]
    interval = repeat.set_index("product_id")["repeat_interval_days"]
    return [
        replace(
            pick,
            last_bought_at=last[pick.because].to_pydatetime(),
            interval_days=(
                float(interval[pick.product_id]) if pick.reason == recommend.RESTOCK else None
            ),
        )
        for pick in _picks(picks)
    ]


def _picks(frame: pd.DataFrame) -> list[Pick]:
    return [
        Pick(
            product_id=row.product_id,
            name=row.name or "",
            score=float(row.score),
            reason=row.reason,
            because=row.because,
            because_name=row.because_name or "",
            text=row.text,
            lift=None if pd.isna(row.lift) else float(row.lift),
            together=int(row.together),
        )
        for row in frame.itertuples(index=False)
    ]

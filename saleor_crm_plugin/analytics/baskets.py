"""Products bought together: support, confidence and lift of product pairs. Pure (numpy, pandas,
scipy.sparse), no Django.

Two kinds of "together":

- **order** (`order_pairs`): in the same basket. The transactions are the orders with at least
  one product line; a product bought on two lines of one order (two variants) counts once.
- **customer** (`customer_pairs`): bought by the same customer within `window_days` of each
  other, in either order (two purchases at most that far apart; one order is 0 days apart).
  This is what "customers who bought this also bought" means in a store people come back to.
  The transactions are the customers with at least one product line.

For a pair of products A and B (A < B by product id, one row per pair), with N transactions of
which n_A hold A, n_B hold B and n_AB hold both:

    support = n_AB / N, confidence_ab = n_AB / n_A (A -> B), confidence_ba = n_AB / n_B,
    lift = n_AB * N / (n_A * n_B)

For the customer kind n_A and n_B count every customer who bought the product (at any time),
so lift compares the pair's customers with what independent buying would give over the whole
history: with a short window it understates affinity (a lift under 1 there does not mean the
products put customers off each other); compare pairs of one window with each other.

Only lines placed before `as_of` count, so every figure can be recomputed for a past date. The
caller passes one channel's lines at a time: recommendations are per channel (what a channel
sells and who buys there differ), and a Saleor channel has one currency, so a channel's pairs
never mix currencies (no money enters these figures anyway).

Speed: the order kind is one sparse product of the orders x products incidence matrix with
itself (X^T X: its diagonal counts the products, the rest the pairs); the customer kind sorts
each customer's purchases by time and joins each to the later ones within the window, in
blocks of customers so that memory stays bounded.
"""

import itertools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import FieldError

__all__ = [
    "COLUMNS",
    "KINDS",
    "Pairs",
    "customer_pairs",
    "latest_names",
    "order_pairs",
]

ORDER, CUSTOMER = "order", "customer"
KINDS = (ORDER, CUSTOMER)
COLUMNS = [
    "product_a",
    "product_b",
    "together",
    "count_a",
    "count_b",
    "support",
    "confidence_ab",
    "confidence_ba",
    "lift",
]
# Window pairs joined at once in the customer kind (about 60 bytes each while a chunk is open).
BLOCK_PAIRS = 2_000_000
_DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Pairs:
    """The pairs (`COLUMNS`, best lift first) and what they were counted over."""

    table: pd.DataFrame
    transactions: int  # orders (order kind) or customers (customer kind) with a product
    products: int  # distinct products in them


def _check(lines: pd.DataFrame, as_of: datetime, columns: list[str]) -> None:
    if as_of.tzinfo is None:
        raise FieldError("as_of", "must be an aware datetime")
    missing = [c for c in columns if c not in lines.columns]
    if missing:
        raise FieldError("lines", f"lack the column(s) {', '.join(missing)}")


def _check_support(min_count: int, min_support: float) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer) or min_count < 1:
        raise FieldError("min_count", f"must be a whole number of 1 or more, not {min_count!r}")
    if not 0 <= min_support <= 1:
        raise FieldError("min_support", f"must be a share from 0 to 1, not {min_support!r}")


def _seen(lines: pd.DataFrame, as_of: datetime, product: str, placed_at: str) -> pd.DataFrame:
    """The lines with a product placed before `as_of`."""
    at = pd.to_datetime(lines[placed_at], utc=True)
    return lines.loc[(at < pd.Timestamp(as_of)).to_numpy() & lines[product].notna().to_numpy()]


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 numbering the distinct values in their sorted order, and the values."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _table(
    a: np.ndarray,
    b: np.ndarray,
    together: np.ndarray,
    counts: np.ndarray,
    transactions: int,
    products: np.ndarray,
    min_count: int,
    min_support: float,
) -> pd.DataFrame:
    """The pair rows from product codes a < b and their counts, above the minimum support."""
    keep = (together >= min_count) & (together >= min_support * transactions - 1e-9)
    a, b, together = a[keep], b[keep], together[keep].astype(np.int64)
    count_a, count_b = counts[a].astype(np.int64), counts[b].astype(np.int64)
    table = pd.DataFrame(
        {
            "product_a": products[a],
            "product_b": products[b],
            "together": together,
            "count_a": count_a,
            "count_b": count_b,
            "support": together / transactions,
            "confidence_ab": together / count_a,
            "confidence_ba": together / count_b,
            "lift": together * float(transactions) / (count_a * count_b.astype(float)),
        }
    )
    order = np.lexsort((b, a, -together, -table["lift"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_a": pd.Series(dtype=object),
            "product_b": pd.Series(dtype=object),
            **{c: pd.Series(dtype=np.int64) for c in ("together", "count_a", "count_b")},
            **{c: pd.Series(dtype=float) for c in ("support", "confidence_ab", "confidence_ba")},
            "lift": pd.Series(dtype=float),
        }
    )


def order_pairs(
    lines: pd.DataFrame,
    as_of: datetime,
    *,
    min_count: int = 1,
    min_support: float = 0.0,
    order: str = "order_id",
    product: str = "product_id",
    placed_at: str = "placed_at",
) -> Pairs:
    """Count the product pairs bought in the same order.

    Parameters
    ----------
    lines : DataFrame, one row per order line, with the named columns (`placed_at` the order's
        aware time; lines without a product are left out)
    as_of : aware datetime; only orders placed before it count
    min_count : a pair needs at least this many orders holding both products
    min_support : and at least this share of the orders (0 to 1)

    Returns
    -------
    Pairs : one row per pair (product_a < product_b), best lift first; transactions = orders
    """
    _check(lines, as_of, [order, product, placed_at])
    _check_support(min_count, min_support)
    seen = _seen(lines, as_of, product, placed_at)
    if seen.empty:
        return Pairs(_empty(), 0, 0)
    order_codes, _ = pd.factorize(seen[order])
    product_codes, products = _codes(seen[product])
    transactions, width = int(order_codes.max()) + 1, len(products)
    incidence = sparse.csr_matrix(
        (np.ones(len(seen), dtype=np.int32), (order_codes, product_codes)),
        shape=(transactions, width),
    )
    incidence.data[:] = 1  # a product on two lines of one order counts once
    both = (incidence.T @ incidence).tocsr()
    counts = both.diagonal()
    upper = sparse.triu(both, k=1).tocoo()
    table = _table(
        upper.row.astype(np.int64),
        upper.col.astype(np.int64),
        upper.data,
        counts,
        transactions,
        products,
        min_count,
        min_support,
    )
    return Pairs(table if len(table) else _empty(), transactions, width)


def customer_pairs(
    lines: pd.DataFrame,
    as_of: datetime,
    window_days: int,
    *,
    min_count: int = 1,
    min_support: float = 0.0,
    customer: str = "customer_id",
    product: str = "product_id",
    placed_at: str = "placed_at",
) -> Pairs:
    """Count the product pairs one customer bought within `window_days` of each other.

    Parameters
    ----------
    lines : DataFrame, one row per order line, with the named columns (`placed_at` the order's
        aware time; lines without a product are left out)
    as_of : aware datetime; only orders placed before it count
    window_days : the most days between the two purchases (0: at the same time, i.e. one order)
    min_count : a pair needs at least this many customers who bought both
    min_support : and at least this share of the customers (0 to 1)

    Returns
    -------
    Pairs : one row per pair (product_a < product_b), best lift first; transactions = customers
    """
    _check(lines, as_of, [customer, product, placed_at])
    _check_support(min_count, min_support)
    if isinstance(window_days, bool) or not isinstance(window_days, int | np.integer):
        raise FieldError("window_days", f"must be a whole number of days, not {window_days!r}")
    if window_days < 0:
        raise FieldError("window_days", f"must be 0 or more, not {window_days}")
    seen = _seen(lines, as_of, product, placed_at)
    if seen.empty:
        return Pairs(_empty(), 0, 0)
    customer_codes, _ = pd.factorize(seen[customer])
    customer_codes = customer_codes.astype(np.int64)
    product_codes, products = _codes(seen[product])
    at = pd.to_datetime(seen[placed_at], utc=True).dt.tz_convert(None)
    seconds = at.to_numpy().astype("datetime64[s]").astype(np.int64)
    seconds -= seconds.min()
    width = len(products)
    transactions = int(customer_codes.max()) + 1

    # The customers who bought each product (at any time before as_of).
    bought = _sorted_unique(customer_codes * width + product_codes)
    counts = np.bincount(bought % width, minlength=width)

    window = window_days * _DAY_SECONDS
    key, product_codes = _purchases(customer_codes, seconds, product_codes, window, width)
    span = int(seconds.max()) + window + 1
    customer_of = key // span
    # Each purchase joins the later ones of its customer within the window.
    later = np.searchsorted(key, key + window, side="right") - np.arange(1, len(key) + 1)

    tally = _Tally(width)
    pending_who, pending_pair = [], []  # customers cut by a chunk's edge, counted at the end
    for start, stop in _chunks(later, BLOCK_PAIRS):
        who, pair = _window_pairs(start, stop, later, customer_of, product_codes, width)
        cut = np.zeros(len(who), dtype=bool)
        if start > 0 and customer_of[start - 1] == customer_of[start]:
            cut |= who == customer_of[start]
        if stop < len(key) and customer_of[stop] == customer_of[stop - 1]:
            cut |= who == customer_of[stop - 1]
        tally.add(pair[~cut])
        if cut.any():
            pending_who.append(who[cut])
            pending_pair.append(pair[cut])
    if pending_who:
        tally.add(_distinct(np.concatenate(pending_who), np.concatenate(pending_pair))[1])
    pairs, together = tally.counts()
    if len(pairs) == 0:
        return Pairs(_empty(), transactions, width)
    table = _table(
        pairs // width,
        pairs % width,
        together,
        counts,
        transactions,
        products,
        min_count,
        min_support,
    )
    return Pairs(table if len(table) else _empty(), transactions, width)


def _purchases(customer_codes, seconds, product_codes, window: int, width: int):
    """The purchases that decide the pairs, sorted by customer and time: as keys
    customer * span + seconds, and their products.

    Of one customer's purchases of one product within one slot of `window` seconds only the
    first and the last are kept: every purchase between them lies within the window of both
    (they are under a window apart), so any purchase of another product within the window of a
    dropped one is within the window of one of the two. A customer who buys a product every
    day then joins a few purchases of it per window instead of all of them.
    """
    span = int(seconds.max()) + window + 1
    key = customer_codes * span + seconds
    order = np.argsort(key, kind="stable")
    slot = seconds[order] // max(window, 1)
    slots = int(seconds.max()) // max(window, 1) + 1
    customers = int(customer_codes.max()) + 1
    ordered_customer, ordered_product = customer_codes[order], product_codes[order]
    if customers * slots * width < 2**62:
        group = (ordered_customer * slots + slot) * width + ordered_product
        within = np.argsort(group, kind="stable")  # time order kept inside a group
        grouped = group[within]
        edge = grouped[1:] != grouped[:-1]
    else:
        within = np.lexsort((ordered_product, slot, ordered_customer))  # stable too
        edge = np.zeros(len(within) - 1, dtype=bool)
        for column in (ordered_customer, slot, ordered_product):
            column = column[within]
            edge |= column[1:] != column[:-1]
    keep = order[within[np.r_[True, edge] | np.r_[edge, True]]]
    keep = keep[np.argsort(key[keep], kind="stable")]
    return key[keep], product_codes[keep]


def _chunks(later: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """(start, stop) ranges of purchases that join about `budget` pairs each."""
    before = np.r_[0, np.cumsum(later)]
    edges = [0]
    while edges[-1] < len(later):
        stop = int(np.searchsorted(before, before[edges[-1]] + budget, side="right")) - 1
        edges.append(min(max(stop, edges[-1] + 1), len(later)))
    return list(itertools.pairwise(edges))


def _window_pairs(start, stop, later, customer_of, product_codes, width):
    """Join each purchase in [start, stop) to the later ones of its customer in the window:
    the (customer, pair) rows of two different products, each once, the pair as
    a * width + b (a < b)."""
    count = later[start:stop]
    total = int(count.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    left = np.repeat(np.arange(start, stop), count)
    right = left + 1 + (np.arange(total) - np.repeat(np.cumsum(count) - count, count))
    a, b = product_codes[left], product_codes[right]
    differ = a != b
    a, b, who = a[differ], b[differ], customer_of[left[differ]]
    return _distinct(who, np.minimum(a, b) * width + np.maximum(a, b))


def _distinct(who: np.ndarray, pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (who, pair) rows, sorted."""
    if len(who) == 0:
        return who, pair
    low = int(who.min())
    high = int(pair.max()) + 1
    if (int(who.max()) - low + 1) < 2**62 // high:
        keys = _sorted_unique((who - low) * high + pair)
        return keys // high + low, keys % high
    order = np.lexsort((pair, who))
    who, pair = who[order], pair[order]
    first = np.r_[True, (who[1:] != who[:-1]) | (pair[1:] != pair[:-1])]
    return who[first], pair[first]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (numpy's `unique` hashes, which is far slower on millions
    of integers than sorting them)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


# Pairs of products counted in one array when there are at most this many (32 MB).
DENSE_PAIRS = 2**22


class _Tally:
    """How many times each pair key (a * width + b) was added."""

    def __init__(self, width: int):
        self.width = width
        self.dense = np.zeros(width * width, dtype=np.int64) if width**2 <= DENSE_PAIRS else None
        self.parts = []

    def add(self, pairs: np.ndarray) -> None:
        if self.dense is not None:
            self.dense += np.bincount(pairs, minlength=len(self.dense))
        else:
            self.parts.append(pairs)

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """The pair keys added, sorted, and their counts."""
        if self.dense is not None:
            keys = np.flatnonzero(self.dense)
            return keys, self.dense[keys]
        if not self.parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        keys = np.sort(np.concatenate(self.parts))
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        return keys[starts], np.diff(np.r_[starts, len(keys)])


def latest_names(
    lines: pd.DataFrame,
    *,
    product: str = "product_id",
    name: str = "product_name",
    placed_at: str = "placed_at",
) -> pd.Series:
    """Each product's name on its most recent line (a product renamed shows its new name).

    Returns
    -------
    Series : name by product id, sorted by product id
    """
    missing = [c for c in (product, name, placed_at) if c not in lines.columns]
    if missing:
        raise FieldError("lines", f"lack the column(s) {', '.join(missing)}")
    named = lines.loc[lines[product].notna(), [product, name, placed_at]].reset_index(drop=True)
    if named.empty:
        return pd.Series(dtype=object, name=name)
    at = pd.to_datetime(named[placed_at], utc=True)
    latest = at.groupby(named[product].to_numpy()).idxmax()
    names = pd.Series(named.loc[latest.to_numpy(), name].to_numpy(), index=latest.index, name=name)
    return names.sort_index()

"""Repeat and retention reports over the order ledger: repeat rate per product (variant,
category), F2 conversion, cohort retention with realised LTV, and LTV by group. Pure (pandas,
numpy and `money`), no Django.

The conventions are `lifetime.summarise`'s: the caller passes the orders that count, and only
those placed before `as_of` are seen, so every figure can be recomputed for a past date. A
customer's purchases are their order days in UTC: several orders on one day are one purchase,
and "a second order" is a purchase on a later day. Days between purchases are whole UTC days;
a customer's first-order month (their cohort) is the UTC month of their first purchase.

A window of N days after a first purchase on day D (days D+1 .. D+N) is observed once it has
ended: when day D+N is over at `as_of`. Shares within a window count only the customers whose
window is observed (`observed_N`), so a young cohort shows how many of its customers could be
judged so far, and none (share None) before any could.

Money: the orders' amounts come in as integers in their currency's minor unit (`money
.minor_unit`: JPY 1, USD 0.01) and leave as Decimals of that currency, never summed across
currencies and never floats. One module for the four reports, because they share their first
steps (the purchase days, each customer's first and second purchase, the channel scopes).

Every report but LTV is computed for all channels together (channel `ALL`) and for each channel
alone (as if the store were that channel: a customer's first order is then their first order
in it); the repeat rate and F2 also for all first-order months together (`ALL`) and for each.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from ..money import minor_unit, quantize_amount

__all__ = [
    "ALL",
    "F2_WINDOWS",
    "REPEAT_WINDOWS",
    "cohort_retention",
    "f2_conversion",
    "ltv_by_group",
    "product_repeat",
]

ALL = ""  # the channel, or first-order month, of a row over all of them
REPEAT_WINDOWS = (30, 60, 90, 180)  # days: a second order within these, after a first
F2_WINDOWS = (30, 60, 90)
_NONE = np.iinfo(np.int64).min  # no such day


def _unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (by sorting: numpy's hash-based `unique` is several times
    slower on millions of integers)."""
    ordered = np.sort(values, kind="stable" if values.dtype == object else None)
    if len(ordered) == 0:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def _unique_with_index(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distinct = _unique(values)
    return distinct, np.searchsorted(distinct, values)


def _check(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack the column(s) {', '.join(missing)}")


def _utc(as_of: datetime) -> pd.Timestamp:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    return pd.Timestamp(as_of).tz_convert("UTC")


def _instants(values: pd.Series) -> np.ndarray:
    """The times as naive UTC datetime64[ns]."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")


def _month_labels(months: np.ndarray) -> list[str]:
    """'YYYY-MM' of months counted from 1970-01."""
    return [f"{1970 + int(m) // 12:04d}-{int(m) % 12 + 1:02d}" for m in months]


def _month_of_day(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole per row, None where whole is 0 (an object column: None stays None)."""
    return np.array(
        [None if w == 0 else float(p) / float(w) for p, w in zip(part, whole, strict=True)],
        dtype=object,
    )


def _amount(minor: int, currency: str) -> Decimal:
    return Decimal(int(minor)).scaleb(-minor_unit(currency))


def _per_customer(minor, customers: int, currency: str) -> Decimal | None:
    """An amount in minor units over a number of customers, rounded to the currency."""
    if customers == 0:
        return None
    exact = (Decimal(int(minor)) / customers).scaleb(-minor_unit(currency))
    return quantize_amount(exact, currency)


class _Orders:
    """The counted orders placed before `as_of`, as arrays (positions into the caller's frame)."""

    def __init__(self, orders: pd.DataFrame, as_of: datetime, columns: dict[str, str]):
        _check(orders, list(columns.values()), "orders")
        end = _utc(as_of).tz_localize(None).to_datetime64()
        at = _instants(orders[columns["placed_at"]])
        self.position = np.flatnonzero(at < end)
        self.day = at[self.position].astype("datetime64[D]").astype(np.int64)
        # Days before this one have ended at as_of, and so have months before this one.
        self.open_day = int(np.datetime64(end, "D").astype(np.int64))
        self.open_month = int(np.datetime64(end, "M").astype(np.int64))
        self.columns = columns
        self.frame = orders
        self.size = len(orders)

    def values(self, name: str) -> np.ndarray:
        return self.frame[self.columns[name]].to_numpy()[self.position]

    def lines_rows(self, lines: pd.DataFrame, order: str) -> np.ndarray:
        """For each line, the index of its order among the kept ones (-1: not kept)."""
        at = pd.Index(self.frame[self.columns["order"]]).get_indexer(lines[order])
        kept = np.full(self.size + 1, -1, dtype=np.int64)
        kept[self.position] = np.arange(len(self.position))
        return kept[np.where(at >= 0, at, self.size)]


class _Scope:
    """One scope's orders (rows of `_Orders`) and its customers' first and second purchase."""

    def __init__(self, rows: np.ndarray, customer: np.ndarray, day: np.ndarray):
        self.rows = rows
        self.code, self.ids = pd.factorize(customer[rows])
        self.day = day[rows]
        count = len(self.ids)
        self.first_day = np.full(count, _NONE, dtype=np.int64)
        self.second_day = np.full(count, _NONE, dtype=np.int64)
        if count == 0:
            self.first_month = np.zeros(0, dtype=np.int64)
            return
        low = int(self.day.min())
        span = int(self.day.max()) - low + 1
        unique = _unique(self.code.astype(np.int64) * span + (self.day - low))
        codes, days = unique // span, unique % span + low
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        self.first_day[codes[starts]] = days[starts]
        after = starts + 1
        has = after < len(codes)
        has[has] = codes[after[has]] == codes[starts[has]]
        self.second_day[codes[starts[has]]] = days[after[has]]
        self.first_month = _month_of_day(self.first_day)

    @property
    def has_second(self) -> np.ndarray:
        return self.second_day != _NONE

    def windows(self, windows, open_day: int, first_day=None, second_day=None):
        """Per window: observed (the window has ended) and converted (a second purchase in it)."""
        first = self.first_day if first_day is None else first_day
        second = self.second_day if second_day is None else second_day
        gap = np.where(second != _NONE, second - first, np.iinfo(np.int64).max)
        out = {}
        for days in windows:
            observed = first + days < open_day
            out[days] = (observed, observed & (gap <= days))
        return out


def _scopes(orders: _Orders, compute: Callable[[_Scope], pd.DataFrame]) -> pd.DataFrame:
    """`compute` for all channels together (ALL) and for each channel alone, with `channel`
    first; one channel's rows are the whole store's."""
    customer, channel = orders.values("customer"), orders.values("channel")
    every = _Scope(np.arange(len(orders.position)), customer, orders.day)
    whole = compute(every)
    names = sorted(set(channel.tolist()))
    parts = [whole.assign(channel=ALL)]
    for name in names:
        part = (
            whole
            if len(names) == 1
            else compute(_Scope(np.flatnonzero(channel == name), customer, orders.day))
        )
        parts.append(part.assign(channel=name))
    parts = [part for part in parts if len(part)] or parts[:1]  # an empty part has no dtypes
    result = pd.concat(parts, ignore_index=True)
    return result[["channel", *[c for c in result.columns if c != "channel"]]]


def _line_items(kept: _Orders, lines: pd.DataFrame, order: str, item: str, name: str | None):
    """The lines with an item whose order is kept: their orders' rows in `kept`, their items'
    codes, the distinct items, and each item's name as on its last line (in the lines' order).

    A categorical item column is read through its codes (what the services pass: millions of
    lines, a few thousand items)."""
    _check(lines, [order, item] + ([name] if name else []), "lines")
    values = lines[item]
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        items = np.asarray(values.cat.categories, dtype=object)
    else:
        codes, items = pd.factorize(values.to_numpy())
        codes, items = codes.astype(np.int64), np.asarray(items, dtype=object)
    line_order = kept.lines_rows(lines, order)
    usable = np.flatnonzero((line_order >= 0) & (codes >= 0))
    names = np.full(len(items), "", dtype=object)
    if name and len(usable):
        last = pd.Series(codes[usable]).drop_duplicates(keep="last")
        found = lines[name].iloc[usable[last.index.to_numpy()]].astype(object).to_numpy()
        names[last.to_numpy()] = ["" if pd.isna(text) else str(text) for text in found]
    return line_order[usable], codes[usable], items, names


def _group_medians(keys: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """The median of `values` per key 0..count-1 (NaN where a key has none)."""
    if len(values) == 0:
        return np.full(count, np.nan)
    medians = pd.Series(values, dtype=float).groupby(keys).median()
    out = np.full(count, np.nan)
    out[medians.index.to_numpy()] = medians.to_numpy()
    return out


def _none(values: np.ndarray) -> np.ndarray:
    return np.array([None if np.isnan(v) else float(v) for v in values], dtype=object)


def product_repeat(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    as_of: datetime,
    *,
    item: str = "product_id",
    name: str | None = "product_name",
    windows: tuple[int, ...] = REPEAT_WINDOWS,
    order: str = "order_id",
    customer: str = "customer_id",
    placed_at: str = "placed_at",
    channel: str = "channel",
) -> pd.DataFrame:
    """Repeat rate per item (a product, a variant or a category: the `item` column of `lines`).

    For each channel scope (ALL and each channel) and first-order month (ALL and each), and
    each item bought in it:

    - ``buyers``: customers who bought the item; ``repeat_buyers``: those who bought it on
      two or more purchase days; ``repeat_rate`` = repeat_buyers / buyers;
    - ``first_buyers``: customers whose first purchase contained the item; for each window N,
      ``observed_N`` of them with the window over and ``second_N`` of those with a second
      purchase (any item) within N days, ``share_N`` = second_N / observed_N (None: none
      observed yet);
    - ``median_days_to_second``: over the first buyers with a second purchase so far;
    - ``repeat_interval_days``: the median, over every customer's consecutive purchase days of
      the item (pooled), of the days between them (None: nobody bought it twice).

    Parameters
    ----------
    orders : DataFrame
        The orders that count: `order`, `customer`, `placed_at` (aware) and `channel` columns.
    lines : DataFrame
        Order lines: `order`, `item` and (unless None) `name`; lines without an item are left
        out, as are lines of orders not in `orders` or placed at or after `as_of`.
    as_of : datetime
        Aware; the end of the observation.
    item, name, order, customer, placed_at, channel : str
        Column names.
    windows : tuple of int
        The windows in days.

    Returns
    -------
    DataFrame
        One row per channel, first_month ('YYYY-MM' or ALL, first) and item (in the order of
        their first line), with ``item``, ``name`` and the figures above.
    """
    columns = {"order": order, "customer": customer, "placed_at": placed_at, "channel": channel}
    kept = _Orders(orders, as_of, columns)
    line_order, item_codes, items, item_names = _line_items(kept, lines, order, item, name)

    def compute(scope: _Scope) -> pd.DataFrame:
        in_scope = np.full(len(kept.position), -1, dtype=np.int64)
        in_scope[scope.rows] = np.arange(len(scope.rows))
        row = in_scope[line_order]
        taken = row >= 0
        return _repeat_table(
            scope, row[taken], item_codes[taken], items, item_names, windows, kept.open_day
        )

    return _scopes(kept, compute)


def _repeat_columns(windows) -> list[str]:
    columns = ["first_month", "item", "name", "buyers", "repeat_buyers", "repeat_rate"]
    columns.append("first_buyers")
    for days in windows:
        columns += [f"observed_{days}", f"second_{days}", f"share_{days}"]
    return [*columns, "median_days_to_second", "repeat_interval_days"]


def _repeat_table(scope, row, item_codes, items, item_names, windows, open_day) -> pd.DataFrame:
    """The repeat figures of one scope's lines (`row`: their orders in the scope)."""
    if len(row) == 0:
        return pd.DataFrame({column: [] for column in _repeat_columns(windows)})
    code = scope.code[row].astype(np.int64)
    day = scope.day[row]
    customers = len(scope.ids)
    low, span = int(day.min()), int(day.max()) - int(day.min()) + 1
    # (item, customer, purchase day) once each, sorted: a pair's days in a run, in order.
    unique = _unique((item_codes.astype(np.int64) * customers + code) * span + (day - low))
    pair, days = unique // span, unique % span + low
    start = np.r_[True, pair[1:] != pair[:-1]]
    starts = np.flatnonzero(start)
    pair_id = np.cumsum(start) - 1
    pair_item, pair_customer = pair[starts] // customers, pair[starts] % customers
    first_day = scope.first_day[pair_customer]
    second = scope.second_day[pair_customer]
    first_in = days[starts] == first_day
    gap_rows = np.flatnonzero(~start)
    pairs = {
        "repeat": np.diff(np.r_[starts, len(pair)]) >= 2,
        "first_in": first_in,
        "to_second": np.where(first_in & (second != _NONE), second - first_day, -1),
        "windows": scope.windows(windows, open_day, first_day, second),
        "gap_pair": pair_id[gap_rows],
        "gap": (days[gap_rows] - days[gap_rows - 1]).astype(float),
    }
    months, month_index = _unique_with_index(scope.first_month[pair_customer])
    count = len(items)
    overall = _repeat_figures(pair_item, count, pairs, windows)
    monthly = _repeat_figures(month_index * count + pair_item, len(months) * count, pairs, windows)
    frames = [
        _repeat_frame(overall, [ALL], count, items, item_names, windows),
        _repeat_frame(monthly, _month_labels(months), count, items, item_names, windows),
    ]
    return pd.concat(frames, ignore_index=True)


def _repeat_figures(keys: np.ndarray, size: int, pairs: dict, windows) -> dict:
    """The counts and medians per group key (0 .. size-1) of (customer, item) pairs."""

    def total(mask):
        return np.bincount(keys[mask], minlength=size)

    figures = {
        "buyers": np.bincount(keys, minlength=size),
        "repeat_buyers": total(pairs["repeat"]),
        "first_buyers": total(pairs["first_in"]),
    }
    for days in windows:
        observed, converted = pairs["windows"][days]
        figures[f"observed_{days}"] = total(pairs["first_in"] & observed)
        figures[f"second_{days}"] = total(pairs["first_in"] & converted)
    reached = pairs["to_second"] >= 0
    figures["median_days_to_second"] = _group_medians(
        keys[reached], pairs["to_second"][reached], size
    )
    figures["repeat_interval_days"] = _group_medians(keys[pairs["gap_pair"]], pairs["gap"], size)
    return figures


def _repeat_frame(figures, month_labels, count, items, item_names, windows) -> pd.DataFrame:
    present = np.flatnonzero(figures["buyers"])
    item_index = present % count
    names = np.asarray(item_names, dtype=object)
    frame = {
        "first_month": np.asarray(month_labels, dtype=object)[present // count],
        "item": np.asarray(items, dtype=object)[item_index],
        "name": names[item_index],
        "buyers": figures["buyers"][present],
        "repeat_buyers": figures["repeat_buyers"][present],
        "repeat_rate": _share(figures["repeat_buyers"][present], figures["buyers"][present]),
        "first_buyers": figures["first_buyers"][present],
    }
    for days in windows:
        observed = figures[f"observed_{days}"][present]
        second = figures[f"second_{days}"][present]
        frame |= {
            f"observed_{days}": observed,
            f"second_{days}": second,
            f"share_{days}": _share(second, observed),
        }
    frame["median_days_to_second"] = _none(figures["median_days_to_second"][present])
    frame["repeat_interval_days"] = _none(figures["repeat_interval_days"][present])
    return pd.DataFrame(frame)


def f2_conversion(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    as_of: datetime,
    *,
    product: str = "product_id",
    name: str | None = "product_name",
    subscription_start: str = "subscription_start",
    windows: tuple[int, ...] = F2_WINDOWS,
    order: str = "order_id",
    customer: str = "customer_id",
    placed_at: str = "placed_at",
    channel: str = "channel",
) -> pd.DataFrame:
    """First-time buyers per first-order month and the share who ordered again within each
    window, overall and split by first product and by whether the first order started a
    subscription.

    Rows per channel scope and first-order month ('YYYY-MM', and ALL for every month):

    - ``by`` "all" (``value`` ""): every first-time buyer;
    - ``by`` "subscription", ``value`` "yes" / "no": whether one of the orders of the first
      purchase day started a subscription (the `subscription_start` column);
    - ``by`` "product", ``value`` a product id (``name`` its name): the customers whose first
      purchase contained it (a first purchase of two products counts under both).

    Each with ``first_buyers`` and, per window N, ``observed_N`` (first buyers whose window has
    ended), ``second_N`` (of those, with a second purchase within N days) and ``share_N``
    (second_N / observed_N; None while no window of the group has ended).

    Parameters
    ----------
    orders : DataFrame
        The orders that count: `order`, `customer`, `placed_at` (aware), `channel` and
        `subscription_start` (bool) columns.
    lines : DataFrame
        Order lines: `order`, `product` and (unless None) `name`.
    as_of : datetime
        Aware; the end of the observation.
    windows : tuple of int
        The windows in days.

    Returns
    -------
    DataFrame
        Sorted by channel, first_month (ALL first), by and value.
    """
    columns = {
        "order": order,
        "customer": customer,
        "placed_at": placed_at,
        "channel": channel,
        "subscription_start": subscription_start,
    }
    kept = _Orders(orders, as_of, columns)
    line_order, product_codes, products, product_names = _line_items(
        kept, lines, order, product, name
    )
    starts = kept.values("subscription_start").astype(bool)

    def compute(scope: _Scope) -> pd.DataFrame:
        count = len(scope.ids)
        on_first = scope.day == scope.first_day[scope.code]
        started = np.zeros(count, dtype=bool)
        started[scope.code[on_first & starts[scope.rows]]] = True
        in_scope = np.full(len(kept.position), -1, dtype=np.int64)
        in_scope[scope.rows] = np.arange(len(scope.rows))
        row = in_scope[line_order]
        taken = row >= 0
        row, codes = row[taken], product_codes[taken]
        first_line = on_first[row]
        pairs = _unique(
            scope.code[row[first_line]].astype(np.int64) * max(len(products), 1) + codes[first_line]
        )
        pair_customer, pair_product = pairs // max(len(products), 1), pairs % max(len(products), 1)
        window = scope.windows(windows, kept.open_day)
        units = [  # (by, value code, customer)
            (0, np.zeros(count, dtype=np.int64), np.arange(count)),
            (1, started.astype(np.int64), np.arange(count)),
            (2, pair_product, pair_customer),
        ]
        frames = [
            pd.DataFrame(
                {
                    "by": by,
                    "value": value,
                    "month": scope.first_month[who],
                    "first_buyers": 1,
                    **{
                        f"{kind}_{days}": window[days][index][who]
                        for days in windows
                        for index, kind in enumerate(("observed", "second"))
                    },
                }
            )
            for by, value, who in units
        ]
        table = pd.concat(frames, ignore_index=True)
        grouped = [
            table.groupby(["by", "value"], sort=True).sum().drop(columns="month").reset_index(),
            table.groupby(["month", "by", "value"], sort=True).sum().reset_index(),
        ]
        grouped[0]["first_month"] = ALL
        grouped[1]["first_month"] = _month_labels(grouped[1]["month"].to_numpy())
        result = pd.concat(grouped, ignore_index=True).drop(columns="month")
        labels = np.asarray(products, dtype=object)
        names = np.asarray(product_names, dtype=object)
        kinds = ("all", "subscription", "product")
        by, value = result["by"].to_numpy(), result["value"].to_numpy()
        result["by"] = [kinds[b] for b in by]
        result["value"] = [
            labels[v] if b == 2 else ("yes" if v else "no") if b == 1 else ""
            for b, v in zip(by, value, strict=True)
        ]
        result["name"] = [names[v] if b == 2 else "" for b, v in zip(by, value, strict=True)]
        out = ["first_month", "by", "value", "name", "first_buyers"]
        for days in windows:
            observed, second = result[f"observed_{days}"], result[f"second_{days}"]
            result[f"share_{days}"] = _share(second.to_numpy(), observed.to_numpy())
            out += [f"observed_{days}", f"second_{days}", f"share_{days}"]
        return result[out]

    return _scopes(kept, compute)


def cohort_retention(
    orders: pd.DataFrame,
    as_of: datetime,
    *,
    amount: str = "amount",
    currency: str = "currency",
    customer: str = "customer_id",
    placed_at: str = "placed_at",
    channel: str = "channel",
) -> pd.DataFrame:
    """Customers by first-order month and months since it, per currency: the share of the
    cohort with a purchase in that month, its revenue, the revenue per customer of the cohort
    (realised LTV of the month) and the cumulative revenue per customer up to that month.

    A cohort is per currency: the customers whose first purchase in the currency (in the
    channel scope) was in that month; its revenue is of that currency alone. Months run from
    the cohort's (0) to `as_of`'s, the last one ``complete`` False while it has not ended.

    Parameters
    ----------
    orders : DataFrame
        The orders that count: `customer`, `placed_at` (aware), `channel`, `currency` and
        `amount`, an integer in the currency's minor unit (what the customer spent).
    as_of : datetime
        Aware; the end of the observation.

    Returns
    -------
    DataFrame
        channel, currency, cohort_month, months_since, customers (the cohort's size), active,
        retention (active / customers), revenue, revenue_per_customer,
        cumulative_per_customer (Decimals of the currency) and complete; sorted by them.
    """
    columns = {
        "customer": customer,
        "placed_at": placed_at,
        "channel": channel,
        "currency": currency,
        "amount": amount,
    }
    kept = _Orders(orders, as_of, columns)
    _integers(orders[amount], amount)
    customer_values, currency_values = kept.values("customer"), kept.values("currency")
    amounts = kept.values("amount").astype(np.int64)
    last_month = _last_month(as_of)

    def compute(scope: _Scope) -> pd.DataFrame:
        frames = []
        in_scope = currency_values[scope.rows]
        for code in sorted(set(in_scope.tolist())):
            part = _Scope(scope.rows[in_scope == code], customer_values, kept.day)
            frames.append(_cohorts(part, amounts, code, last_month, kept.open_month))
        if not frames:
            return _cohorts(None, amounts, "", last_month, kept.open_month)
        return pd.concat(frames, ignore_index=True)

    return _scopes(kept, compute)


def _last_month(as_of: datetime) -> int:
    """The month of the last instant before `as_of`."""
    end = _utc(as_of).tz_localize(None).to_datetime64() - np.timedelta64(1, "ns")
    return int(np.datetime64(end, "M").astype(np.int64))


def _integers(values: pd.Series, column: str) -> None:
    if not pd.api.types.is_integer_dtype(values.dtype):
        raise ValueError(
            f"{column} must hold integers in the currency's minor unit, not {values.dtype}"
        )


def _sums(keys: np.ndarray, amounts: np.ndarray, size: int) -> np.ndarray:
    """Integer sums of the amounts per key 0..size-1: exact (float sums of integers are exact
    while every partial sum stays below 2**53, else integer addition)."""
    if np.abs(amounts).sum(dtype=np.float64) < 2**53:
        return np.rint(np.bincount(keys, weights=amounts, minlength=size)).astype(np.int64)
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, keys, amounts)
    return sums


def _cohorts(scope, amounts, currency, last_month, open_month) -> pd.DataFrame:
    columns = [
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
    if scope is None or len(scope.ids) == 0:
        return pd.DataFrame({column: [] for column in columns})
    month = _month_of_day(scope.day)
    cohort = scope.first_month[scope.code]
    low = int(scope.first_month.min())
    width = last_month - low + 1
    key = (cohort - low) * width + (month - cohort)  # (cohort, months since)
    size = width * width
    revenue = _sums(key, amounts[scope.rows], size)
    customers_key = _unique(key * len(scope.ids) + scope.code) // len(scope.ids)
    active = np.bincount(customers_key, minlength=size)
    sizes = np.bincount(scope.first_month - low, minlength=width)
    rows = []
    for index in np.flatnonzero(sizes):
        first = low + index
        total = 0
        for since in range(last_month - first + 1):
            cell = index * width + since
            total += int(revenue[cell])
            cohort_size = int(sizes[index])
            rows.append(
                (
                    currency,
                    _month_labels([first])[0],
                    since,
                    cohort_size,
                    int(active[cell]),
                    int(active[cell]) / cohort_size,
                    _amount(revenue[cell], currency),
                    _per_customer(revenue[cell], cohort_size, currency),
                    _per_customer(total, cohort_size, currency),
                    first + since < open_month,
                )
            )
    return pd.DataFrame(rows, columns=columns)


def ltv_by_group(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    as_of: datetime,
    *,
    segments: pd.DataFrame | None = None,
    ranks: pd.DataFrame | None = None,
    product: str = "product_id",
    name: str | None = "product_name",
    segment: str = "segment",
    rank: str = "rank",
    no_rank: str = "",
    amount: str = "amount",
    currency: str = "currency",
    order: str = "order_id",
    customer: str = "customer_id",
    placed_at: str = "placed_at",
) -> pd.DataFrame:
    """Realised lifetime value (what each customer spent before `as_of`) per currency, by the
    customer's RFM segment, their rank and the products of their first purchase.

    Rows: ``by`` "segment" (``value`` the segment in the currency, "" unscored), "rank"
    (``value`` the rank, `no_rank` for a customer without one) or "first_product" (``value`` a product id of the first
    purchase in the currency, ``name`` its name; a first purchase of two products counts
    under both), with ``customers``, ``revenue`` (their total), ``average`` and ``median``
    (per customer), Decimals of the currency.

    Parameters
    ----------
    orders : DataFrame
        The orders that count: `order`, `customer`, `placed_at` (aware), `currency` and
        `amount` (an integer in the currency's minor unit).
    lines : DataFrame
        Order lines: `order`, `product` and (unless None) `name`.
    as_of : datetime
        Aware; the end of the observation.
    segments : DataFrame, optional
        `customer`, `currency` and `segment`: the segment in force per customer and currency.
    ranks : DataFrame, optional
        `customer` and `rank`: the rank each customer holds.
    no_rank : str
        The rank of a customer not in `ranks`.

    Returns
    -------
    DataFrame
        Sorted by currency, by and value.
    """
    columns = {
        "order": order,
        "customer": customer,
        "placed_at": placed_at,
        "currency": currency,
        "amount": amount,
    }
    kept = _Orders(orders, as_of, columns)
    _integers(orders[amount], amount)
    if segments is not None:
        _check(segments, [customer, currency, segment], "segments")
    if ranks is not None:
        _check(ranks, [customer, rank], "ranks")
    line_order, product_codes, products, product_names = _line_items(
        kept, lines, order, product, name
    )
    customer_values, currency_values = kept.values("customer"), kept.values("currency")
    amounts = kept.values("amount").astype(np.int64)
    rank_of = (
        pd.Series(dtype=object)
        if ranks is None
        else pd.Series(ranks[rank].to_numpy(), index=ranks[customer].to_numpy())
    )
    names = dict(zip(products, product_names, strict=True))
    frames = []
    for code in sorted(set(currency_values.tolist())):
        scope = _Scope(np.flatnonzero(currency_values == code), customer_values, kept.day)
        spent = _sums(scope.code, amounts[scope.rows], len(scope.ids))
        segment_of = pd.Series(dtype=object)
        if segments is not None:
            mine = segments[segments[currency] == code]
            segment_of = pd.Series(mine[segment].to_numpy(), index=mine[customer].to_numpy())
        ids = pd.Series(scope.ids)
        everyone = np.arange(len(ids))
        units = [
            ("segment", _labels(ids.map(segment_of), ""), everyone),
            ("rank", _labels(ids.map(rank_of), no_rank), everyone),
        ]
        in_scope = np.full(len(kept.position), -1, dtype=np.int64)
        in_scope[scope.rows] = np.arange(len(scope.rows))
        row = in_scope[line_order]
        taken = row >= 0
        row, codes = row[taken], product_codes[taken]
        first_line = scope.day[row] == scope.first_day[scope.code[row]]
        width = max(len(products), 1)
        pairs = _unique(scope.code[row[first_line]].astype(np.int64) * width + codes[first_line])
        units.append(("first_product", products[pairs % width], pairs // width))
        for by, values, who in units:
            table = pd.DataFrame({"value": values, "spent": spent[who]})
            grouped = table.groupby("value", sort=True)["spent"]
            summary = pd.DataFrame(
                {
                    "customers": grouped.size(),
                    "revenue": grouped.sum(),
                    "median": grouped.median(),
                }
            )
            frames.append(
                pd.DataFrame(
                    {
                        "currency": code,
                        "by": by,
                        "value": summary.index.to_numpy(dtype=object),
                        "name": [
                            names.get(v, "") if by == "first_product" else "" for v in summary.index
                        ],
                        "customers": summary["customers"].to_numpy(),
                        "revenue": [_amount(v, code) for v in summary["revenue"]],
                        "average": [
                            _per_customer(v, n, code)
                            for v, n in zip(summary["revenue"], summary["customers"], strict=True)
                        ],
                        "median": [
                            quantize_amount(Decimal(repr(float(v))).scaleb(-minor_unit(code)), code)
                            for v in summary["median"]
                        ],
                    }
                )
            )
    columns_out = ["currency", "by", "value", "name", "customers", "revenue", "average", "median"]
    if not frames:
        return pd.DataFrame({column: [] for column in columns_out})
    by_order = {"segment": 0, "rank": 1, "first_product": 2}
    result = pd.concat(frames, ignore_index=True)
    result = result.sort_values(
        ["currency", "by", "value"], key=lambda s: s.map(by_order) if s.name == "by" else s
    )
    return result[columns_out].reset_index(drop=True)


def _labels(values: pd.Series, missing: str) -> np.ndarray:
    return values.astype(object).where(values.notna(), missing).astype(str).to_numpy(dtype=object)

"""The basket pairs on the ledger: computed nightly per channel and kind (`compute_baskets`,
stored as `BasketRun` + `BasketPair`), and read by the pages and the CSV export from storage
(`top_pairs`, `pairs_csv_rows`) and by the recommendations (`recommend_services`).

The pairs are counted per channel: a Saleor channel sells its own assortment in one currency,
and recommendations are asked for in a channel. The ledger's counted orders (placed, not
cancelled, not refunded in full) count; their lines without a product do not.

Reading the ledger: on PostgreSQL one COPY of the needed columns of the lines joined to their
orders (`frames.copy_frame`: the strings as categoricals, so a million orders never become
Python objects); elsewhere (the sandbox's SQLite) the ORM.
"""

import logging
import time
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest

from ..customers.models import OrderLineRecord
from ..errors import FieldError
from ..rows import add_rows
from ..segments.export import CsvText
from . import baskets
from .frames import copy_frame
from .models import BasketPair, BasketRun

__all__ = [
    "CSV_COLUMNS",
    "SORTS",
    "basket_lines",
    "basket_runs",
    "compute_baskets",
    "ledger_lines",
    "pairs_csv_rows",
    "top_pairs",
]

logger = logging.getLogger(__name__)

_LINES_SQL = """
SELECT o.channel, l.order_id, o.profile_id, floor(extract(epoch FROM o.placed_at))::bigint,
       l.product_id, translate(l.product_name, E'\\n\\r', '  ')
FROM saleor_crm_orderlinerecord l JOIN saleor_crm_orderrecord o ON o.id = l.order_id
WHERE o.counts AND o.placed_at < %s AND l.product_id IS NOT NULL
"""
_COLUMNS = ["channel", "order_id", "customer_id", "seconds", "product_id", "product_name"]
_DTYPES = {
    "channel": "category",
    "order_id": "int64",
    "customer_id": "int64",
    "seconds": "int64",
    "product_id": "category",
    "product_name": "category",
}
_PAIR_FIELDS = [
    "run",
    "product_a",
    "product_b",
    "name_a",
    "name_b",
    "together",
    "count_a",
    "count_b",
    "support",
    "confidence_ab",
    "confidence_ba",
    "lift",
]


def ledger_lines(as_of: datetime) -> pd.DataFrame:
    """The product lines of the counted orders placed before `as_of`: channel, order_id,
    customer_id (the profile), placed_at, product_id, product_name (strings as categoricals)."""
    if connection.vendor == "postgresql":
        frame = copy_frame(_LINES_SQL, [as_of], _COLUMNS, _DTYPES)
    else:
        rows = OrderLineRecord.objects.filter(
            order__counts=True, order__placed_at__lt=as_of, product_id__isnull=False
        ).values_list(
            "order__channel",
            "order_id",
            "order__profile_id",
            "order__placed_at",
            "product_id",
            "product_name",
        )
        frame = pd.DataFrame(list(rows.iterator(chunk_size=20_000)), columns=_COLUMNS)
        at = pd.to_datetime(frame.pop("seconds"), utc=True)
        frame["seconds"] = (
            at.dt.tz_convert(None).to_numpy().astype("datetime64[s]").astype(np.int64)
        )
        frame = frame.astype(_DTYPES)
    frame["placed_at"] = pd.to_datetime(frame.pop("seconds").to_numpy(), unit="s", utc=True)
    return frame


def compute_baskets(
    as_of: datetime, window_days: int, min_count: int, min_share: float
) -> list[BasketRun]:
    """Count every channel's pairs of both kinds and store them; return the runs.

    Each (channel, kind) is replaced in its own transaction: readers see the previous pairs
    until the new ones commit. A channel without counted orders any more loses its pairs.
    """
    lines = ledger_lines(as_of)
    names = baskets.latest_names(lines)
    runs = []
    channels = [str(c) for c in lines["channel"].unique()] if len(lines) else []
    for channel in sorted(channels):
        part = lines[(lines["channel"] == channel).to_numpy()]
        for kind in baskets.KINDS:
            started = time.monotonic()
            if kind == baskets.ORDER:
                pairs = baskets.order_pairs(part, as_of, min_count=min_count, min_support=min_share)
            else:
                pairs = baskets.customer_pairs(
                    part, as_of, window_days, min_count=min_count, min_support=min_share
                )
            runs.append(
                _store(
                    channel,
                    kind,
                    pairs,
                    names,
                    as_of=as_of,
                    window_days=window_days if kind == baskets.CUSTOMER else None,
                    min_count=min_count,
                    min_share=min_share,
                    started=started,
                )
            )
    BasketRun.objects.exclude(channel__in=channels).delete()
    return runs


def _store(
    channel: str,
    kind: str,
    pairs: baskets.Pairs,
    names: pd.Series,
    *,
    as_of: datetime,
    window_days: int | None,
    min_count: int,
    min_share: float,
    started: float,
) -> BasketRun:
    """Replace the pairs of (channel, kind) with these, in one transaction."""
    table = pairs.table
    name_a = names.reindex(table["product_a"]).fillna("").to_numpy()
    name_b = names.reindex(table["product_b"]).fillna("").to_numpy()
    with transaction.atomic():
        run, _ = BasketRun.objects.select_for_update().get_or_create(
            channel=channel, kind=kind, defaults={"as_of": as_of, "computed_at": as_of}
        )
        BasketPair.objects.filter(run=run).delete()
        rows = zip(
            [run.pk] * len(table),
            table["product_a"].astype(str).tolist(),
            table["product_b"].astype(str).tolist(),
            [str(n) for n in name_a],
            [str(n) for n in name_b],
            table["together"].tolist(),
            table["count_a"].tolist(),
            table["count_b"].tolist(),
            table["support"].tolist(),
            table["confidence_ab"].tolist(),
            table["confidence_ba"].tolist(),
            table["lift"].tolist(),
            strict=True,
        )
        add_rows(BasketPair, _PAIR_FIELDS, list(rows))
        run.window_days = window_days
        run.as_of = as_of
        run.transactions = pairs.transactions
        run.products = pairs.products
        run.pairs = len(table)
        run.min_count = min_count
        run.min_support = min_share
        run.seconds = time.monotonic() - started
        run.computed_at = as_of
        run.save()
    return run


# -- reading what is stored -------------------------------------------------------------------

SORTS = {
    "lift": F("lift"),
    "support": F("support"),
    "confidence": Greatest("confidence_ab", "confidence_ba"),  # the stronger direction
    "together": F("together"),
}


def basket_runs(channel: str | None = None):
    """The stored runs (what each channel's and kind's pairs were counted over), by channel,
    order kind first; optionally of one channel. A QuerySet of `BasketRun`."""
    runs = BasketRun.objects.all()
    if channel is not None:
        runs = runs.filter(channel=channel)
    kinds = [When(kind=kind, then=Value(n)) for n, kind in enumerate(baskets.KINDS)]
    return runs.order_by("channel", Case(*kinds, default=Value(len(kinds))), "kind")


def top_pairs(
    channel: str | None = None,
    kind: str | None = None,
    sort: str = "lift",
    descending: bool = True,
):
    """The stored pairs, best first by `sort` (lift, support, confidence, together), ties by
    id; optionally of one channel and kind. A QuerySet of `BasketPair` (with `run`)."""
    if sort not in SORTS:
        raise FieldError("sort", f"'{sort}' is not {', '.join(SORTS)}")
    if kind is not None and kind not in baskets.KINDS:
        raise FieldError("kind", f"'{kind}' is not {' or '.join(baskets.KINDS)}")
    pairs = BasketPair.objects.select_related("run")
    if channel is not None:
        pairs = pairs.filter(run__channel=channel)
    if kind is not None:
        pairs = pairs.filter(run__kind=kind)
    key = SORTS[sort]
    return pairs.order_by(key.desc() if descending else key.asc(), "id")


CSV_COLUMNS = (
    "channel",
    "kind",
    "window_days",
    "product_a",
    "name_a",
    "product_b",
    "name_b",
    "together",
    "count_a",
    "count_b",
    "transactions",
    "support",
    "confidence_ab",
    "confidence_ba",
    "lift",
)


def pairs_csv_rows(
    channel: str | None = None, kind: str | None = None, sort: str = "lift"
) -> Iterator[str]:
    """Yield the CSV text of the stored pairs (`top_pairs` order), header first, a chunk of
    rows at a time (the segments' export does the same for customers)."""
    pairs = top_pairs(channel, kind, sort)
    text = CsvText()  # product names that look like formulas are written as text
    writer, flush = text.writer, text.take
    writer.writerow(CSV_COLUMNS)
    yield flush()
    for count, pair in enumerate(pairs.iterator(chunk_size=2000), start=1):
        run = pair.run
        writer.writerow(
            (
                run.channel,
                run.kind,
                "" if run.window_days is None else run.window_days,
                pair.product_a,
                pair.name_a,
                pair.product_b,
                pair.name_b,
                pair.together,
                pair.count_a,
                pair.count_b,
                run.transactions,
                f"{pair.support:.6g}",
                f"{pair.confidence_ab:.6g}",
                f"{pair.confidence_ba:.6g}",
                f"{pair.lift:.6g}",
            )
        )
        if count % 2000 == 0:
            yield flush()
    yield flush()


def basket_lines(as_of: datetime, config, top: int = 5) -> list[str]:
    """Compute the pairs now (what the nightly task does) and show each channel's best `top`
    pairs of both kinds (the demo's lines)."""
    runs = compute_baskets(
        as_of, config.basket_window_days, config.basket_min_count, config.basket_min_share
    )
    lines = [
        f"Basket pairs (the nightly computation, run now; pairs of at least "
        f"{config.basket_min_count} orders or customers):"
    ]
    for run in runs:
        if run.kind == baskets.ORDER:
            what = f"same order, {run.transactions:,} orders"
            unit = "orders"
        else:
            what = f"also bought within {run.window_days} days, {run.transactions:,} customers"
            unit = "customers"
        lines.append(f"  {run.channel}, {what}: {run.pairs:,} pairs ({run.seconds:.2f} s)")
        for pair in top_pairs(run.channel, run.kind)[:top]:
            lines.append(
                f"    {pair.name_a or pair.product_a} + {pair.name_b or pair.product_b}: "
                f"{pair.together:,} {unit} ({pair.support:.1%}), confidence "
                f"{pair.confidence_ab:.0%} / {pair.confidence_ba:.0%}, lift {pair.lift:.2f}"
            )
    if not runs:
        lines.append("  no order with a product yet")
    return lines

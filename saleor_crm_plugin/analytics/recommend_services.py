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
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Max

from ..customers.models import OrderLineRecord
from ..errors import FieldError
from . import baskets, recommend
from .models import BasketRun, ProductRepeatRow

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


_ALSO_BOUGHT_SQL = """
SELECT product, name, source_name, score, lift, together FROM (
    SELECT product_b AS product, name_b AS name, name_a AS source_name,
           confidence_ab AS score, lift, together
    FROM saleor_crm_basketpair WHERE run_id = %s AND product_a = %s
    UNION ALL
    SELECT product_a, name_a, name_b, confidence_ba, lift, together
    FROM saleor_crm_basketpair WHERE run_id = %s AND product_b = %s
) AS oriented
WHERE product <> %s
ORDER BY score DESC, lift DESC, together DESC, product
LIMIT %s OFFSET %s
"""
# The pairs from what the customer bought to what they did not buy recently, in
# `recommend.personal_picks`'s order: the first row of each product is its best pair (ties:
# higher lift, more common pair, the more recently bought source, then the source's id), and
# those first rows come best first (score, lift, together, product id), so a page of rows
# deduplicated by product is a page of picks. `bought` is the customer's products with the
# epoch seconds they last bought each (a VALUES list: PostgreSQL and SQLite alike). No sort of
# every row: PostgreSQL keeps the top LIMIT + OFFSET rows as it reads them.
_PERSONAL_SQL = """
WITH bought (product_id, at) AS (VALUES {values})
SELECT product, name, source, source_name, score, lift, together FROM (
    SELECT p.product_b AS product, p.name_b AS name, p.product_a AS source,
           p.name_a AS source_name, p.confidence_ab AS score, p.lift, p.together, b.at
    FROM saleor_crm_basketpair p JOIN bought b ON b.product_id = p.product_a
    WHERE p.run_id = %s
    UNION ALL
    SELECT p.product_a, p.name_a, p.product_b, p.name_b, p.confidence_ba, p.lift, p.together,
           b.at
    FROM saleor_crm_basketpair p JOIN bought b ON b.product_id = p.product_b
    WHERE p.run_id = %s
) AS oriented
WHERE product NOT IN (SELECT product_id FROM bought WHERE at > %s)
ORDER BY score DESC, lift DESC, together DESC, product, at DESC, source
LIMIT %s OFFSET %s
"""
# The same on PostgreSQL without reading every pair of every product the customer bought (a
# heavy buyer's products have 150,000 pairs), and a product once: its best row (DISTINCT ON,
# the ties as above). A page of LIMIT products needs no more than each bought product's best
# LIMIT + OFFSET pairs (a product above a page's last one in a source's list is above it in
# the page too), read in order from the indexes `basket_pair_best_a` / `_b`.
_PERSONAL_SQL_PG = """
WITH bought (product_id, at) AS (VALUES {values}),
recent AS (SELECT product_id FROM bought WHERE at > %s)
SELECT product, name, source, source_name, score, lift, together FROM (
    SELECT DISTINCT ON (product) * FROM (
        SELECT best.*, b.at FROM bought b CROSS JOIN LATERAL (
            SELECT p.product_b AS product, p.name_b AS name, p.product_a AS source,
                   p.name_a AS source_name, p.confidence_ab AS score, p.lift, p.together
            FROM saleor_crm_basketpair p
            WHERE p.run_id = %s AND p.product_a = b.product_id
              AND p.product_b NOT IN (SELECT product_id FROM recent)
            ORDER BY p.confidence_ab DESC, p.lift DESC, p.together DESC, p.product_b
            LIMIT %s
        ) AS best
        UNION ALL
        SELECT best.*, b.at FROM bought b CROSS JOIN LATERAL (
            SELECT p.product_a, p.name_a, p.product_b, p.name_b, p.confidence_ba, p.lift,
                   p.together
            FROM saleor_crm_basketpair p
            WHERE p.run_id = %s AND p.product_b = b.product_id
              AND p.product_a NOT IN (SELECT product_id FROM recent)
            ORDER BY p.confidence_ba DESC, p.lift DESC, p.together DESC, p.product_a
            LIMIT %s
        ) AS best
    ) AS oriented
    ORDER BY product, score DESC, lift DESC, together DESC, at DESC, source
) AS once
ORDER BY score DESC, lift DESC, together DESC, product
LIMIT %s OFFSET %s
"""
# Rows of pairs read at once for a customer's picks where a product appears once per source
# (not on PostgreSQL, whose rows are a product each: `_ASK_BLOCK`).
_PAIR_PAGE = 200


def _rank_key(pick: Pick) -> tuple:
    """`recommend`'s order: score, lift (none last), together, then the product id."""
    return (-pick.score, pick.lift is None, -(pick.lift or 0.0), -pick.together, pick.product_id)


def _offered(
    fetch: Callable[[int, int], list[Pick]],
    first: int,
    available: Available | None,
    extra: list[Pick] = (),
    page: int = _ASK_BLOCK,
) -> list[Pick]:
    """The best `first` picks the store offers, named as the store names them (`available`
    None: every pick, with the ledger's names).

    `fetch(limit, offset)` pages through ranked picks (a product's best first: later ones of
    it are dropped); `extra` are picks outside them (the restocks), merged by `_rank_key`, a
    product keeping its better pick. Pages of at least `page` rows are read until `first`
    products of them are offered, so no later page can hold a better one.
    """
    step = max(2 * first, page)
    names: dict[str, str] = {}
    if available is not None and extra:
        names.update(available([pick.product_id for pick in extra]))
    fetched: list[Pick] = []
    offset, asked, offered = 0, set(), set()
    while len(offered) < first:
        rows = fetch(step, offset)
        offset += step
        fetched += rows
        new = list(dict.fromkeys(p.product_id for p in rows if p.product_id not in asked))
        asked.update(new)
        if available is None:
            offered.update(new)
        else:
            found = available(new) if new else {}
            names.update(found)
            offered.update(found)
        if len(rows) < step:
            break
    picks, seen = [], set()
    for pick in sorted([*fetched, *extra], key=_rank_key):
        if pick.product_id in seen or (available is not None and pick.product_id not in names):
            continue
        seen.add(pick.product_id)
        name = names.get(pick.product_id) or pick.name
        because_name = name if pick.reason == recommend.RESTOCK else pick.because_name
        picks.append(replace(pick, name=name, because_name=because_name))
        if len(picks) == first:
            break
    return picks


def _bought_with(row, last_bought_at=None) -> Pick:
    product, name, source, source_name, score, lift, together = row
    return Pick(
        product_id=product,
        name=name,
        score=float(score),
        reason=recommend.BOUGHT_WITH,
        because=source,
        because_name=source_name,
        text=f"bought with {source_name or source}",
        lift=float(lift),
        together=int(together),
        last_bought_at=last_bought_at,
    )


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
    """ "Customers who bought this also bought" for `product` in `channel`, best first, never
    the product itself: `recommend.also_bought`'s order (by confidence), read in SQL a page at
    a time (tests hold the two to the same answers).

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
    if run is None:
        return []

    def fetch(limit: int, offset: int) -> list[Pick]:
        with connection.cursor() as cursor:
            cursor.execute(
                _ALSO_BOUGHT_SQL, [run.pk, product, run.pk, product, product, limit, offset]
            )
            return [_bought_with((row[0], row[1], product, *row[2:])) for row in cursor.fetchall()]

    return _offered(fetch, first, available)


def _purchases(profile_id: int, channel: str, as_of: datetime) -> dict[str, tuple[datetime, str]]:
    """The customer's products in the channel with when they last bought each (counted
    orders placed before `as_of`) and a name from their lines."""
    bought = (
        OrderLineRecord.objects.filter(
            order__profile_id=profile_id,
            order__channel=channel,
            order__counts=True,
            order__placed_at__lt=as_of,
            product_id__isnull=False,
        )
        .values("product_id")
        .annotate(last_bought_at=Max("order__placed_at"), name=Max("product_name"))
        .order_by("product_id")
    )
    rows = bought.values_list("product_id", "last_bought_at", "name")
    return {product: (at, name) for product, at, name in rows}


def repeat_figures(channel: str, products: Iterable[str]) -> dict[str, tuple[float, float]]:
    """{product: (repeat rate, usual interval in days)} of these products among the channel's
    customers, from the repeat report in force (none before its first computation; products
    nobody bought twice are left out)."""
    rows = ProductRepeatRow.objects.filter(
        run__in_force=True,
        level="product",
        channel=channel,
        first_month="",
        item__in=products,
        repeat_interval_days__isnull=False,
    ).values_list("item", "repeat_rate", "repeat_interval_days")
    return {item: (rate, interval) for item, rate, interval in rows}


def personal_picks_for(
    profile_id: int,
    channel: str,
    as_of: datetime,
    first: int,
    *,
    available: Available | None = None,
    repeat: dict[str, tuple[float, float]] | None = None,
    repeat_threshold: float = REPEAT_THRESHOLD,
    recent_days: int | None = RECENT_DAYS,
) -> list[Pick]:
    """A customer's picks in `channel`, best first, as `recommend.personal_picks` ranks them
    (tests hold the two to the same answers): from their counted orders there, the channel's
    "also bought" pairs (`also_bought_run`, read in SQL a page at a time) and the products'
    repeat figures (`repeat`: {product: (repeat rate, usual interval in days)}; None: the
    repeat report in force for the channel, `repeat_figures`).

    A product they bought in the last `recent_days` days (None: ever) is not offered, unless
    it is a repeat buy (repeat rate at least `repeat_threshold`) whose usual interval has
    passed since they last bought it: then it is offered to restock, with its repeat rate as
    the score. Only `available` products (None: any).
    """
    _checked_first(first)
    if as_of.tzinfo is None:
        raise FieldError("as_of", "must be an aware datetime")
    bought = _purchases(profile_id, channel, as_of)
    if not bought:
        return []
    if repeat is None:
        repeat = repeat_figures(channel, list(bought))
    restocks = []
    for product, (rate, interval) in sorted(repeat.items()):
        at, name = bought.get(product, (None, ""))
        if at is None or rate is None or interval is None or not rate >= repeat_threshold:
            continue
        if at + timedelta(days=float(interval)) <= as_of:
            restocks.append(
                Pick(
                    product_id=product,
                    name=name,
                    score=float(rate),
                    reason=recommend.RESTOCK,
                    because=product,
                    because_name="",
                    text="time to restock",
                    lift=None,
                    together=0,
                    last_bought_at=at,
                    interval_days=float(interval),
                )
            )
    run = also_bought_run(channel)
    seconds = {product: at.timestamp() for product, (at, _name) in bought.items()}
    if recent_days is None:  # every purchase is recent
        recent_after = min(seconds.values()) - 1
    else:
        recent_after = (as_of - timedelta(days=recent_days)).timestamp()
    values = ", ".join(["(%s, %s)"] * len(bought))
    postgresql = connection.vendor == "postgresql"
    sql = (_PERSONAL_SQL_PG if postgresql else _PERSONAL_SQL).format(values=values)
    params = [value for item in seconds.items() for value in item]

    def fetch(limit: int, offset: int) -> list[Pick]:
        if run is None:
            return []
        if postgresql:
            each = limit + offset
            arguments = [*params, recent_after, run.pk, each, run.pk, each, limit, offset]
        else:
            arguments = [*params, run.pk, run.pk, recent_after, limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, arguments)
            return [_bought_with(row, bought[row[2]][0]) for row in cursor.fetchall()]

    return _offered(fetch, first, available, restocks, _ASK_BLOCK if postgresql else _PAIR_PAGE)

"""A customer's state on a past date, replayed from the ledger and the rules in force then. Pure.

`state_at(history, versions, at, zone)` answers what the customer's rank, points and segments
were at `at`, and why:

- **orders**: each order as it stood at `at`, from its times: placed (`placed_at`), paid
  (`paid_at`), refunded (`refunded_at`, with the amount refunded in all), cancelled
  (`cancelled_at`). An order refunded in several steps is known only by its last refund time
  and its total refund: before that time it counts as unrefunded (said in the reasons);
- **rank**: the rank history (`RankChange` rows) is exact: the rank is the last change's
  `to_code`, held since the last change of code. The rank table in force at `at` (its rule
  version) re-derives which rank the figures of its window reached, to explain it;
- **points**: the ledger's entries up to `at`, replayed by `loyalty.lots.replay`;
- **RFM**: the customer's recency, frequency and monetary at `at`, scored against the cut
  points of the last recompute before `at` in each group, with the segment map it used;
- **rule segments**: each saved segment's definition in force at `at`, evaluated on the
  replayed figures. A condition the ledger cannot answer for a past date (addresses,
  consent, subscriptions, predictions, products bought) makes the answer unknown (None)
  unless the rest of the rule decides it.

Rules stored before versions were kept are unknown: the answer says so instead of guessing.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..customers.snapshots import NOT_PLACED, OrderStatus
from ..loyalty.config import parse_window
from ..loyalty.lots import Balance, Entry, Kind, replay
from ..loyalty.ranks import Figures, RankLadder, parse_ladder, qualifying_rank
from ..money import quantize_amount
from ..segments.rfm import METRICS, CutPoints, days_since, score_rows
from ..segments.segment_map import DEFAULT_SEGMENTS

__all__ = [
    "History",
    "OrderFacts",
    "PointsState",
    "RankFact",
    "RankState",
    "ScoreState",
    "SegmentMatch",
    "SpendFigures",
    "State",
    "Versions",
    "evaluate_rule",
    "order_figures",
    "state_at",
]

RANKS, RFM, RULE_SEGMENT = "ranks", "rfm", "rule_segment"
_ZERO = Decimal(0)


# --- input ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFacts:
    """One order as the ledger keeps it (`OrderRecord`), as plain data."""

    order_id: str
    number: str
    currency: str
    status: str
    placed_at: datetime
    total_gross: Decimal
    paid_amount: Decimal = _ZERO
    paid_at: datetime | None = None
    refunded_amount: Decimal = _ZERO
    refunded_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.number or self.order_id


@dataclass(frozen=True)
class RankFact:
    """One rank change (`RankChange`)."""

    at: datetime
    from_code: str
    to_code: str
    reason: str
    rule_version: str
    order_ids: tuple[str, ...] = ()
    actor: str = ""


@dataclass(frozen=True)
class History:
    """Everything the ledger holds about one customer, as plain data."""

    registered: bool
    orders: tuple[OrderFacts, ...] = ()
    entries: tuple[Entry, ...] = ()
    # entry key -> the order it belongs to ("" for adjustments, redemptions, bonuses)
    entry_orders: Mapping[str, str] = field(default_factory=dict)
    rank_changes: tuple[RankFact, ...] = ()
    allow_negative: bool = True


@dataclass(frozen=True)
class _Version:
    version: str
    valid_from: datetime
    content: object


class Versions:
    """The rule versions (`RuleVersion` rows) by kind and key, each in force from its
    `valid_from` until the next one of its kind and key."""

    def __init__(self, by_key: dict[tuple[str, str], list[_Version]]):
        self.by_key = {
            key: sorted(rows, key=lambda v: v.valid_from) for key, rows in by_key.items()
        }

    @classmethod
    def from_rows(cls, rows: Iterable[tuple]) -> "Versions":
        """From `(kind, key, version, valid_from, content)` tuples."""
        by_key: dict[tuple[str, str], list[_Version]] = {}
        for kind, key, version, valid_from, content in rows:
            by_key.setdefault((kind, key), []).append(_Version(version, valid_from, content))
        return cls(by_key)

    def in_force(self, kind: str, key: str, at: datetime) -> _Version | None:
        found = None
        for version in self.by_key.get((kind, key), ()):
            if version.valid_from > at:
                break
            found = version
        return found

    def keys(self, kind: str) -> list[str]:
        return sorted(key for k, key in self.by_key if k == kind)

    def first(self, kind: str) -> datetime | None:
        starts = [rows[0].valid_from for (k, _), rows in self.by_key.items() if k == kind and rows]
        return min(starts, default=None)


# --- output ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendFigures:
    currency: str
    orders: int
    spend: Decimal
    average: Decimal
    first_order_at: datetime
    last_order_at: datetime


@dataclass(frozen=True)
class RankState:
    code: str | None  # None: no rank yet
    since: datetime | None
    rule_version: str | None  # the version of the last change (the history's)
    # The rank table in force at the date (None: none stored yet) and what it gives.
    table_version: str | None
    reached: str | None  # the rank the window's figures reach under that table
    window_orders: tuple[str, ...]
    why: tuple[str, ...]


@dataclass(frozen=True)
class PointsState:
    available: int
    pending: int
    debt: int
    expiring_points: int
    expiring_at: datetime | None
    why: tuple[str, ...]

    @property
    def balance(self) -> int:
        return self.available - self.debt


@dataclass(frozen=True)
class ScoreState:
    group: str
    # None: unknown (no cut points stored before the date) or the group was not scored then
    r: int | None
    f: int | None
    m: int | None
    segment: str | None
    known: bool
    why: tuple[str, ...]


@dataclass(frozen=True)
class SegmentMatch:
    key: str
    name: str
    matched: bool | None  # None: the rule needs what the ledger cannot tell for that date
    why: tuple[str, ...]


@dataclass(frozen=True)
class State:
    at: datetime
    order_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    spends: tuple[SpendFigures, ...]
    rank: RankState
    points: PointsState
    scores: tuple[ScoreState, ...]
    segments: tuple[SegmentMatch, ...]
    why: tuple[str, ...]  # about the orders and what cannot be known


# --- orders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OrderAt:
    order: OrderFacts
    counts: bool
    paid_in_full: bool
    refunded: Decimal

    @property
    def net_spend(self) -> Decimal:
        if not self.counts:
            return _ZERO
        return max(self.order.total_gross - self.refunded, _ZERO)


def _order_at(order: OrderFacts, at: datetime) -> _OrderAt | None:
    """The order as it stood at `at` (None: not placed yet)."""
    if order.placed_at > at:
        return None
    status = OrderStatus(order.status)
    placed = status not in NOT_PLACED
    cancelled = status is OrderStatus.CANCELED and (
        order.cancelled_at is None or order.cancelled_at <= at
    )
    refunded = (
        order.refunded_amount
        if order.refunded_at is not None and order.refunded_at <= at
        else _ZERO
    )
    # What was charged: the amount paid now plus what was given back since (a refund lowers
    # the paid amount the store reports).
    charged = order.paid_amount + order.refunded_amount
    paid = (order.paid_at or order.placed_at) <= at
    total = order.total_gross
    counts = placed and not cancelled and (total == 0 or refunded < total)
    paid_in_full = placed and total > 0 and paid and charged >= total
    return _OrderAt(order, counts, paid_in_full, refunded)


def _orders_at(orders: Iterable[OrderFacts], at: datetime) -> list[_OrderAt]:
    found = (_order_at(order, at) for order in orders)
    return sorted(
        (order for order in found if order is not None),
        key=lambda o: (o.order.placed_at, o.order.order_id),
    )


def order_figures(orders: Iterable[OrderFacts], at: datetime) -> list[SpendFigures]:
    """Counted orders, spend (less refunds), average and first/last order per currency at `at`,
    as `customers.ingest.recompute_profiles` keeps them."""
    by_currency: dict[str, list[_OrderAt]] = {}
    for order in _orders_at(orders, at):
        if order.counts:
            by_currency.setdefault(order.order.currency, []).append(order)
    figures = []
    for currency, counted in sorted(by_currency.items()):
        spend = sum((order.net_spend for order in counted), _ZERO)
        figures.append(
            SpendFigures(
                currency=currency,
                orders=len(counted),
                spend=quantize_amount(spend, currency),
                average=quantize_amount(spend / len(counted), currency),
                first_order_at=min(order.order.placed_at for order in counted),
                last_order_at=max(order.order.placed_at for order in counted),
            )
        )
    return figures


def _lapse_at(count: int, first: datetime | None, last: datetime | None) -> datetime | None:
    if count < 2:
        return None
    return last + (last - first) / (count - 1)


# --- rank -----------------------------------------------------------------------------------


def _ladder(version: _Version) -> RankLadder:
    content = version.content
    return parse_ladder(
        content["text"], parse_window(content["window"]), content.get("inactive_months")
    )


def _window_figures(
    ladder: RankLadder, history: History, orders: list[_OrderAt], at: datetime, zone: ZoneInfo
) -> tuple[Figures, list[str]]:
    """The figures of the ladder's window at `at`, as `membership.window_figures` reads them:
    counted orders paid in full, paid (or placed) since the window's start, and the points
    orders earned (less what was reversed) since then."""
    start = ladder.window.period_start(at, zone)
    counted = [
        order
        for order in orders
        if order.counts
        and order.paid_in_full
        and (start is None or (order.order.paid_at or order.order.placed_at) >= start)
    ]
    spend: dict[str, Decimal] = {}
    for order in counted:
        spend[order.order.currency] = spend.get(order.order.currency, _ZERO) + order.net_spend
    spend = {currency: quantize_amount(amount, currency) for currency, amount in spend.items()}
    points = sum(
        entry.points
        for entry in history.entries
        if entry.kind in (Kind.EARN, Kind.REVERSE)
        and history.entry_orders.get(entry.key)
        and entry.at <= at
        and (start is None or entry.at >= start)
    )
    names = [order.order.name for order in reversed(counted)]
    return Figures(orders=len(counted), spend=spend, points=points), names


def _rank_state(
    history: History,
    versions: Versions,
    orders: list[_OrderAt],
    at: datetime,
    zone: ZoneInfo,
) -> RankState:
    changes = sorted(
        (change for change in history.rank_changes if change.at <= at), key=lambda c: c.at
    )
    why: list[str] = []
    code = since = rule_version = None
    if changes:
        last = changes[-1]
        code, rule_version = last.to_code, last.rule_version
        for change in changes:
            if change.from_code != change.to_code:
                since = change.at
        who = f" by {last.actor}" if last.actor else ""
        why.append(
            f"rank {code} since {since.isoformat()}: the rank history's last change before "
            f"the date, on {last.at.isoformat()}{who} ({last.reason}; rank table {last.rule_version})"
        )
        if last.order_ids:
            shown = ", ".join(last.order_ids[:10])
            more = len(last.order_ids) - 10
            why.append(f"orders it counted: {shown}" + (f" and {more} more" if more > 0 else ""))
    else:
        why.append("no rank yet: the rank history has no change before the date")
    table = versions.in_force(RANKS, "", at)
    reached, names = None, []
    if table is None:
        first = versions.first(RANKS)
        why.append(
            "the rank table in force then is not known (rank tables are kept from "
            + (first.isoformat() if first else "the next save")
            + " on): the rank comes from the history alone"
        )
    else:
        ladder = _ladder(table)
        figures, names = _window_figures(ladder, history, orders, at, zone)
        rank = qualifying_rank(ladder, figures)
        reached = rank.code
        spend = ", ".join(
            f"{amount} {currency}" for currency, amount in sorted(figures.spend.items())
        )
        why.append(
            f"under rank table {table.version} (in force from {table.valid_from.isoformat()}, "
            f"window {table.content['window']}): {figures.orders} counted paid orders, "
            f"spend {spend or 'none'}, {figures.points} points from orders reach {rank.name} "
            f"({rank.code})"
        )
        if code is not None and reached != code:
            why.append(
                f"held {code}, not {reached}: a lower rank waits for the period's end, a "
                "higher one for the next evaluation, and a pin holds until it ends"
            )
    return RankState(
        code, since, rule_version, table and table.version, reached, tuple(names), tuple(why)
    )


# --- points ---------------------------------------------------------------------------------


def _points_state(history: History, at: datetime) -> PointsState:
    balance: Balance = replay(history.entries, at, allow_negative=history.allow_negative)
    live = [lot for lot in balance.lots if lot.remaining > 0]
    expiring = sorted(
        (lot for lot in live if lot.expires_at is not None and lot.expires_at > at),
        key=lambda lot: lot.expires_at,
    )
    expiring_at = expiring[0].expires_at if expiring else None
    expiring_points = sum(lot.remaining for lot in expiring if lot.expires_at == expiring_at)
    counted = sum(1 for entry in history.entries if entry.at <= at)
    why = [
        f"{counted} ledger entries up to the date: {balance.available} available, "
        f"{balance.pending} pending" + (f", {balance.debt} owed" if balance.debt else "")
    ]
    for lot in live:
        state = (
            "pending (held until fulfilment)"
            if lot.available_at is None
            else f"pending until {lot.available_at.isoformat()}"
            if lot.available_at > at
            else "expired, not yet written off"
            if lot.expires_at is not None and lot.expires_at <= at
            else "available"
        )
        until = f", expires {lot.expires_at.isoformat()}" if lot.expires_at else ""
        why.append(f"lot {lot.key}: {lot.remaining} of {lot.points} left, {state}{until}")
    return PointsState(
        balance.available, balance.pending, balance.debt, expiring_points, expiring_at, tuple(why)
    )


# --- RFM ------------------------------------------------------------------------------------


def _cut_points(content: Mapping) -> dict:
    return {
        metric: CutPoints(tuple(content[metric]), content["customers"], content["method"])
        for metric in METRICS
    }


def _segment_map(content: Mapping, fallback: Mapping | None):
    stored = content.get("segments")
    if stored:
        return {name: (tuple(r), tuple(f)) for name, (r, f) in stored.items()}, True
    return (fallback or DEFAULT_SEGMENTS), False


def _scores(
    spends: list[SpendFigures],
    versions: Versions,
    at: datetime,
    zone: ZoneInfo,
    segments: Mapping | None,
) -> list[ScoreState]:
    states = []
    for spend in spends:
        group = spend.currency
        version = versions.in_force(RFM, group, at)
        if version is None:
            first = versions.first(RFM)
            since = f"from {first.isoformat()}" if first else "from the next recompute"
            states.append(
                ScoreState(
                    group,
                    None,
                    None,
                    None,
                    None,
                    False,
                    (f"{group}: unknown: no cut points stored before the date (kept {since} on)",),
                )
            )
            continue
        if version.content is None:
            states.append(
                ScoreState(
                    group,
                    None,
                    None,
                    None,
                    None,
                    True,
                    (
                        f"{group}: not scored: the recompute of {version.valid_from.isoformat()} "
                        "had too few customers in this group",
                    ),
                )
            )
            continue
        cut_points = _cut_points(version.content)
        cells, stored_map = _segment_map(version.content, segments)
        row = (0, group, spend.last_order_at, spend.orders, spend.spend)
        _, _, r, f, m, segment = score_rows([row], {group: cut_points}, at, zone, cells)[0]
        days = days_since(spend.last_order_at, at, zone)
        bounds = "; ".join(f"{metric} {list(cut_points[metric].bounds)}" for metric in METRICS)
        why = [
            f"{group}: R{r} F{f} M{m} {segment}: {days} days since the last order, "
            f"{spend.orders} orders, spend {spend.spend} {group}, against the cut points of the "
            f"recompute of {version.valid_from.isoformat()} ({cut_points['recency'].method}, "
            f"{cut_points['recency'].customers} customers: {bounds})"
        ]
        if not stored_map:
            why.append(f"{group}: segment names from the current segment map (none stored then)")
        states.append(ScoreState(group, r, f, m, segment, True, tuple(why)))
    return states


# --- rule segments --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What a rule can be evaluated on at the date."""

    at: datetime
    zone: ZoneInfo
    registered: bool
    order_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    lapse_at: datetime | None
    spends: Mapping[str, SpendFigures]
    scores: Mapping[str, ScoreState]
    rank: str | None
    balance: int


def _compare(op: str, actual, value) -> bool:
    if op == "between":
        return value[0] <= actual <= value[1]
    if op == "before":
        return actual < value
    if op == "after":
        return actual > value
    return {
        "eq": actual == value,
        "gt": actual > value,
        "gte": actual >= value,
        "lt": actual < value,
        "lte": actual <= value,
    }[op]


_UNKNOWN_FIELDS = {
    "country": "addresses",
    "country_area": "addresses",
    "city": "addresses",
    "marketing_consent": "marketing consent",
    "active_subscription": "subscriptions",
    "bought_sku": "products bought",
    "bought_product": "products bought",
    "bought_category": "products bought",
    "p_alive": "predictions",
    "expected_orders_30": "predictions",
    "expected_orders_90": "predictions",
    "expected_orders_365": "predictions",
    "predicted_clv": "predictions",
    "expected_order_value": "predictions",
    "typical_gap_days": "predictions",
    "overdue": "predictions",
}


def _condition(node: Mapping, facts: _Facts, unknown: set[str]) -> bool | None:
    name, op, value = node["field"], node["op"], node["value"]
    if name in _UNKNOWN_FIELDS:
        unknown.add(_UNKNOWN_FIELDS[name])
        return None
    if name == "order_count":
        return _compare(op, facts.order_count, value)
    if name in ("first_order_at", "last_order_at"):
        moment = getattr(facts, name)
        return moment is not None and _compare(op, moment, value)
    if name == "days_since_last_order":
        if facts.last_order_at is None:
            return False
        return _compare(op, days_since(facts.last_order_at, facts.at, facts.zone), value)
    if name in ("total_spent", "average_order"):
        spend = facts.spends.get(node["currency"])
        if spend is None:
            return name == "total_spent" and _compare(op, _ZERO, value)
        return _compare(op, spend.spend if name == "total_spent" else spend.average, value)
    if name in ("r", "f", "m", "segment"):
        score = facts.scores.get(node["group"])
        if score is None:
            return False
        if not score.known:
            unknown.add(f"{node['group']} scores")
            return None
        if score.segment is None:
            return False
        if name == "segment":
            return score.segment in value
        return _compare(op, getattr(score, name), value)
    if name == "account":
        if value in ("registered", "guest"):
            return facts.registered == (value == "registered")
        unknown.add("whether the account was active")
        return None
    if name == "past_usual_interval":
        past = facts.lapse_at is not None and facts.lapse_at < facts.at
        return past if value else not past
    if name == "rank":
        return facts.rank is not None and facts.rank in value
    if name == "points_balance":
        return _compare(op, facts.balance, value)
    unknown.add(name)
    return None


def evaluate_rule(rule: Mapping, facts: _Facts, unknown: set[str] | None = None) -> bool | None:
    """A validated rule (`segments.rules.validate_rule`) on the figures at a date: True,
    False, or None when it depends on what the ledger cannot tell (added to `unknown`)."""
    unknown = set() if unknown is None else unknown
    if "all" in rule:
        results = [evaluate_rule(child, facts, unknown) for child in rule["all"]]
        if any(result is False for result in results):
            return False
        return None if any(result is None for result in results) else True
    if "any" in rule:
        results = [evaluate_rule(child, facts, unknown) for child in rule["any"]]
        if any(result is True for result in results):
            return True
        return None if any(result is None for result in results) else False
    if "not" in rule:
        result = evaluate_rule(rule["not"], facts, unknown)
        return None if result is None else not result
    return _condition(rule, facts, unknown)


def _rule_segments(
    versions: Versions, facts: _Facts, rules: Mapping[str, Mapping]
) -> list[SegmentMatch]:
    """`rules`: the validated rule of each stored version's key (a failing one is left out)."""
    matches = []
    for key in versions.keys(RULE_SEGMENT):
        version = versions.in_force(RULE_SEGMENT, key, facts.at)
        if version is None or version.content is None or key not in rules:
            continue
        name = version.content["name"]
        unknown: set[str] = set()
        matched = evaluate_rule(rules[key], facts, unknown)
        since = version.valid_from.isoformat()
        if matched is None:
            why = f"{name}: unknown: the rule (saved {since}) needs {', '.join(sorted(unknown))}"
        else:
            word = "matched" if matched else "not matched"
            why = f"{name}: {word} by the rule saved {since}, on the figures at the date"
        matches.append(SegmentMatch(key, name, matched, (why,)))
    return matches


# --- the whole state ------------------------------------------------------------------------


def state_at(
    history: History,
    versions: Versions,
    at: datetime,
    zone: ZoneInfo,
    *,
    rules: Mapping[str, Mapping] | None = None,
    segments: Mapping | None = None,
) -> State:
    """Replay one customer's state at `at`.

    Parameters
    ----------
    history
        The customer's orders, points entries and rank changes.
    versions
        The rule versions stored (`Versions.from_rows`); those after `at` are ignored.
    at
        The aware moment to answer for.
    zone
        The store's time zone (days since an order, rank windows).
    rules
        The validated rule of each rule segment version's key (`segments.rules.validate_rule`
        of the definition in force at `at`).
    segments
        The segment map to name segments by when a recompute stored none.

    Returns
    -------
    State
        The figures, rank, points, RFM scores and rule segment matches at `at`, each with
        the reasons.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at: needs a time zone")
    orders = _orders_at(history.orders, at)
    spends = order_figures(history.orders, at)
    counted = [order for order in orders if order.counts]
    count = len(counted)
    first = min((o.order.placed_at for o in counted), default=None)
    last = max((o.order.placed_at for o in counted), default=None)
    why = [
        f"{count} counted orders at the date"
        + "".join(f"; {s.currency}: {s.orders} orders, spend {s.spend}" for s in spends)
    ]
    later_refunds = [
        o.order.name
        for o in orders
        if o.order.refunded_at is not None and o.order.refunded_at > at and o.order.refunded_amount
    ]
    if later_refunds:
        why.append(
            f"refunded after the date (counted in full then): {', '.join(later_refunds)}; "
            "an order refunded in several steps is known by its last refund only"
        )
    rank = _rank_state(history, versions, orders, at, zone)
    points = _points_state(history, at)
    scores = _scores(spends, versions, at, zone, segments)
    facts = _Facts(
        at=at,
        zone=zone,
        registered=history.registered,
        order_count=count,
        first_order_at=first,
        last_order_at=last,
        lapse_at=_lapse_at(count, first, last),
        spends={s.currency: s for s in spends},
        scores={s.group: s for s in scores},
        rank=rank.code,
        balance=points.balance,
    )
    matches = _rule_segments(versions, facts, rules or {})
    if versions.first(RULE_SEGMENT) is None or versions.first(RULE_SEGMENT) > at:
        why.append("rule segments: no definitions stored before the date")
    return State(
        at=at,
        order_count=count,
        first_order_at=first,
        last_order_at=last,
        spends=tuple(spends),
        rank=rank,
        points=points,
        scores=tuple(scores),
        segments=tuple(matches),
        why=tuple(why),
    )

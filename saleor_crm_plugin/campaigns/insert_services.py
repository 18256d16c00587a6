"""Package inserts of paid orders: decided once, written to the order, counted, picked.

The intake pipeline calls `insert_standing` before it records a batch (how each customer stood
before the order: their RFM segments, the rule segments the rules name, their rank) and
`apply_inserts` after the subscriptions the orders start, so that

- an order gets its codes once, when it is first seen paid while its parcel is still to pack
  (unconfirmed, unfulfilled or partially fulfilled): an `InsertDecision` with one
  `OrderInsert` row per code; an order seen again, or one the rules gave nothing, keeps what
  it has whatever the rules or the customer have become since;
- the codes reach the order's private metadata (`crm.inserts`, comma-separated) through the
  host; a write that failed is made when the order is processed again.

The only writer of `InsertDecision` and `OrderInsert` rows.
"""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate

from ..conf import CRMConfig
from ..customers.ingest import digest_for
from ..customers.models import CustomerProfile, CustomerSpend, OrderRecord
from ..customers.snapshots import OrderSnapshot, OrderStatus
from ..loyalty.membership import held_code, paid_in_full
from ..loyalty.models import MemberRank
from ..segments.rule_services import members, rule_of_segment
from ..segments.rules import RuleError
from ..subscriptions.models import Cycle
from .insert_models import InsertDecision, OrderInsert
from .inserts import METADATA_KEY, OrderFacts, decide_inserts, segments_named

logger = logging.getLogger(__name__)

__all__ = [
    "PICKING_COLUMNS",
    "InsertReport",
    "Standing",
    "apply_inserts",
    "insert_counts",
    "insert_lines",
    "insert_standing",
    "local_day_bounds",
    "order_inserts",
    "picking_rows",
]

# Parcels still to pack: an order paid in one of these gets its inserts.
PACKING = frozenset(
    {OrderStatus.UNCONFIRMED, OrderStatus.UNFULFILLED, OrderStatus.PARTIALLY_FULFILLED}
)
PICKING_COLUMNS = ("order_number", "shipping_name", "inserts")


@dataclass(frozen=True)
class Standing:
    """How the order's customer stood before the order: segments and the rank held."""

    segments: frozenset[str] = frozenset()
    rank: str | None = None


@dataclass
class InsertReport:
    decided: int = 0  # orders decided now
    with_inserts: int = 0  # of them, orders that got at least one code
    written: int = 0  # orders whose crm.inserts the store wrote now
    codes: dict[str, int] = field(default_factory=dict)  # code -> orders decided now


def _candidates(config: CRMConfig, snapshots: Iterable[OrderSnapshot]) -> list[OrderSnapshot]:
    """Orders paid in full with a parcel still to pack and no decision yet."""
    if not config.insert_rules:
        return []
    paid = {
        snapshot.order_id: snapshot
        for snapshot in snapshots
        if snapshot.status in PACKING and snapshot.is_paid_in_full
    }
    decided = set(
        InsertDecision.objects.filter(order_id__in=list(paid)).values_list("order_id", flat=True)
    )
    return [snapshot for order_id, snapshot in sorted(paid.items()) if order_id not in decided]


def _profiles_before(snapshots: list[OrderSnapshot]) -> dict[str, int]:
    """The profile of each order as the ledger knows it before recording the batch: its own
    record's, else its user's, else its guest email's (a new customer has none)."""
    ids = [snapshot.order_id for snapshot in snapshots]
    found = dict(OrderRecord.objects.filter(order_id__in=ids).values_list("order_id", "profile_id"))
    left = [snapshot for snapshot in snapshots if snapshot.order_id not in found]
    users = dict(
        CustomerProfile.objects.filter(
            user_id__in=[s.user_id for s in left if s.user_id], anonymized_at__isnull=True
        ).values_list("user_id", "pk")
    )
    digests = {s.order_id: digest_for(s.email) for s in left if not s.user_id}
    guests = dict(
        CustomerProfile.objects.filter(
            email_digest__in=[d for d in digests.values() if d],
            user_id__isnull=True,
            anonymized_at__isnull=True,
        ).values_list("email_digest", "pk")
    )
    for snapshot in left:
        profile = (
            users.get(snapshot.user_id)
            if snapshot.user_id
            else guests.get(digests[snapshot.order_id])
        )
        if profile is not None:
            found[snapshot.order_id] = profile
    return found


def _rule_segment_members(
    config: CRMConfig, names: Iterable[str], profile_ids: set[int], now: datetime, host
) -> dict[int, set[str]]:
    """Of these profiles, who is in each built-in or saved rule segment named (one query a
    segment); a name no segment has is logged and holds for nobody."""
    found: dict[int, set[str]] = {}
    for name in names:
        rule = rule_of_segment(name, config.dormant_days)
        if rule is None:
            logger.warning("CRM inserts: no segment is named '%s' (setting insert-rules)", name)
            continue
        try:
            inside = members(rule, config, as_of=now, host=host).filter(pk__in=profile_ids)
            for pk in inside.values_list("pk", flat=True):
                found.setdefault(pk, set()).add(name)
        except RuleError as error:
            logger.warning("CRM inserts: the segment '%s' cannot be evaluated: %s", name, error)
    return found


def insert_standing(
    host, config: CRMConfig, snapshots: Iterable[OrderSnapshot], now: datetime
) -> dict[str, Standing]:
    """Before a batch is recorded: how the customer of each order still to decide stood (RFM
    segments in every currency, the rule segments the rules name, the rank held), so that a
    rule on 'At Risk' or 'Dormant' sees the customer the order finds, not the one it makes."""
    candidates = _candidates(config, snapshots)
    if not candidates:
        return {}
    kinds = {rule.kind for rule in config.insert_rules}
    standing = {snapshot.order_id: Standing() for snapshot in candidates}
    if not kinds & {"segment", "rank"}:
        return standing
    profiles = _profiles_before(candidates)
    ids = set(profiles.values())
    segments: dict[int, set[str]] = {}
    named = segments_named(config.insert_rules)
    if named and ids:
        rfm_names = set(config.segment_names)
        for pk, segment in CustomerSpend.objects.filter(
            profile_id__in=ids, segment__in=[n for n in named if n in rfm_names]
        ).values_list("profile_id", "segment"):
            segments.setdefault(pk, set()).add(segment)
        others = [name for name in named if name not in rfm_names]
        for pk, names in _rule_segment_members(config, others, ids, now, host).items():
            segments.setdefault(pk, set()).update(names)
    ranks: dict[int, str | None] = {}
    if "rank" in kinds and config.loyalty.enabled and ids:
        for member in MemberRank.objects.filter(profile_id__in=ids):
            ranks[member.profile_id] = held_code(config.loyalty, member)
    for order_id in standing:
        pk = profiles.get(order_id)
        standing[order_id] = Standing(frozenset(segments.get(pk, ())), ranks.get(pk))
    return standing


def _sequences(order_ids: list[str]) -> dict[str, int]:
    """Each order's place among its customer's orders paid in full, in placed order (1: the
    first), from the ledger (one query)."""
    earlier = (
        OrderRecord.objects.filter(paid_in_full(), profile=OuterRef("profile"))
        .filter(
            Q(placed_at__lt=OuterRef("placed_at"))
            | Q(placed_at=OuterRef("placed_at"), order_id__lt=OuterRef("order_id"))
        )
        .order_by()
        .values("profile")
        .annotate(count=Count("pk"))
        .values("count")
    )
    rows = (
        OrderRecord.objects.filter(order_id__in=order_ids)
        .annotate(earlier=Coalesce(Subquery(earlier), 0))
        .values_list("order_id", "earlier")
    )
    return {order_id: count + 1 for order_id, count in rows}


def _deliveries(order_ids: list[str]) -> dict[str, int]:
    """Which delivery of its subscription each order is (1: the order that started it),
    counting the cycles ordered so far (skipped ones are no delivery)."""
    ordered = Cycle.objects.filter(status=Cycle.Status.ORDERED)
    before = (
        ordered.filter(subscription=OuterRef("subscription"), sequence__lte=OuterRef("sequence"))
        .order_by()
        .values("subscription")
        .annotate(count=Count("pk"))
        .values("count")
    )
    found: dict[str, int] = {}
    rows = ordered.filter(order_id__in=order_ids).annotate(delivery=Subquery(before))
    for order_id, delivery in rows.values_list("order_id", "delivery"):
        found[order_id] = min(delivery, found.get(order_id, delivery))
    return found


def _products(snapshot: OrderSnapshot) -> frozenset[str]:
    return frozenset(
        key
        for line in snapshot.lines
        for key in (line.product_id, line.variant_id, line.sku)
        if key
    )


def apply_inserts(
    host,
    config: CRMConfig,
    snapshots: Iterable[OrderSnapshot],
    standing: dict[str, Standing],
    now: datetime,
) -> InsertReport:
    """Decide the inserts of these orders that `insert_standing` found still to decide, record
    them, and write the codes of every decided order among these not yet written to the store
    (also those decided before, whose write failed)."""
    report = InsertReport()
    snapshots = list(snapshots)
    order_ids = [snapshot.order_id for snapshot in snapshots]
    snapshots = [snapshot for snapshot in snapshots if snapshot.order_id in standing]
    if snapshots:
        ids = [snapshot.order_id for snapshot in snapshots]
        sequences, deliveries = _sequences(ids), _deliveries(ids)
        with transaction.atomic():
            for snapshot in snapshots:
                if snapshot.order_id not in sequences:
                    continue  # not in the ledger (recording it failed): decided next time
                before = standing[snapshot.order_id]
                facts = OrderFacts(
                    sequence=sequences[snapshot.order_id],
                    subscription_delivery=deliveries.get(snapshot.order_id),
                    segments=before.segments,
                    rank=before.rank,
                    products=_products(snapshot),
                )
                codes = decide_inserts(config.insert_rules, facts)
                paid_at = snapshot.paid_at or snapshot.placed_at
                decision, created = InsertDecision.objects.get_or_create(
                    order_id=snapshot.order_id,
                    defaults={
                        "number": snapshot.number or "",
                        "paid_at": paid_at,
                        "decided_at": now,
                        "codes": ",".join(codes),
                    },
                )
                if not created:
                    continue
                report.decided += 1
                if codes:
                    report.with_inserts += 1
                    OrderInsert.objects.bulk_create(
                        OrderInsert(decision=decision, code=code, paid_at=paid_at) for code in codes
                    )
                    for code in codes:
                        report.codes[code] = report.codes.get(code, 0) + 1
    report.written = write_inserts(host, order_ids, now)
    return report


def write_inserts(host, order_ids: list[str], now: datetime) -> int:
    """Write `crm.inserts` of these orders' decisions not yet written; mark them written."""
    pending = list(
        InsertDecision.objects.filter(order_id__in=order_ids, written_at__isnull=True)
        .exclude(codes="")
        .values_list("pk", "order_id", "codes")
    )
    if not pending:
        return 0
    written = host.write_order_private_metadata(
        {order_id: {METADATA_KEY: codes} for _pk, order_id, codes in pending}
    )
    InsertDecision.objects.filter(pk__in=[pk for pk, _o, _c in pending]).update(written_at=now)
    return written


def order_inserts(order_id: str) -> InsertDecision | None:
    """The decision on one order (None: not decided, e.g. not paid yet)."""
    return InsertDecision.objects.filter(order_id=order_id).first()


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of a store-local day and of the next one (summer time included)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def insert_counts(first: date, last: date, zone: ZoneInfo) -> list[tuple[date, str, int]]:
    """(day, code, orders) of the orders paid from `first` to `last` (store days, both
    included), by day then code; days and codes without orders are left out."""
    start, _ = local_day_bounds(first, zone)
    _, end = local_day_bounds(last, zone)
    rows = (
        OrderInsert.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .annotate(day=TruncDate("paid_at", tzinfo=zone))
        .values("day", "code")
        .annotate(orders=Count("pk"))
        .order_by("day", "code")
        .values_list("day", "code", "orders")
    )
    return list(rows)


def picking_rows(day: date, zone: ZoneInfo, host, chunk: int = 2000) -> Iterator[tuple]:
    """(order number, shipping name, inserts) of the orders paid on a store day that got
    inserts, in paid order; the names read from the store a chunk of orders at a time."""
    start, end = local_day_bounds(day, zone)
    decisions = (
        InsertDecision.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .exclude(codes="")
        .order_by("paid_at", "order_id")
        .values_list("paid_at", "order_id", "number", "codes")
    )
    after = None
    while True:
        page = decisions
        if after is not None:
            page = page.filter(Q(paid_at__gt=after[0]) | Q(paid_at=after[0], order_id__gt=after[1]))
        rows = list(page[:chunk])
        if not rows:
            return
        names = host.order_shipping_names([order_id for _at, order_id, _n, _c in rows])
        for _at, order_id, number, codes in rows:
            yield (number or order_id, names.get(order_id, ""), codes.replace(",", ", "))
        after = rows[-1][:2]


def insert_lines(config: CRMConfig, now: datetime) -> list[str]:
    """The day's package inserts as the demo prints them (store day of `now`)."""
    if not config.insert_rules:
        return ["Package inserts: no rules (setting insert-rules)"]
    day = now.astimezone(config.zone).date()
    counts = [f"{code} {orders:,}" for _day, code, orders in insert_counts(day, day, config.zone)]
    rules = len(config.insert_rules)
    return [
        f"Package inserts on {day} (store time, {rules} rules): "
        + (", ".join(counts) if counts else "no order got one")
    ]

"""Points and ranks from a customer's orders, as the order events leave them.

After ingestion has stored an order's newest state, `settle_loyalty` works out from the stored
orders (never from the event at hand) what the ledger should hold, and appends what is missing:

- `earn:order:<id>`: once an order is paid in full, its points (at the rank the customer holds
  then, with the first-order and birthday-month bonuses), *held* as pending;
- `release:order:<id>`: once it is fulfilled, the day the points become available (fulfilment
  plus the return window);
- `reverse:order:<id>:<n>`: when refunds or a cancellation take back `n` of its points in all;
- `bonus:link:<user id>`: once, when the linked-account metadata key gets a value.

Because each key is written once and what is due is computed from the order's newest state, an
order's events delivered twice or in any order leave the same balance. After the points, the
customer's rank is evaluated: up at once, never down (that is the period-end review's job).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Subquery

from ..conf import CRMConfig
from ..customers.models import CustomerProfile, OrderRecord
from ..customers.snapshots import OrderStatus
from ..dates import add_months
from .config import ExpiryKind
from .lots import Entry, Kind
from .membership import evaluate_ranks, held_code, in_window, is_paid, paid_in_full
from .models import MemberRank, PointsEntry
from .points import OrderAmounts, earn_points, points_to_take_back
from .services import Written, record_many

__all__ = ["LoyaltyResult", "award_points", "settle_loyalty"]


@dataclass
class LoyaltyResult:
    entries: int = 0
    rank_changes: int = 0
    # The customers settled (their `crm.*` metadata is the caller's to rewrite).
    profile_ids: list[int] = field(default_factory=list)


def _birth_month(text: str | None) -> int | None:
    try:
        return date.fromisoformat(str(text).strip()[:10]).month if text else None
    except ValueError:
        return None


def _first_paid(profile_ids: list[int]) -> dict[int, str | None]:
    """Each customer's earliest placed order that is paid in full (whatever became of it since).

    One query; each profile's is read in placed order from the (profile, placed_at) index, so
    it stops at the first match even for a customer with thousands of orders.
    """
    first = (
        OrderRecord.objects.filter(paid_in_full(), profile=OuterRef("pk"))
        .order_by("placed_at", "order_id")
        .values("order_id")[:1]
    )
    return dict(
        CustomerProfile.objects.filter(pk__in=profile_ids)
        .annotate(first=Subquery(first))
        .values_list("pk", "first")
    )


def _order_items(
    config: CRMConfig,
    rank_multiplier: Decimal,
    orders: list[OrderRecord],
    first: str | None,
    existing: dict[str, list[PointsEntry]],
    birth_month: int | None,
    now: datetime,
    earn_from: datetime | None,
) -> list[Written]:
    loyalty = config.loyalty
    paid = sorted(
        (order for order in orders if is_paid(order)),
        key=lambda order: (order.paid_at or order.placed_at, order.order_id),
    )
    items = []
    for order in paid:
        entries = {entry.key: entry for entry in existing.get(order.order_id, ())}
        lot = f"earn:order:{order.order_id}"
        earned = entries.get(lot)
        if earned is not None:
            points, earned_at = earned.points, earned.at
        elif not order.counts:
            continue  # cancelled or refunded in full before it was seen paid: nothing to earn
        elif earn_from is not None and (order.paid_at or order.placed_at) < earn_from:
            continue  # paid before the program started
        else:
            earned_at = order.paid_at or order.placed_at
            earning = earn_points(
                OrderAmounts(
                    order.currency,
                    order.total_gross_amount,
                    order.total_net_amount,
                    order.shipping_gross_amount,
                    order.shipping_net_amount,
                ),
                loyalty.earn,
                rank_multiplier,
                first_order=order.order_id == first,
                birthday_month=birth_month == earned_at.astimezone(config.zone).month,
            )
            if earning.points <= 0:
                continue
            points = earning.points
            expires_at = None
            if loyalty.expiry.kind is ExpiryKind.LOT:
                expires_at = add_months(earned_at, loyalty.expiry.months)
            items.append(
                Written(
                    Entry(lot, Kind.EARN, points, earned_at, expires_at=expires_at, held=True),
                    reason=f"order {order.number or order.order_id}: {', '.join(earning.reasons)}",
                    currency=order.currency,
                    order_id=order.order_id,
                )
            )
        release = f"release:order:{order.order_id}"
        if order.fulfilled_at is not None and release not in entries:
            items.append(
                Written(
                    Entry(
                        release,
                        Kind.RELEASE,
                        0,
                        max(order.fulfilled_at, earned_at),
                        lot=lot,
                        available_at=order.fulfilled_at
                        + timedelta(days=loyalty.return_window_days),
                    ),
                    reason=f"fulfilled; {loyalty.return_window_days} days to return",
                    order_id=order.order_id,
                )
            )
        if order.status == OrderStatus.CANCELED.value:
            due, why = points, "cancelled"
        else:
            due = points_to_take_back(points, order.total_gross_amount, order.refunded_amount)
            why = f"refunded {order.refunded_amount} of {order.total_gross_amount} {order.currency}"
        taken = -sum(e.points for e in entries.values() if e.kind == Kind.REVERSE.value)
        if due > taken:
            when = order.cancelled_at or order.refunded_at or now
            items.append(
                Written(
                    Entry(
                        f"reverse:order:{order.order_id}:{due}",
                        Kind.REVERSE,
                        taken - due,
                        max(when, earned_at),
                        lot=lot,
                    ),
                    reason=why,
                    currency=order.currency,
                    order_id=order.order_id,
                )
            )
    return items


def _earn_from(config: CRMConfig, since: datetime | None) -> datetime | None:
    """The later of the setting's start day (midnight, store time) and `since`."""
    starts = [since] if since is not None else []
    if config.loyalty.earn_from is not None:
        starts.append(datetime.combine(config.loyalty.earn_from, time.min, tzinfo=config.zone))
    return max(starts, default=None)


def settle_loyalty(
    config: CRMConfig,
    host,
    profile_ids,
    now: datetime,
    since: datetime | None = None,
    order_ids=None,
) -> LoyaltyResult:
    """Bring these customers' points and ranks up to date with their stored orders.

    `order_ids`: only these orders (those an event just changed); None: all their orders.
    Registered customers only (a guest's orders earn once they register and the orders are
    adopted). Orders paid before the `points-earn-from` setting or `since` earn nothing.
    Nothing happens while loyalty is off.
    """
    result = LoyaltyResult()
    loyalty = config.loyalty
    if not loyalty.enabled:
        return result
    earn_from = _earn_from(config, since)
    profiles = list(
        CustomerProfile.objects.filter(
            pk__in=list(profile_ids), user_id__isnull=False, anonymized_at__isnull=True
        ).order_by("pk")
    )
    if not profiles:
        return result
    keys = [config.birth_date_key]
    if loyalty.bonuses.link_key:
        keys.append(loyalty.bonuses.link_key)
    metadata = host.private_metadata([profile.user_id for profile in profiles], keys)
    ids = [profile.pk for profile in profiles]
    orders = OrderRecord.objects.filter(profile_id__in=ids)
    if order_ids is not None:
        orders = orders.filter(order_id__in=list(order_ids))
    orders_of: dict[int, list[OrderRecord]] = defaultdict(list)
    for order in orders:
        orders_of[order.profile_id].append(order)
    existing: dict[str, list[PointsEntry]] = defaultdict(list)
    for entry in PointsEntry.objects.filter(
        account__profile_id__in=ids,
        order_id__in=[order.order_id for group in orders_of.values() for order in group],
    ):
        existing[entry.order_id].append(entry)
    members = {
        member.profile_id: member for member in MemberRank.objects.filter(profile_id__in=ids)
    }
    first_paid = _first_paid([pk for pk in ids if orders_of[pk]])
    link_key = loyalty.bonuses.link_key
    for profile in profiles:
        values = metadata.get(profile.user_id, {})
        code = held_code(loyalty, members.get(profile.pk)) or loyalty.ladder.ranks[0].code
        items = _order_items(
            config,
            loyalty.ladder.by_code(code).points_multiplier,
            orders_of[profile.pk],
            first_paid.get(profile.pk),
            existing,
            _birth_month(values.get(config.birth_date_key)),
            now,
            earn_from,
        )
        if link_key and loyalty.bonuses.link_points and values.get(link_key):
            bonus = Entry(
                f"bonus:link:{profile.user_id}", Kind.EARN, loyalty.bonuses.link_points, now
            )
            items.append(Written(bonus, reason=f"linked account ({link_key})"))
        if items:  # the entries are keyed: one written before is not written again
            written = record_many(profile.pk, items, allow_negative=loyalty.allow_negative)
            result.entries += len(written)
    # Ranks go up at once when the earnings cross a threshold (one evaluation for them all).
    result.rank_changes = len(evaluate_ranks(config, ids, now))
    return result


def award_points(
    config: CRMConfig, host, since: datetime, now: datetime, batch: int = 500
) -> LoyaltyResult:
    """Give the points of every order paid since `since` that has none yet (the launch of a
    program on a store with a history). Idempotent: a second run writes nothing. The caller
    rewrites the `crm.*` metadata of `profile_ids`.
    """
    result = LoyaltyResult()
    paid = (
        OrderRecord.objects.filter(
            profile__user_id__isnull=False, profile__anonymized_at__isnull=True
        )
        .filter(in_window(since))
        .values_list("profile_id", flat=True)
        .distinct()
    )
    ids = sorted(set(paid))
    for start in range(0, len(ids), batch):
        part_ids = ids[start : start + batch]
        part = settle_loyalty(config, host, part_ids, now, since=since)
        result.profile_ids += part_ids
        result.entries += part.entries
        result.rank_changes += part.rank_changes
    return result

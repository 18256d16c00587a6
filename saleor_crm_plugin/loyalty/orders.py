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

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction

from ..conf import CRMConfig
from ..customers.models import CustomerProfile, OrderRecord
from ..customers.snapshots import NOT_PLACED, OrderStatus
from ..money import quantize_amount
from .config import ExpiryKind, LoyaltyConfig
from .lots import Entry, Kind
from .models import MemberRank, PointsEntry, RankChange
from .points import OrderAmounts, earn_points, points_to_take_back
from .ranks import Figures, Pin, decide
from .services import Written, record_many

__all__ = ["LoyaltyResult", "evaluate_rank", "is_paid", "settle_loyalty"]

_UNPLACED = {status.value for status in NOT_PLACED}
# Orders a rank decision names (the newest first), enough to answer "why is this customer Gold?".
_DECIDING_ORDERS = 100


@dataclass
class LoyaltyResult:
    entries: int = 0
    rank_changes: int = 0


def is_paid(order: OrderRecord) -> bool:
    """Paid in full: what was charged (and given back since) covers the total."""
    if order.status in _UNPLACED or order.total_gross_amount <= 0:
        return False
    return order.paid_amount + order.refunded_amount >= order.total_gross_amount


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _birth_month(text: str | None) -> int | None:
    try:
        return date.fromisoformat(str(text).strip()[:10]).month if text else None
    except ValueError:
        return None


def _order_items(
    config: CRMConfig,
    rank_multiplier: Decimal,
    orders: list[OrderRecord],
    existing: dict[str, list[PointsEntry]],
    birth_month: int | None,
    now: datetime,
) -> list[Written]:
    loyalty = config.loyalty
    paid = sorted(
        (order for order in orders if is_paid(order)),
        key=lambda order: (order.paid_at or order.placed_at, order.order_id),
    )
    first = paid[0].order_id if paid else None
    items = []
    for order in paid:
        entries = {entry.key: entry for entry in existing.get(order.order_id, ())}
        lot = f"earn:order:{order.order_id}"
        earned = entries.get(lot)
        if earned is not None:
            points, earned_at = earned.points, earned.at
        elif not order.counts:
            continue  # cancelled or refunded in full before it was seen paid: nothing to earn
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
                expires_at = _add_months(earned_at, loyalty.expiry.months)
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


def _rank_figures(
    config: CRMConfig, profile_id: int, orders: list[OrderRecord], now: datetime
) -> tuple[Figures, list[str]]:
    start = config.loyalty.ladder.window.period_start(now, config.zone)
    counted = [
        order
        for order in orders
        if order.counts
        and is_paid(order)
        and (start is None or (order.paid_at or order.placed_at) >= start)
    ]
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for order in counted:
        spend[order.currency] += order.net_spend_amount
    earned = PointsEntry.objects.filter(
        account__profile_id=profile_id, kind__in=[Kind.EARN.value, Kind.REVERSE.value]
    ).exclude(order_id="")
    if start is not None:
        earned = earned.filter(at__gte=start)
    points = sum(earned.values_list("points", flat=True))
    newest = sorted(counted, key=lambda order: order.placed_at, reverse=True)
    return (
        Figures(
            orders=len(counted),
            spend={
                currency: quantize_amount(amount, currency) for currency, amount in spend.items()
            },
            points=points,
        ),
        [order.order_id for order in newest[:_DECIDING_ORDERS]],
    )


def _review_at(loyalty: LoyaltyConfig, config: CRMConfig, now: datetime) -> datetime:
    """The next period end; a lifetime ladder is reviewed on the 1st of each month."""
    end = loyalty.ladder.window.period_end(now, config.zone)
    if end is not None:
        return end
    local = now.astimezone(config.zone)
    return _add_months(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0), 1)


def _held_code(loyalty: LoyaltyConfig, member: MemberRank | None) -> str | None:
    """The code the customer holds, if it is still on the ladder (else: start again lowest)."""
    if member is None:
        return None
    codes = {rank.code for rank in loyalty.ladder.ranks}
    return member.code if member.code in codes else None


def evaluate_rank(
    config: CRMConfig,
    profile: CustomerProfile,
    now: datetime,
    *,
    period_end: bool = False,
    orders: list[OrderRecord] | None = None,
) -> bool:
    """Evaluate one customer's rank; record the change. True when the rank changed.

    Without `period_end` a rank only goes up (a paid order crossed a threshold); with it (the
    review at the period end) it may go down, and the next review is set.
    """
    loyalty = config.loyalty
    member = MemberRank.objects.select_for_update().filter(profile=profile).first()
    if orders is None:
        orders = list(OrderRecord.objects.filter(profile=profile))
    figures, deciding = _rank_figures(config, profile.pk, orders, now)
    pin = None
    if member is not None and member.pin_code:
        pin = Pin(member.pin_code, member.pin_reason, member.pin_expires_at)
    held = _held_code(loyalty, member)
    decision = decide(
        loyalty.ladder,
        held,
        figures,
        now,
        period_end=period_end,
        pin=pin,
        last_order_at=profile.last_order_at,
        zone=config.zone,
    )
    version = loyalty.ladder_version
    changed = member is None or held is None or decision.code != member.code
    if member is None:
        member = MemberRank(profile=profile, code=decision.code, since=now)
    if changed:
        RankChange.objects.create(
            profile=profile,
            from_code="" if held is None and member.pk is None else member.code,
            to_code=decision.code,
            reason=decision.reason if decision.changed else "the starting rank",
            at=now,
            rule_version=version,
            order_ids=deciding,
            actor="",
        )
        member.code, member.since = decision.code, now
    if pin is not None and pin.expires_at is not None and now >= pin.expires_at:
        member.pin_code, member.pin_reason, member.pin_expires_at = "", "", None
        member.pinned_by = ""
    member.rule_version = version
    if period_end or member.review_at is None:
        member.review_at = _review_at(loyalty, config, now)
    member.save()
    return changed


def settle_loyalty(config: CRMConfig, host, profile_ids, now: datetime) -> LoyaltyResult:
    """Bring these customers' points and ranks up to date with their stored orders.

    Registered customers only (a guest's orders earn once they register and the orders are
    adopted). Nothing happens while loyalty is off.
    """
    result = LoyaltyResult()
    loyalty = config.loyalty
    if not loyalty.enabled:
        return result
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
    for profile in profiles:
        values = metadata.get(profile.user_id, {})
        with transaction.atomic():
            orders = list(OrderRecord.objects.filter(profile=profile))
            existing: dict[str, list[PointsEntry]] = defaultdict(list)
            for entry in PointsEntry.objects.filter(
                account__profile=profile, order_id__in=[order.order_id for order in orders]
            ):
                existing[entry.order_id].append(entry)
            member = MemberRank.objects.filter(profile=profile).first()
            code = _held_code(loyalty, member) or loyalty.ladder.ranks[0].code
            multiplier = loyalty.ladder.by_code(code).points_multiplier
            items = _order_items(
                config,
                multiplier,
                orders,
                existing,
                _birth_month(values.get(config.birth_date_key)),
                now,
            )
            link_key = loyalty.bonuses.link_key
            if link_key and loyalty.bonuses.link_points and values.get(link_key):
                bonus = Entry(
                    f"bonus:link:{profile.user_id}", Kind.EARN, loyalty.bonuses.link_points, now
                )
                items.append(Written(bonus, reason=f"linked account ({link_key})"))
            written = record_many(profile.pk, items, allow_negative=loyalty.allow_negative)
            result.entries += len(written)
            if evaluate_rank(config, profile, now, orders=orders):
                result.rank_changes += 1
    return result

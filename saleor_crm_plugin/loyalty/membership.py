"""Membership ranks kept in the database: evaluation after orders, the period-end review, pins.

Every change of a customer's rank is a `RankChange` row: from, to, the rule's reason, the rank
configuration's version and the orders the figures counted, and who (staff) when it was not
the rules.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from ..conf import CRMConfig
from ..customers.models import CustomerProfile, OrderRecord
from ..customers.snapshots import NOT_PLACED
from ..errors import FieldError
from ..money import quantize_amount
from .config import LoyaltyConfig
from .lots import Kind
from .models import MemberRank, PointsEntry, RankChange
from .ranks import Figures, Pin, add_months, decide

__all__ = ["RankInputError", "evaluate_rank", "held_code", "is_paid", "pin_rank", "review_ranks"]

_UNPLACED = {status.value for status in NOT_PLACED}
# Orders a rank decision names (the newest first), enough to answer "why is this customer Gold?".
_DECIDING_ORDERS = 100


class RankInputError(FieldError):
    """A staff request about a rank is wrong; `field` names the input."""


def is_paid(order: OrderRecord) -> bool:
    """Paid in full: what was charged (and given back since) covers the total."""
    if order.status in _UNPLACED or order.total_gross_amount <= 0:
        return False
    return order.paid_amount + order.refunded_amount >= order.total_gross_amount


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
    return add_months(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0), 1)


def held_code(loyalty: LoyaltyConfig, member: MemberRank | None) -> str | None:
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
    actor: str = "",
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
    held = held_code(loyalty, member)
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
            actor=actor,
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


@dataclass
class ReviewReport:
    reviewed: int = 0
    changed: int = 0
    profile_ids: list[int] = field(default_factory=list)


def _review(config: CRMConfig, profile_ids: list[int], now: datetime, period_end: bool, report):
    for profile in CustomerProfile.objects.filter(pk__in=profile_ids).order_by("pk"):
        with transaction.atomic():
            changed = evaluate_rank(config, profile, now, period_end=period_end)
        report.reviewed += 1
        if changed:
            report.changed += 1
            report.profile_ids.append(profile.pk)


def review_ranks(config: CRMConfig, now: datetime, batch: int = 1_000) -> ReviewReport:
    """The periodic rank review: ranks whose period ended are evaluated with downgrades.

    Registered customers with orders but no rank yet (orders from a backfill) get their first.
    """
    report = ReviewReport()
    if not config.loyalty.enabled:
        return report
    due = MemberRank.objects.filter(Q(review_at__lte=now) | Q(review_at__isnull=True))
    while ids := list(due.order_by("profile_id").values_list("profile_id", flat=True)[:batch]):
        _review(config, ids, now, True, report)
    unranked = CustomerProfile.objects.filter(
        user_id__isnull=False, anonymized_at__isnull=True, order_count__gt=0, member_rank=None
    )
    while ids := list(unranked.order_by("pk").values_list("pk", flat=True)[:batch]):
        _review(config, ids, now, False, report)
    return report


def pin_rank(
    config: CRMConfig,
    profile: CustomerProfile,
    code: str | None,
    reason: str,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    actor: str,
) -> MemberRank:
    """Pin the customer's rank to `code` until `expires_at` (None: until unpinned), or unpin
    (`code` None or empty). Staff only; recorded with `actor` and `reason`. Raises
    `RankInputError` naming the input; nothing changes then.
    """
    codes = [rank.code for rank in config.loyalty.ladder.ranks]
    reason = (reason or "").strip()
    if code and code not in codes:
        raise RankInputError("code", f"'{code}' is not a rank; the ranks are {', '.join(codes)}")
    if not reason:
        raise RankInputError("reason", "is required: say why, for the customer's history")
    if len(reason) > 200:
        raise RankInputError("reason", "is longer than 200 characters")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise RankInputError("expires_at", "must be a future time with a time zone")
    with transaction.atomic():
        member = MemberRank.objects.select_for_update().filter(profile=profile).first()
        if member is None:
            evaluate_rank(config, profile, now)
            member = MemberRank.objects.select_for_update().get(profile=profile)
        if code:
            member.pin_code, member.pin_reason = code, reason
            member.pin_expires_at, member.pinned_by = expires_at, actor
            member.save()
            evaluate_rank(config, profile, now, actor=actor)
        else:
            member.pin_code, member.pin_reason, member.pin_expires_at = "", "", None
            member.pinned_by = ""
            member.save()
            RankChange.objects.create(
                profile=profile,
                from_code=member.code,
                to_code=member.code,
                reason=f"unpinned by staff: {reason}",
                at=now,
                rule_version=config.loyalty.ladder_version,
                actor=actor,
            )
            evaluate_rank(config, profile, now, actor=actor)
        return MemberRank.objects.get(profile=profile)

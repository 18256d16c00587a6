"""Renewal orders, exactly once per cycle, whatever the workers, retries or crashes.

The run claims due cycles with `SELECT ... FOR UPDATE SKIP LOCKED` (two workers never take the
same cycle) and marks them CLAIMED in a short transaction. Each claimed cycle is then renewed
under its row lock:

1. the store is asked first for an order carrying the cycle's idempotency key (a previous
   attempt may have created it and died before recording it): if there is one, it is the
   cycle's order;
2. otherwise the store creates the order, carrying the key;
3. the cycle becomes ORDERED with the order's id, in the same transaction as the bookkeeping.

A claim older than `STALE_CLAIM` (its worker died) is claimed again; step 1 keeps it from
ordering twice. A failure (out of stock, variant gone, address invalid) marks the cycle FAILED
with the reason and a retry time from the store's schedule; after the last retry the
subscription needs staff attention.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q

from .models import Cycle, Subscription, SubscriptionEvent
from .schedule import plan_from_json, plan_to_json
from .services import Rules, sync_cycles

__all__ = ["RenewalError", "RenewalReport", "RenewalRequest", "claim_due", "renew", "run_renewals"]

STALE_CLAIM = timedelta(minutes=15)
# Hours after a failure before each retry; after the last, staff act.
RETRY_HOURS = (1, 6, 24)


class RenewalError(Exception):
    """The store could not create a renewal order; the message is the reason staff see."""


@dataclass(frozen=True)
class RenewalRequest:
    key: str  # the cycle's idempotency key, carried by the order
    subscription_id: int
    sequence: int
    user_id: str
    channel: str
    currency: str
    lines: tuple[tuple[str, int], ...]  # (variant id, quantity)
    delivery_on: date
    shipping_address: dict = field(default_factory=dict)


@dataclass
class RenewalReport:
    claimed: int = 0
    ordered: int = 0
    found: int = 0  # orders an earlier, interrupted attempt had created
    failed: int = 0
    attention: int = 0


def claim_due(now: datetime, limit: int = 500) -> list[int]:
    """Claim up to `limit` due cycles no other worker holds; return their ids."""
    due = Q(status__in=[Cycle.Status.SCHEDULED, Cycle.Status.FAILED], renewal_due_at__lte=now)
    due &= Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    stale = Q(status=Cycle.Status.CLAIMED, updated_at__lt=now - STALE_CLAIM)
    with transaction.atomic():
        ids = list(
            Cycle.objects.select_for_update(skip_locked=True)
            .filter(due | stale, subscription__status=Subscription.Status.ACTIVE)
            .order_by("renewal_due_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        Cycle.objects.filter(pk__in=ids).update(status=Cycle.Status.CLAIMED, updated_at=now)
    return ids


def _request(cycle: Cycle) -> RenewalRequest:
    subscription = cycle.subscription
    lines = tuple(
        (line.variant_id, line.quantity)
        for line in subscription.lines.all()
        if line.only_cycle in (None, cycle.sequence)
    )
    return RenewalRequest(
        key=cycle.idempotency_key,
        subscription_id=subscription.pk,
        sequence=cycle.sequence,
        user_id=subscription.user_id,
        channel=subscription.channel,
        currency=subscription.currency,
        lines=lines,
        delivery_on=cycle.delivery_on,
        shipping_address=subscription.shipping_address,
    )


def renew(cycle_id: int, host, now: datetime, rules: Rules, zone: ZoneInfo, report) -> None:
    """Create (or find) the order of one claimed cycle and record it, once."""
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().select_related("subscription").get(pk=cycle_id)
        if cycle.status != Cycle.Status.CLAIMED:
            return  # another worker finished it
        subscription = Subscription.objects.select_for_update().get(pk=cycle.subscription_id)
        request = _request(cycle)
        order_id = host.find_renewal_order(request.key)
        if order_id is not None:
            report.found += 1
        else:
            try:
                with transaction.atomic():
                    order_id = host.create_renewal_order(request)
            except RenewalError as error:
                _failed(cycle, subscription, str(error), now, report)
                return
        cycle.status, cycle.order_id, cycle.retry_at = Cycle.Status.ORDERED, order_id, None
        cycle.attempts += 1
        cycle.save(update_fields=["status", "order_id", "retry_at", "attempts", "updated_at"])
        plan = plan_from_json(subscription.plan)
        if cycle.sequence > plan.ordered_through:
            plan = replace(plan, ordered_through=cycle.sequence)
        subscription.plan = plan_to_json(plan)
        subscription.deliveries += 1
        subscription.save(update_fields=["plan", "deliveries", "updated_at"])
        SubscriptionEvent.objects.create(
            subscription=subscription,
            kind="renewed",
            actor="system",
            at=now,
            data={"sequence": cycle.sequence, "order_id": order_id},
        )
        sync_cycles(subscription, now.astimezone(zone).date(), rules, zone)
        report.ordered += 1


def _failed(cycle: Cycle, subscription: Subscription, reason: str, now, report) -> None:
    cycle.attempts += 1
    cycle.last_error = reason[:512]
    report.failed += 1
    kind = "renewal_failed"
    if cycle.attempts > len(RETRY_HOURS):
        cycle.status, cycle.retry_at = Cycle.Status.FAILED, None
        subscription.status = Subscription.Status.ATTENTION
        subscription.save(update_fields=["status", "updated_at"])
        report.attention += 1
        kind = "needs_attention"
    else:
        cycle.status = Cycle.Status.FAILED
        cycle.retry_at = now + timedelta(hours=RETRY_HOURS[cycle.attempts - 1])
    cycle.save(update_fields=["status", "attempts", "last_error", "retry_at", "updated_at"])
    SubscriptionEvent.objects.create(
        subscription=subscription,
        kind=kind,
        actor="system",
        at=now,
        data={"sequence": cycle.sequence, "reason": reason, "attempts": cycle.attempts},
    )


def run_renewals(host, now: datetime, rules: Rules, zone: ZoneInfo, batch: int = 500):
    """Claim and renew every due cycle; return what happened."""
    report = RenewalReport()
    while ids := claim_due(now, batch):
        report.claimed += len(ids)
        for cycle_id in ids:
            renew(cycle_id, host, now, rules, zone, report)
    return report

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
with the reason and a retry time from the store's schedule (`Rules.retry_hours`); after the
last retry the subscription needs staff attention. The customer and staff are told of each
failure after the transaction commits (`subscriptions.notify`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q

from .models import Cycle, Subscription, SubscriptionEvent
from .notify import notify_failure
from .schedule import ScheduleError, plan_from_json, plan_to_json
from .services import Rules, failed_cycle, sync_cycles

__all__ = [
    "RenewalError",
    "RenewalReport",
    "RenewalRequest",
    "claim_due",
    "renew",
    "retry_failed",
    "run_renewals",
]

STALE_CLAIM = timedelta(minutes=15)


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
    billing_address: dict = field(default_factory=dict)
    time_slot: str = ""
    prices: dict = field(default_factory=dict)  # variant -> the unit price last ordered
    # With points on renewals: called with the order's total, returns a gift card code of
    # the customer's points (at most the total) for the store to apply, or None.
    pay_with_points: Callable[[Decimal], str | None] | None = field(default=None, compare=False)

    @property
    def metadata(self) -> dict[str, str]:
        """The order's public metadata: the warehouse and the storefront read the delivery."""
        data = {
            "crm.subscription_id": str(self.subscription_id),
            "crm.cycle": str(self.sequence),
            "crm.delivery_on": self.delivery_on.isoformat(),
        }
        if self.time_slot:
            data["crm.time_slot"] = self.time_slot
        return data


@dataclass
class RenewalReport:
    claimed: int = 0
    ordered: int = 0
    found: int = 0  # orders an earlier, interrupted attempt had created
    failed: int = 0
    attention: int = 0


def claim_due(now: datetime, limit: int = 500) -> list[int]:
    """Claim up to `limit` due cycles no other worker holds; return their ids.

    Due cycles come by the `cycle_due` index in due order; claims abandoned by a dead worker
    (`STALE_CLAIM`) by the `cycle_claimed` one. Only the cycle rows are locked, so a customer
    changing their subscription at the same moment never makes the run skip it."""
    active = Q(subscription__status=Subscription.Status.ACTIVE)
    with transaction.atomic():
        rows = Cycle.objects.select_for_update(skip_locked=True, of=("self",))
        ids = list(
            rows.filter(
                active,
                Q(retry_at__isnull=True) | Q(retry_at__lte=now),
                status__in=[Cycle.Status.SCHEDULED, Cycle.Status.FAILED],
                renewal_due_at__lte=now,
            )
            .order_by("renewal_due_at")  # the index's order: the scan stops at `limit`
            .values_list("pk", flat=True)[:limit]
        )
        if len(ids) < limit:
            ids += rows.filter(
                active, status=Cycle.Status.CLAIMED, updated_at__lt=now - STALE_CLAIM
            ).values_list("pk", flat=True)[: limit - len(ids)]
        Cycle.objects.filter(pk__in=ids).update(status=Cycle.Status.CLAIMED, updated_at=now)
    return ids


def _points_payer(host, cycle: Cycle, now: datetime, used: dict):
    """The customer's available points, as a gift card of at most the order's total (once per
    cycle: the redemption's request id is the cycle's). `used` gets the points spent."""
    from ..loyalty.redemption import redeem_for_gift_card
    from ..loyalty.services import PointsError, balance

    subscription = cycle.subscription
    config = host.config()

    def pay(total: Decimal) -> str | None:
        rule = config.loyalty.redemption.get(subscription.currency)
        if rule is None or total <= 0:
            return None
        available = balance(subscription.profile_id, now).balance
        points = min(available, int(total * rule.points / rule.value))
        if rule.max_points is not None:
            points = min(points, rule.max_points)
        if points < max(rule.min_points, 1):
            return None
        try:
            redeemed = redeem_for_gift_card(
                config,
                host,
                subscription.profile,
                points,
                subscription.currency,
                f"renewal-{subscription.pk}-{cycle.sequence}",
                now,
                actor="system",
            )
        except PointsError:
            return None  # nothing usable: the order is charged in full
        used.update(points=redeemed.points, amount=str(redeemed.amount), code=redeemed.code)
        return redeemed.code

    return pay


def _request(cycle: Cycle) -> RenewalRequest:
    subscription = cycle.subscription
    ordered = [
        line for line in subscription.lines.all() if line.only_cycle in (None, cycle.sequence)
    ]
    lines = tuple((line.variant_id, line.quantity) for line in ordered)
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
        billing_address=subscription.billing_address,
        time_slot=subscription.time_slot,
        prices={
            line.variant_id: line.unit_price for line in ordered if line.unit_price is not None
        },
    )


def renew(
    cycle_id: int, host, now: datetime, rules: Rules, zone: ZoneInfo, report, notify=True
) -> None:
    """Create (or find) the order of one claimed cycle and record it, once; a failure is
    emailed to the customer and staff unless `notify` is off (staff retrying see it)."""
    with transaction.atomic():
        # The subscription first, then its cycle: the order every change takes (`act`).
        subscription = (
            Subscription.objects.select_for_update(of=("self",)).filter(cycles=cycle_id).first()
        )
        cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
        if cycle.status != Cycle.Status.CLAIMED:
            return  # another worker finished it
        cycle.subscription = subscription
        request = _request(cycle)
        points = {}
        if subscription.use_points and rules.points_on_renewals:
            request = replace(request, pay_with_points=_points_payer(host, cycle, now, points))
        order_id = host.find_renewal_order(request.key)
        if order_id is not None:
            report.found += 1
        else:
            try:
                with transaction.atomic():
                    order_id = host.create_renewal_order(request)
            except RenewalError as error:
                _failed(cycle, subscription, str(error), now, rules, report)
                if notify:
                    notify_failure(host, host.config(), cycle, subscription)
                return
        if len(request.prices) < len(request.lines):
            _record_prices(host, subscription, order_id)
        cycle.status, cycle.order_id, cycle.retry_at = Cycle.Status.ORDERED, order_id, None
        cycle.attempts += 1
        cycle.save(update_fields=["status", "order_id", "retry_at", "attempts", "updated_at"])
        plan = plan_from_json(subscription.plan)
        if cycle.sequence > plan.ordered_through:
            plan = replace(plan, ordered_through=cycle.sequence)
        subscription.plan = plan_to_json(plan)
        subscription.deliveries += 1
        SubscriptionEvent.objects.create(
            subscription=subscription,
            kind="renewed",
            actor="system",
            at=now,
            data={"sequence": cycle.sequence, "order_id": order_id, **points},
        )
        sync_cycles(
            subscription, now.astimezone(zone).date(), rules, zone, also=("plan", "deliveries")
        )
        report.ordered += 1


def _record_prices(host, subscription: Subscription, order_id: str) -> None:
    """Lines never ordered before (a swap, a one-time item) take the order's unit prices."""
    snapshot = host.order_snapshots([order_id]).get(order_id)
    if snapshot is None:
        return
    prices = {line.variant_id: line.unit_price_gross for line in snapshot.lines}
    for line in subscription.lines.filter(unit_price__isnull=True):
        if line.variant_id in prices:
            line.unit_price = prices[line.variant_id]
            line.save(update_fields=["unit_price"])


def _failed(cycle: Cycle, subscription: Subscription, reason: str, now, rules, report) -> None:
    cycle.attempts += 1
    cycle.last_error = reason[:512]
    report.failed += 1
    kind = "renewal_failed"
    if cycle.attempts > len(rules.retry_hours):
        cycle.status, cycle.retry_at = Cycle.Status.FAILED, None
        subscription.status = Subscription.Status.ATTENTION
        subscription.save(update_fields=["status", "updated_at"])
        report.attention += 1
        kind = "needs_attention"
    else:
        cycle.status = Cycle.Status.FAILED
        cycle.retry_at = now + timedelta(hours=rules.retry_hours[cycle.attempts - 1])
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


def retry_failed(subscription_id: int, host, *, actor: str, now: datetime, rules: Rules, zone):
    """Staff retry a failed renewal now; return the subscription, the cycle and the report.

    A subscription waiting for staff is active again for the attempt; if it fails once more,
    it waits for staff again (the retries were spent)."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        if subscription.status == Subscription.Status.CANCELLED:
            raise ScheduleError("subscription", "cancelled", "the subscription is cancelled")
        cycle = failed_cycle(subscription)
        waited = subscription.status == Subscription.Status.ATTENTION
        if waited:
            subscription.status = Subscription.Status.ACTIVE
            subscription.save(update_fields=["status", "updated_at"])
        Cycle.objects.filter(pk=cycle.pk).update(status=Cycle.Status.CLAIMED, updated_at=now)
        SubscriptionEvent.objects.create(
            subscription=subscription,
            kind="retry",
            actor=actor,
            at=now,
            data={"sequence": cycle.sequence},
        )
    report = RenewalReport(claimed=1)
    renew(cycle.pk, host, now, rules, zone, report, notify=False)
    if report.failed and waited:  # no automatic retries again: back to staff
        Cycle.objects.filter(pk=cycle.pk).update(retry_at=None)
        Subscription.objects.filter(pk=subscription_id).update(status=Subscription.Status.ATTENTION)
    cycle.refresh_from_db()
    return Subscription.objects.get(pk=subscription_id), cycle, report

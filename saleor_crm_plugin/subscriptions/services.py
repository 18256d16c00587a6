"""Subscriptions in the database: start one, change it as its customer or staff ask, keep its
cycle rows equal to its schedule. Every change locks the subscription row, is checked by the
pure schedule (`subscriptions.schedule`), and is recorded as an event with its actor; a refused
change raises `ScheduleError` (field, code, message) and writes nothing.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import transaction

from ..customers.models import CustomerProfile
from ..rows import add_rows, new_ids
from . import schedule
from .models import Cycle, Subscription, SubscriptionEvent, SubscriptionLine
from .schedule import Change, CycleState, Interval, ScheduleError, plan_from_json, plan_to_json

__all__ = [
    "NewLine",
    "Rules",
    "act",
    "clean_address",
    "create_subscription",
    "create_subscriptions",
    "failed_cycle",
    "offers",
    "rules_for",
    "skip_failed",
    "sync_cycles",
]


class NewLine(NamedTuple):
    """A line of a new subscription (a plain (variant, quantity) pair works too)."""

    variant_id: str
    quantity: int
    unit_price: Decimal | None = None  # the price paid for it (the subscription's currency)
    product_name: str = ""


# Upcoming cycles kept as rows (the renewal run claims them; the rest is computed).
HORIZON = 3


@dataclass(frozen=True)
class Rules:
    """The store's subscription rules (settings)."""

    cutoff_days: int = 5  # changes closer than this to a delivery apply from the one after
    lead_days: int = 3  # the renewal order is created this long before the delivery
    renewal_hour: int = 9  # ... at this local hour
    max_move_days: int = 30  # how far the next delivery may be moved
    min_deliveries: int = 0  # deliveries before the customer may cancel
    retry_hours: tuple[int, ...] = (1, 6, 24)  # after each failed renewal; then staff act
    spread_hours: int = 0  # renewals of a day spread over this many hours after renewal_hour
    points_on_renewals: bool = False  # customers may pay renewals with points
    allowed: tuple[Interval, ...] = ()  # the intervals customers may choose
    offered: dict = None  # every variant's intervals (the `subscription-plans` setting)

    def __post_init__(self):
        if self.offered is None:
            object.__setattr__(self, "offered", {})


def offers(config, host, variant_ids) -> dict[str, tuple[Interval, ...]]:
    """The intervals each of these variants (IDs or SKUs) offers: the `subscription-plans`
    setting first, else the product's (or variant's) metadata in the store."""
    found = {v: config.subscription_plans[v] for v in variant_ids if v in config.subscription_plans}
    rest = [v for v in variant_ids if v and v not in found]
    if rest and host is not None:
        found.update(host.subscription_offers(rest))
    return found


def rules_for(config, variant_ids=(), host=None, extra=()) -> Rules:
    """The store's rules from its settings; `allowed`: the intervals every one of these
    variants (IDs or SKUs) offers. With the `host`, product metadata offers intervals too;
    `extra` variants (a swap's target) are looked up for `offered` without narrowing `allowed`."""
    known = offers(config, host, [*variant_ids, *extra])
    offered = [known.get(variant) for variant in variant_ids]
    allowed: tuple[Interval, ...] = ()
    if offered and all(offered):
        allowed = tuple(i for i in offered[0] if all(i in other for other in offered[1:]))
    return Rules(
        cutoff_days=config.subscription_cutoff_days,
        lead_days=config.subscription_lead_days,
        renewal_hour=config.subscription_renewal_hour,
        max_move_days=config.subscription_max_move_days,
        min_deliveries=config.subscription_min_deliveries,
        retry_hours=config.subscription_retry_hours,
        spread_hours=config.subscription_spread_hours,
        points_on_renewals=config.loyalty.enabled and config.loyalty.points_on_renewals,
        allowed=allowed,
        offered={**config.subscription_plans, **known},
    )


_STATES = {
    CycleState.DUE: Cycle.Status.SCHEDULED,
    CycleState.SKIPPED: Cycle.Status.SKIPPED,
    CycleState.PAUSED: Cycle.Status.PAUSED,
}


def sync_cycles(
    subscription: Subscription, today: date, rules: Rules, zone: ZoneInfo, also=()
) -> None:
    """Make the rows of the upcoming cycles match the plan; ordered and claimed rows stay.

    Saves the subscription's next delivery, with the fields named in `also` (one UPDATE)."""
    plan = plan_from_json(subscription.plan)
    wanted = {}
    if subscription.status != Subscription.Status.CANCELLED:
        wanted = {c.sequence: c for c in schedule.upcoming(plan, today, HORIZON)}
    rows = {row.sequence: row for row in subscription.cycles.all()}
    fixed = {Cycle.Status.ORDERED, Cycle.Status.CLAIMED}
    for sequence, row in rows.items():
        if row.status in fixed or sequence in wanted:
            continue
        if (
            row.status == Cycle.Status.FAILED
            and row.delivery_on < today
            and subscription.status != Subscription.Status.CANCELLED
            and sequence not in plan.skipped
        ):
            continue  # a failed renewal of a past date waits for its retry or for staff
        row.delete()
    for sequence, cycle in wanted.items():
        row = rows.get(sequence)
        if row is not None and row.status in fixed:
            continue
        due = schedule.renewal_at(cycle.date, rules.lead_days, zone, rules.renewal_hour)
        due += schedule.spread_offset(subscription.pk, rules.spread_hours)
        status = _STATES[cycle.state]
        if row is None:
            Cycle.objects.create(
                subscription=subscription,
                sequence=sequence,
                delivery_on=cycle.date,
                renewal_due_at=due,
                status=status,
            )
        elif (row.delivery_on, row.renewal_due_at, row.status) != (cycle.date, due, status):
            if row.status == Cycle.Status.FAILED and status == Cycle.Status.SCHEDULED:
                status = Cycle.Status.FAILED  # keeps its retry schedule
            row.delivery_on, row.renewal_due_at, row.status = cycle.date, due, status
            row.save(update_fields=["delivery_on", "renewal_due_at", "status", "updated_at"])
    due_cycles = [c for c in wanted.values() if c.state is CycleState.DUE]
    subscription.next_delivery_on = due_cycles[0].date if due_cycles else None
    subscription.per_month = plan.interval.per_month.quantize(Decimal("0.000001"))
    subscription.save(update_fields=["next_delivery_on", "per_month", "updated_at", *also])


def create_subscription(
    profile: CustomerProfile,
    *,
    channel: str,
    currency: str,
    lines: list[NewLine | tuple[str, int]],
    interval: Interval,
    first_delivery: date,
    actor: str,
    now: datetime,
    rules: Rules,
    zone: ZoneInfo,
    source_order_id: str = "",
    shipping_address: dict | None = None,
    billing_address: dict | None = None,
    first_order_id: str = "",
) -> Subscription:
    """Start a subscription (once per `source_order_id`: the same paid order twice is one).

    `first_order_id`: an order that is the first delivery already (the order that started the
    subscription): cycle 1 is that order, and renewals start with cycle 2.
    """
    if profile.user_id is None:
        raise ScheduleError("customer", "invalid", "a subscription needs a registered customer")
    if not lines:
        raise ScheduleError("lines", "required", "a subscription needs at least one line")
    lines = [NewLine(*line) for line in lines]
    for index, line in enumerate(lines):
        quantity = line.quantity
        if not line.variant_id or not isinstance(quantity, int) or not 1 <= quantity <= 999:
            raise ScheduleError(
                f"lines[{index}]", "invalid", "needs a variant and a quantity of 1 to 999"
            )
        if line.unit_price is not None and line.unit_price < 0:
            raise ScheduleError(f"lines[{index}].unitPrice", "invalid", "is below 0")
    if rules.allowed and interval not in rules.allowed:
        offered = ", ".join(str(choice) for choice in rules.allowed)
        raise ScheduleError("interval", "not_allowed", f"{interval} is not offered ({offered})")
    with transaction.atomic():
        if source_order_id:
            existing = Subscription.objects.filter(source_order_id=source_order_id).first()
            if existing is not None:
                return existing
        plan = schedule.start_plan(first_delivery, interval)
        if first_order_id:
            plan = replace(plan, ordered_through=1)
        subscription = Subscription.objects.create(
            profile=profile,
            user_id=profile.user_id,
            channel=channel,
            currency=currency,
            plan=plan_to_json(plan),
            source_order_id=source_order_id,
            shipping_address=shipping_address or {},
            billing_address=billing_address or {},
            deliveries=1 if first_order_id else 0,
        )
        if first_order_id:
            Cycle.objects.create(
                subscription=subscription,
                sequence=1,
                delivery_on=first_delivery,
                renewal_due_at=now,
                status=Cycle.Status.ORDERED,
                order_id=first_order_id,
                attempts=1,
            )
        SubscriptionLine.objects.bulk_create(
            SubscriptionLine(
                subscription=subscription,
                variant_id=line.variant_id,
                quantity=line.quantity,
                unit_price=line.unit_price,
                product_name=line.product_name[:255],
            )
            for line in lines
        )
        SubscriptionEvent.objects.create(
            subscription=subscription,
            kind="created",
            actor=actor,
            at=now,
            data={"interval": str(interval), "first_delivery": first_delivery.isoformat()},
        )
        sync_cycles(subscription, now.astimezone(zone).date(), rules, zone)
    return subscription


class NewSubscription(NamedTuple):
    """A running subscription brought from another system (an import)."""

    profile_id: int
    user_id: str
    key: str  # kept as `source_order_id`: the same key twice is one subscription
    channel: str
    currency: str
    lines: tuple  # (variant ID or SKU, quantity)
    interval: Interval
    next_delivery: date
    shipping_address: dict


def create_subscriptions(
    starts: list[NewSubscription], *, actor: str, now: datetime, rules: Rules, zone: ZoneInfo
) -> int:
    """Start many running subscriptions at once (an import); return how many were new.

    Each is what `create_subscription` makes of it (its first delivery the next one the old
    system had, the cycle rows of `sync_cycles`, a `created` event), written with a few
    statements for the lot. Keys already kept are skipped, so an import run twice starts
    nothing twice.
    """
    if not starts:
        return 0
    today = now.astimezone(zone).date()
    with transaction.atomic():
        known = set(
            Subscription.objects.filter(
                source_order_id__in=[start.key for start in starts]
            ).values_list("source_order_id", flat=True)
        )
        new, seen = [], set()
        for start in starts:
            if start.key not in known and start.key not in seen:
                seen.add(start.key)
                new.append(start)
        if not new:
            return 0
        ids = new_ids(Subscription, len(new))
        subscriptions, lines, cycles, events = [], [], [], []
        for pk, start in zip(ids, new, strict=True):
            plan = schedule.start_plan(start.next_delivery, start.interval)
            upcoming = schedule.upcoming(plan, today, HORIZON)
            due = [cycle for cycle in upcoming if cycle.state is CycleState.DUE]
            subscriptions.append(
                (
                    pk,
                    start.profile_id,
                    start.user_id,
                    start.channel,
                    start.currency,
                    Subscription.Status.ACTIVE.value,
                    plan_to_json(plan),
                    due[0].date if due else None,
                    plan.interval.per_month.quantize(Decimal("0.000001")),
                    start.shipping_address,
                    start.shipping_address,
                    start.key,
                    "",
                    False,
                    0,
                    "",
                    now,
                    now,
                )
            )
            lines.extend((pk, variant, quantity, "") for variant, quantity in start.lines)
            for cycle in upcoming:
                renewal = schedule.renewal_at(cycle.date, rules.lead_days, zone, rules.renewal_hour)
                renewal += schedule.spread_offset(pk, rules.spread_hours)
                status = _STATES[cycle.state].value
                cycles.append((pk, cycle.sequence, cycle.date, renewal, status, "", 0, "", now))
            events.append(
                (
                    pk,
                    "created",
                    actor,
                    now,
                    {
                        "interval": str(start.interval),
                        "first_delivery": start.next_delivery.isoformat(),
                        "imported": start.key,
                    },
                )
            )
        add_rows(
            Subscription,
            [
                "id",
                "profile",
                "user_id",
                "channel",
                "currency",
                "status",
                "plan",
                "next_delivery_on",
                "per_month",
                "shipping_address",
                "billing_address",
                "source_order_id",
                "time_slot",
                "use_points",
                "deliveries",
                "cancel_reason",
                "created_at",
                "updated_at",
            ],
            subscriptions,
        )
        add_rows(
            SubscriptionLine, ["subscription", "variant_id", "quantity", "product_name"], lines
        )
        add_rows(
            Cycle,
            [
                "subscription",
                "sequence",
                "delivery_on",
                "renewal_due_at",
                "status",
                "order_id",
                "attempts",
                "last_error",
                "updated_at",
            ],
            cycles,
        )
        add_rows(SubscriptionEvent, ["subscription", "kind", "actor", "at", "data"], events)
    return len(new)


def _change(action: str, plan, today: date, rules: Rules, params: dict) -> Change:
    if action == "skip":
        return schedule.skip(plan, params["sequence"], today, rules.cutoff_days)
    if action == "unskip":
        return schedule.unskip(plan, params["sequence"], today, rules.cutoff_days)
    if action == "change_interval":
        return schedule.change_interval(
            plan, params["interval"], today, allowed=rules.allowed, cutoff_days=rules.cutoff_days
        )
    if action == "move_next":
        return schedule.move_next(
            plan,
            params["date"],
            today,
            max_days=rules.max_move_days,
            cutoff_days=rules.cutoff_days,
        )
    if action == "pause":
        return schedule.pause(plan, params.get("start") or today, today, params.get("until"))
    if action == "resume":
        return schedule.resume(plan, today, params.get("on"))
    raise ScheduleError("action", "invalid", f"'{action}' is not a subscription action")


def _quantity(params: dict) -> int:
    quantity = params.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 999:
        raise ScheduleError("quantity", "invalid", f"must be 1 to 999, not {quantity!r}")
    return quantity


def _line(subscription: Subscription, variant_id: str) -> SubscriptionLine:
    line = subscription.lines.filter(variant_id=variant_id, only_cycle__isnull=True).first()
    if line is None:
        raise ScheduleError("variant", "not_found", f"{variant_id} is not in the subscription")
    return line


def _set_quantity(subscription, rules, sequence, params) -> dict:
    line = _line(subscription, params.get("variant"))
    line.quantity = _quantity(params)
    line.save(update_fields=["quantity"])
    return {"variant": line.variant_id, "quantity": line.quantity}


def _swap(subscription, rules, sequence, params) -> dict:
    line = _line(subscription, params.get("variant"))
    to = str(params.get("to") or "")
    offered = rules.offered.get(to, ())
    interval = plan_from_json(subscription.plan).interval
    if interval not in offered:
        raise ScheduleError(
            "to", "not_allowed", f"{to or 'that variant'} is not offered every {interval}"
        )
    line.variant_id = to
    line.save(update_fields=["variant_id"])
    return {"variant": params.get("variant"), "to": to}


def _add_once(subscription, rules, sequence, params) -> dict:
    variant = str(params.get("variant") or "").strip()
    if not variant:
        raise ScheduleError("variant", "required", "name the variant to add")
    quantity = _quantity(params)
    SubscriptionLine.objects.create(
        subscription=subscription, variant_id=variant, quantity=quantity, only_cycle=sequence
    )
    return {"variant": variant, "quantity": quantity, "cycle": sequence}


def _preferences(subscription, rules, sequence, params) -> dict:
    """The time slot and paying with points (given ones only; the weekday is `act`'s)."""
    changed = {}
    if "time_slot" in params:
        slot = str(params.get("time_slot") or "").strip()
        if len(slot) > 32:
            raise ScheduleError("timeSlot", "invalid", "is longer than 32 characters")
        subscription.time_slot = changed["time_slot"] = slot
    if "use_points" in params:
        use = bool(params["use_points"])
        if use and not rules.points_on_renewals:
            raise ScheduleError(
                "usePoints", "not_allowed", "the store does not take points for renewals"
            )
        subscription.use_points = changed["use_points"] = use
    if "weekday" in params:
        changed["weekday"] = params["weekday"]
    return changed


def clean_address(address, field: str = "address") -> dict:
    """Return a shipping address (Saleor's AddressInput keys) as a subscription keeps it.

    Its filled fields as strings; raises `ScheduleError` naming `field` when one of the fields
    Saleor needs is missing.
    """
    required = ("firstName", "lastName", "streetAddress1", "city", "country")
    if not isinstance(address, dict):
        raise ScheduleError(field, "required", "give the shipping address")
    missing = [name for name in required if not str(address.get(name) or "").strip()]
    if missing:
        raise ScheduleError(field, "required", f"needs {', '.join(missing)}")
    return {key: str(value) for key, value in address.items() if value}


def _address(subscription, rules, sequence, params) -> dict:
    subscription.shipping_address = clean_address(params.get("address"))
    return {"address": "changed"}


# Actions on the lines, the address and the preferences: from the next changeable delivery on.
_LINE_ACTIONS = {
    "set_quantity": _set_quantity,
    "swap": _swap,
    "add_once": _add_once,
    "set_preferences": _preferences,
    "set_address": _address,
}


def act(
    subscription_id: int,
    action: str,
    *,
    actor: str,
    now: datetime,
    rules: Rules,
    zone: ZoneInfo,
    staff: bool = False,
    **params,
) -> tuple[Subscription, Change | None]:
    """Apply one action to a subscription; return it and the schedule change.

    Actions: skip, unskip (`sequence`), change_interval (`interval`), move_next (`date`),
    pause (`start`, `until`), resume (`on`), cancel (`reason`); and from the next changeable
    delivery on: set_quantity (`variant`, `quantity`), swap (`variant`, `to`: a variant
    offered at the same interval), add_once (`variant`, `quantity`: that delivery only),
    set_preferences (`weekday` 0-6 or None, `time_slot`, `use_points`: those given), set_address (`address`, Saleor's
    AddressInput fields). Staff (`staff=True`) may cancel before the minimum deliveries.
    """
    today = now.astimezone(zone).date()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        if subscription.status == Subscription.Status.CANCELLED:
            raise ScheduleError("subscription", "cancelled", "the subscription is cancelled")
        plan = plan_from_json(subscription.plan)
        change = None
        weekday = params.get("weekday")
        if (
            action == "set_preferences"
            and "weekday" in params
            and weekday != subscription.preferred_weekday
        ):
            change = schedule.set_weekday(plan, weekday, today, rules.cutoff_days)
            subscription.plan = plan_to_json(change.plan)
            subscription.preferred_weekday = weekday
        if action in _LINE_ACTIONS:
            sequence, after_next = schedule.first_changeable(plan, today, rules.cutoff_days)
            change = change or Change(plan, sequence, after_next)
            data = _LINE_ACTIONS[action](subscription, rules, sequence, params)
            data.update(applies_from=sequence, after_next=after_next)
        elif action == "cancel":
            reason = str(params.get("reason") or "").strip()
            if not reason:
                raise ScheduleError("reason", "required", "say why the subscription ends")
            if subscription.deliveries < rules.min_deliveries and not staff:
                raise ScheduleError(
                    "subscription",
                    "minimum_deliveries",
                    f"{rules.min_deliveries} deliveries come before cancelling; "
                    f"{subscription.deliveries} so far",
                )
            subscription.status = Subscription.Status.CANCELLED
            subscription.cancel_reason, subscription.cancelled_at = reason[:255], now
            data = {"reason": reason}
        else:
            change = _change(action, plan, today, rules, params)
            subscription.plan = plan_to_json(change.plan)
            if action == "pause" and params.get("until") is None:
                subscription.status = Subscription.Status.PAUSED
            elif action == "resume":
                subscription.status = Subscription.Status.ACTIVE
            data = {
                key: value.isoformat() if isinstance(value, date) else str(value)
                for key, value in params.items()
                if value is not None
            }
            data["applies_from"] = change.applies_from
            data["after_next"] = change.after_next
        subscription.save()
        SubscriptionEvent.objects.create(
            subscription=subscription, kind=action, actor=actor, at=now, data=data
        )
        sync_cycles(subscription, today, rules, zone)
    return subscription, change


def skip_failed(
    subscription_id: int, *, actor: str, now: datetime, rules: Rules, zone: ZoneInfo
) -> Subscription:
    """Staff give up on a failed renewal: its delivery is skipped (whatever its date) and the
    subscription goes on with the next one."""
    today = now.astimezone(zone).date()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        if subscription.status == Subscription.Status.CANCELLED:
            raise ScheduleError("subscription", "cancelled", "the subscription is cancelled")
        cycle = failed_cycle(subscription)
        plan = plan_from_json(subscription.plan)
        plan = replace(plan, skipped=plan.skipped | {cycle.sequence})
        subscription.plan = plan_to_json(plan)
        if subscription.status == Subscription.Status.ATTENTION:
            subscription.status = Subscription.Status.ACTIVE
        subscription.save()
        cycle.delete()
        SubscriptionEvent.objects.create(
            subscription=subscription,
            kind="skip_failed",
            actor=actor,
            at=now,
            data={"sequence": cycle.sequence, "reason": cycle.last_error},
        )
        sync_cycles(subscription, today, rules, zone)
    return subscription


def failed_cycle(subscription: Subscription) -> Cycle:
    """The subscription's earliest failed renewal, else a `not_failed` error."""
    cycle = subscription.cycles.filter(status=Cycle.Status.FAILED).order_by("sequence").first()
    if cycle is None:
        raise ScheduleError("id", "not_failed", "the subscription has no failed renewal")
    return cycle

"""GraphQL of subscriptions: the customer's own (under `me`) and self-service mutations.

A customer acts only on their own subscriptions (another customer's answers NOT_FOUND, as
if it did not exist); staff with MANAGE_USERS act on any. Every answer of a change says from
which cycle it applies and whether the change cutoff pushed it to the delivery after next.
"""

from datetime import timedelta

import graphene
from django.utils import timezone

from ..host import MANAGE_USERS
from ..loyalty.services import PointsError
from ..money import parse_amount, validate_currency
from ..subscriptions import schedule
from ..subscriptions.figures import subscription_figures
from ..subscriptions.models import Cycle, Subscription
from ..subscriptions.renewals import retry_failed
from ..subscriptions.schedule import ScheduleError, parse_interval, plan_from_json
from ..subscriptions.services import (
    NewLine,
    act,
    clean_address,
    create_subscription,
    offers,
    rules_for,
    skip_failed,
)
from .errors import (
    InputError,
    PermissionDenied,
    decode_id,
    require_customer,
    require_permission,
)
from .loyalty import customer_by_id
from .money import Money, money
from .pagination import attach_emails, connection_from_queryset, email_of
from .scalars import JSONString

_CODES = (
    "invalid",
    "required",
    "not_found",
    "not_allowed",
    "unchanged",
    "in_past",
    "out_of_bounds",
    "past_cutoff",
    "already_ordered",
    "already_skipped",
    "not_skipped",
    "already_paused",
    "not_paused",
    "cancelled",
    "minimum_deliveries",
    "not_failed",
    "renewal_failed",
)
CRMSubscriptionErrorCode = graphene.Enum(
    "CRMSubscriptionErrorCode", [(code.upper(), code) for code in _CODES]
)


class CRMSubscriptionError(graphene.ObjectType):
    field = graphene.String()
    message = graphene.String(required=True)
    code = graphene.Field(CRMSubscriptionErrorCode, required=True)


class CRMSubscriptionCycle(graphene.ObjectType):
    sequence = graphene.Int(required=True)
    date = graphene.Date(required=True, description="The delivery date (store time).")
    state = graphene.String(required=True, description="due, skipped or paused.")


class CRMSubscriptionLine(graphene.ObjectType):
    variant_id = graphene.String(required=True, description="Saleor's variant ID (or SKU).")
    quantity = graphene.Int(required=True)
    only_cycle = graphene.Int(description="A one-time item: delivered with this cycle only.")
    product_name = graphene.String(required=True)
    unit_price = graphene.Field(
        Money, description="The gross unit price last ordered; null before its first order."
    )

    @staticmethod
    def resolve_unit_price(root, _info):
        if root.unit_price is None:
            return None
        return money(root.unit_price, root.subscription.currency)


class CRMSubscriptionRenewal(graphene.ObjectType):
    """A cycle's renewal order: scheduled, ordered, or failed with its reason."""

    sequence = graphene.Int(required=True)
    delivery_on = graphene.Date(required=True)
    renewal_due_at = graphene.DateTime(required=True, description="When its order is created.")
    status = graphene.String(
        required=True, description="scheduled, skipped, paused, claimed, ordered or failed."
    )
    order_id = graphene.String(description="The store's order ID, once ordered.")
    attempts = graphene.Int(required=True)
    last_error = graphene.String(description="Why the last attempt failed.")
    retry_at = graphene.DateTime(description="The next automatic retry (null: staff act).")

    @staticmethod
    def resolve_order_id(root, _info):
        return root.order_id or None

    @staticmethod
    def resolve_last_error(root, _info):
        return root.last_error or None


class CRMSubscriptionEvent(graphene.ObjectType):
    kind = graphene.String(required=True, description="created, skip, pause, renewed, ...")
    actor = graphene.String(required=True, description="user:<id>, staff:<id>, app:<id>, system")
    at = graphene.DateTime(required=True)
    data = JSONString(required=True)


class CRMSubscription(graphene.ObjectType):
    id = graphene.ID(required=True)
    status = graphene.String(required=True, description="active, paused, cancelled, attention.")
    interval = graphene.String(required=True, description="e.g. '30 days'.")
    allowed_intervals = graphene.List(graphene.NonNull(graphene.String), required=True)
    next_delivery_on = graphene.Date()
    deliveries = graphene.Int(required=True)
    channel = graphene.String(required=True)
    currency = graphene.String(required=True)
    lines = graphene.List(graphene.NonNull(CRMSubscriptionLine), required=True)
    upcoming = graphene.List(
        graphene.NonNull(CRMSubscriptionCycle),
        required=True,
        first=graphene.Int(default_value=3, description="At most 24."),
    )
    preferred_weekday = graphene.Int(description="0 = Monday ... 6 = Sunday.")
    time_slot = graphene.String()
    use_points = graphene.Boolean(required=True, description="Renewals are paid with points first.")
    created_at = graphene.DateTime(required=True)
    cancel_reason = graphene.String()
    cancelled_at = graphene.DateTime()
    renewals = graphene.List(
        graphene.NonNull(CRMSubscriptionRenewal),
        required=True,
        description="The cycle rows, newest first: ordered, failed and the next scheduled.",
        first=graphene.Int(default_value=10, description="At most 100."),
    )
    failed_renewal = graphene.Field(
        CRMSubscriptionRenewal,
        description="The earliest renewal that failed (null: none); staff retry or skip it.",
    )
    history = graphene.List(
        graphene.NonNull(CRMSubscriptionEvent),
        required=True,
        description="Every action with its actor, newest first.",
        first=graphene.Int(default_value=20, description="At most 100."),
    )

    @staticmethod
    def resolve_renewals(root, _info, first):
        if not 1 <= first <= 100:
            raise InputError("first", f"must be between 1 and 100, not {first}")
        return list(root.cycles.order_by("-sequence")[:first])

    @staticmethod
    def resolve_failed_renewal(root, _info):
        return root.cycles.filter(status=Cycle.Status.FAILED).order_by("sequence").first()

    @staticmethod
    def resolve_history(root, _info, first):
        if not 1 <= first <= 100:
            raise InputError("first", f"must be between 1 and 100, not {first}")
        return list(root.events.order_by("-at", "-pk")[:first])

    @staticmethod
    def resolve_cancel_reason(root, _info):
        return root.cancel_reason or None

    customer_id = graphene.ID(required=True, description="Saleor's User ID of the customer.")
    customer_email = graphene.String()

    @staticmethod
    def resolve_id(root, _info):
        return graphene.Node.to_global_id("CRMSubscription", root.pk)

    @staticmethod
    def resolve_customer_id(root, info):
        return info.context.host.user_global_id(root.user_id)

    @staticmethod
    def resolve_customer_email(root, info):
        return email_of(root, info.context.host)

    @staticmethod
    def resolve_interval(root, _info):
        return str(plan_from_json(root.plan).interval)

    @staticmethod
    def resolve_allowed_intervals(root, info):
        return [str(i) for i in _rules(info, root).allowed]

    @staticmethod
    def resolve_lines(root, _info):
        return list(root.lines.all())

    @staticmethod
    def resolve_upcoming(root, info, first):
        if not 1 <= first <= 24:
            raise InputError("first", f"must be between 1 and 24, not {first}")
        if root.status == Subscription.Status.CANCELLED:
            return []
        today = timezone.now().astimezone(info.context.host.config().zone).date()
        return [
            CRMSubscriptionCycle(sequence=c.sequence, date=c.date, state=c.state.value)
            for c in schedule.upcoming(plan_from_json(root.plan), today, first)
        ]


def _rules(info, subscription: Subscription, extra=()):
    host = info.context.host
    variants = [line.variant_id for line in subscription.lines.all() if line.only_cycle is None]
    return rules_for(host.config(), variants, host, extra=[v for v in extra if v])


def own_subscriptions(requester) -> list[Subscription]:
    return list(Subscription.objects.filter(user_id=requester.user_id).order_by("-created_at"))


def _subscription(info, subscription_id: str) -> Subscription:
    """The requester's own subscription (staff: anyone's), else NOT_FOUND."""
    requester = info.context.requester
    if requester is None:
        raise PermissionDenied()
    kind, pk = decode_id(subscription_id)
    subscription = None
    if kind == "CRMSubscription" and pk.isdigit():
        subscription = Subscription.objects.filter(pk=int(pk)).first()
    if subscription is not None and not requester.has_permission(MANAGE_USERS):
        if requester.user_id is None or subscription.user_id != requester.user_id:
            subscription = None
    if subscription is None:
        raise ScheduleError("id", "not_found", f"'{subscription_id}' is not your subscription")
    return subscription


class _SubscriptionChange(graphene.ObjectType):
    subscription = graphene.Field(CRMSubscription)
    applies_from = graphene.Int(description="The first cycle the change applies to.")
    after_next = graphene.Boolean(
        description="True when the change cutoff made it apply from the delivery after next."
    )
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)


def _mutation(name: str, action: str, arguments: dict, convert, doc: str):
    """One self-service mutation: `convert` turns its arguments into the action's params."""

    def mutate(_root, info, id, **kwargs):
        if info.context.requester is None:
            require_customer(info)
        try:
            subscription = _subscription(info, id)
            config = info.context.host.config()
            updated, change = act(
                subscription.pk,
                action,
                staff=info.context.requester.has_permission(MANAGE_USERS),
                actor=info.context.requester.actor,
                now=timezone.now(),
                rules=_rules(info, subscription, extra=[kwargs.get("to_variant_id")]),
                zone=config.zone,
                **convert(kwargs),
            )
        except ScheduleError as error:
            return result(errors=[_error(error)])
        return result(
            subscription=updated,
            applies_from=change.applies_from if change else None,
            after_next=change.after_next if change else None,
            errors=[],
        )

    fields = {
        "Arguments": type("Arguments", (), {"id": graphene.ID(required=True), **arguments}),
        "mutate": staticmethod(mutate),
        "__doc__": doc,
    }
    result = type(name, (_SubscriptionChange, graphene.Mutation), fields)
    return result


def _interval(kwargs):
    return {"interval": parse_interval(kwargs["interval"])}


CRMSubscriptionSkip = _mutation(
    "CRMSubscriptionSkip",
    "skip",
    {"sequence": graphene.Int(required=True)},
    lambda kwargs: kwargs,
    "Skip one delivery (the cycle's sequence).",
)
CRMSubscriptionUnskip = _mutation(
    "CRMSubscriptionUnskip",
    "unskip",
    {"sequence": graphene.Int(required=True)},
    lambda kwargs: kwargs,
    "Deliver a skipped cycle after all.",
)
CRMSubscriptionChangeInterval = _mutation(
    "CRMSubscriptionChangeInterval",
    "change_interval",
    {"interval": graphene.String(required=True, description="One of allowedIntervals.")},
    _interval,
    "Change the delivery interval to one the subscription's products offer.",
)
CRMSubscriptionMoveNext = _mutation(
    "CRMSubscriptionMoveNext",
    "move_next",
    {"date": graphene.Date(required=True)},
    lambda kwargs: kwargs,
    "Move the next delivery (within the store's bounds, never into the past).",
)
CRMSubscriptionPause = _mutation(
    "CRMSubscriptionPause",
    "pause",
    {"start": graphene.Date(description="Default: today."), "until": graphene.Date()},
    lambda kwargs: kwargs,
    "Pause deliveries until a date (a holiday), or until resumed.",
)
CRMSubscriptionResume = _mutation(
    "CRMSubscriptionResume",
    "resume",
    {"on": graphene.Date(description="The next delivery; default: one interval from today.")},
    lambda kwargs: kwargs,
    "Resume a paused subscription.",
)
CRMSubscriptionCancel = _mutation(
    "CRMSubscriptionCancel",
    "cancel",
    {"reason": graphene.String(required=True)},
    lambda kwargs: kwargs,
    "Cancel, with a reason (the store may require a number of deliveries first).",
)


class CRMSubscriptionFilterInput(graphene.InputObjectType):
    status = graphene.String(description="active, paused, cancelled or attention.")
    customer_id = graphene.ID(description="Saleor's User ID.")
    variant_id = graphene.String(description="A line's variant ID (or SKU).")
    next_delivery_from = graphene.Date()
    next_delivery_to = graphene.Date()


class CRMSubscriptionCountableConnection(graphene.relay.Connection):
    total_count = graphene.Int()

    class Meta:
        node = CRMSubscription


class CRMSubscriptionFigures(graphene.ObjectType):
    channel = graphene.String(required=True)
    currency = graphene.String(required=True)
    active = graphene.Int(required=True)
    paused = graphene.Int(required=True)
    attention = graphene.Int(required=True, description="Renewals failed after every retry.")
    cancelled_in_period = graphene.Int(required=True)
    churn_rate = graphene.Float(
        required=True,
        description="Cancelled in the period / (active + paused now + cancelled in the period).",
    )
    recurring_revenue = graphene.Field(
        Money,
        required=True,
        description="Per month: active subscriptions' recurring lines at the price last "
        "ordered, times their deliveries in an average month.",
    )
    unpriced_lines = graphene.Int(
        required=True,
        description="Recurring lines never ordered yet (a swap): not in recurringRevenue.",
    )

    @staticmethod
    def resolve_recurring_revenue(root, _info):
        return money(root.recurring_revenue, root.currency)


def search_subscriptions(filters: dict):
    queryset = Subscription.objects.select_related("profile").order_by("next_delivery_on", "pk")
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("customer_id"):
        kind, pk = decode_id(filters["customer_id"])
        if kind != "User":
            raise InputError("filter.customerId", f"'{filters['customer_id']}' is not a User ID")
        queryset = queryset.filter(user_id=pk)
    if filters.get("variant_id"):
        queryset = queryset.filter(lines__variant_id=filters["variant_id"]).distinct()
    if filters.get("next_delivery_from"):
        queryset = queryset.filter(next_delivery_on__gte=filters["next_delivery_from"])
    if filters.get("next_delivery_to"):
        queryset = queryset.filter(next_delivery_on__lte=filters["next_delivery_to"])
    return queryset


class CRMSubscriptionOffer(graphene.ObjectType):
    variant_id = graphene.String(required=True)
    intervals = graphene.List(graphene.NonNull(graphene.String), required=True)


class SubscriptionQueries(graphene.ObjectType):
    crm_subscription_offers = graphene.List(
        graphene.NonNull(CRMSubscriptionOffer),
        required=True,
        variant_ids=graphene.List(graphene.NonNull(graphene.String), required=True),
        description="The delivery intervals these variants (IDs or SKUs, at most 100) can be "
        "bought on subscription with; variants without are left out. For product pages: put "
        "one on the checkout line as crm.subscription_interval.",
    )
    crm_subscriptions = graphene.relay.ConnectionField(
        CRMSubscriptionCountableConnection,
        filter=CRMSubscriptionFilterInput(),
        description="Subscriptions by status, customer, product and next date (MANAGE_USERS).",
    )
    crm_subscription_figures = graphene.List(
        graphene.NonNull(CRMSubscriptionFigures),
        required=True,
        days=graphene.Int(default_value=30, description="The period for cancellations."),
        description="Per channel: active, paused, needing attention, churn (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_subscription_offers(_root, info, variant_ids):
        if len(variant_ids) > 100:
            raise InputError("variantIds", f"at most 100 variants, not {len(variant_ids)}")
        host = info.context.host
        found = offers(host.config(), host, list(dict.fromkeys(variant_ids)))
        return [
            CRMSubscriptionOffer(variant_id=variant, intervals=[str(i) for i in found[variant]])
            for variant in dict.fromkeys(variant_ids)
            if found.get(variant)
        ]

    @staticmethod
    def resolve_crm_subscriptions(_root, info, filter=None, **args):
        require_permission(info)
        host = info.context.host
        return connection_from_queryset(
            search_subscriptions(filter or {}),
            args,
            CRMSubscriptionCountableConnection,
            prepare_page=lambda page: attach_emails(page, host),
        )

    @staticmethod
    def resolve_crm_subscription_figures(_root, info, days):
        require_permission(info)
        if not 1 <= days <= 3660:
            raise InputError("days", f"must be between 1 and 3660, not {days}")
        return subscription_figures(timezone.now() - timedelta(days=days))


class CRMAddressInput(graphene.InputObjectType):
    """The shipping address, as Saleor's AddressInput has it."""

    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    company_name = graphene.String()
    street_address_1 = graphene.String(required=True)
    street_address_2 = graphene.String()
    city = graphene.String(required=True)
    city_area = graphene.String()
    postal_code = graphene.String()
    country = graphene.String(required=True, description="ISO 3166 code, e.g. JP.")
    country_area = graphene.String(description="Prefecture / state.")
    phone = graphene.String()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _address_fields(address) -> dict:
    """The filled fields of a `CRMAddressInput`, named as Saleor's AddressInput names them."""
    return {_camel(key): value for key, value in address.items() if value}


def _address(kwargs):
    return {"address": _address_fields(kwargs["address"])}


def _variant_quantity(kwargs):
    return {"variant": kwargs["variant_id"], "quantity": kwargs["quantity"]}


CRMSubscriptionSetQuantity = _mutation(
    "CRMSubscriptionSetQuantity",
    "set_quantity",
    {"variant_id": graphene.String(required=True), "quantity": graphene.Int(required=True)},
    _variant_quantity,
    "Change a line's quantity from the next changeable delivery on.",
)
CRMSubscriptionSwap = _mutation(
    "CRMSubscriptionSwap",
    "swap",
    {"variant_id": graphene.String(required=True), "to_variant_id": graphene.String(required=True)},
    lambda kwargs: {"variant": kwargs["variant_id"], "to": kwargs["to_variant_id"]},
    "Swap a line to another variant offered at the subscription's interval.",
)
CRMSubscriptionAddOnce = _mutation(
    "CRMSubscriptionAddOnce",
    "add_once",
    {"variant_id": graphene.String(required=True), "quantity": graphene.Int(required=True)},
    _variant_quantity,
    "Add an item to the next changeable delivery only.",
)
CRMSubscriptionSetPreferences = _mutation(
    "CRMSubscriptionSetPreferences",
    "set_preferences",
    {
        "weekday": graphene.Int(description="0 = Monday ... 6 = Sunday; null: any."),
        "time_slot": graphene.String(description="e.g. 18-20; empty: any."),
        "use_points": graphene.Boolean(
            description="Pay each renewal with points first (when the store allows it)."
        ),
    },
    lambda kwargs: kwargs,
    "Set the preferred delivery weekday, time slot, and paying with points (the given ones).",
)
CRMSubscriptionSetAddress = _mutation(
    "CRMSubscriptionSetAddress",
    "set_address",
    {"address": CRMAddressInput(required=True)},
    _address,
    "Change the shipping address of the coming deliveries.",
)


class SubscriptionMutations(graphene.ObjectType):
    crm_subscription_set_quantity = CRMSubscriptionSetQuantity.Field()
    crm_subscription_swap = CRMSubscriptionSwap.Field()
    crm_subscription_add_once = CRMSubscriptionAddOnce.Field()
    crm_subscription_set_preferences = CRMSubscriptionSetPreferences.Field()
    crm_subscription_set_address = CRMSubscriptionSetAddress.Field()
    crm_subscription_skip = CRMSubscriptionSkip.Field()
    crm_subscription_unskip = CRMSubscriptionUnskip.Field()
    crm_subscription_change_interval = CRMSubscriptionChangeInterval.Field()
    crm_subscription_move_next = CRMSubscriptionMoveNext.Field()
    crm_subscription_pause = CRMSubscriptionPause.Field()
    crm_subscription_resume = CRMSubscriptionResume.Field()
    crm_subscription_cancel = CRMSubscriptionCancel.Field()


# --- staff: start a subscription, act on failed renewals ---------------------------------------


def _error(error: ScheduleError) -> CRMSubscriptionError:
    return CRMSubscriptionError(field=error.field, message=error.message, code=error.code)


class CRMSubscriptionLineInput(graphene.InputObjectType):
    variant_id = graphene.String(required=True, description="Saleor's variant ID (or SKU).")
    quantity = graphene.Int(required=True)
    unit_price = graphene.String(
        description="The agreed gross unit price (for the recurring revenue until its first "
        "order), e.g. '1980' in JPY."
    )
    product_name = graphene.String()


class CRMSubscriptionCreateInput(graphene.InputObjectType):
    customer_id = graphene.ID(required=True, description="Saleor's User ID (or CRMCustomer).")
    channel = graphene.String(required=True, description="The channel slug of the orders.")
    currency = graphene.String(required=True)
    lines = graphene.List(graphene.NonNull(CRMSubscriptionLineInput), required=True)
    interval = graphene.String(required=True, description="One every line's variant offers.")
    first_delivery = graphene.Date(required=True, description="After today (store time).")
    shipping_address = CRMAddressInput(description="Default: the customer's default address.")


def _create_arguments(info, data: dict) -> dict:
    try:
        profile = customer_by_id(data["customer_id"])
    except PointsError as error:
        raise ScheduleError("customerId", "not_found", error.message) from None
    try:
        currency = validate_currency(data["currency"])
    except ValueError as error:
        raise ScheduleError("currency", "invalid", str(error)) from None
    channel = data["channel"].strip()
    if not channel:
        raise ScheduleError("channel", "required", "give the channel slug of the orders")
    lines = []
    for index, line in enumerate(data["lines"]):
        price = None
        if line.get("unit_price") not in (None, ""):
            try:
                price = parse_amount(line["unit_price"], currency)
            except ValueError as error:
                raise ScheduleError(f"lines[{index}].unitPrice", "invalid", str(error)) from None
        lines.append(
            NewLine(
                line["variant_id"].strip(), line["quantity"], price, line.get("product_name") or ""
            )
        )
    config = info.context.host.config()
    rules = rules_for(config, [line.variant_id for line in lines], info.context.host)
    interval = parse_interval(data["interval"])
    if not rules.allowed:
        raise ScheduleError(
            "lines", "not_allowed", "the variants offer no common interval (Subscription plans)"
        )
    today = timezone.now().astimezone(config.zone).date()
    if data["first_delivery"] <= today:
        raise ScheduleError(
            "firstDelivery", "in_past", f"{data['first_delivery']} is not after today ({today})"
        )
    address = None
    if data.get("shipping_address"):
        address = clean_address(_address_fields(data["shipping_address"]), "shippingAddress")
    return {
        "profile": profile,
        "channel": channel,
        "currency": currency,
        "lines": lines,
        "interval": interval,
        "first_delivery": data["first_delivery"],
        "rules": rules,
        "zone": config.zone,
        "shipping_address": address,
    }


class CRMSubscriptionCreate(graphene.Mutation):
    """Staff start a subscription for a customer (MANAGE_USERS); its first delivery is ordered
    by the renewal run like every later one."""

    subscription = graphene.Field(CRMSubscription)
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)

    class Arguments:
        input = CRMSubscriptionCreateInput(required=True)

    @staticmethod
    def mutate(_root, info, input):
        require_permission(info)
        try:
            arguments = _create_arguments(info, dict(input))
            subscription = create_subscription(
                actor=info.context.requester.actor, now=timezone.now(), **arguments
            )
        except ScheduleError as error:
            return CRMSubscriptionCreate(errors=[_error(error)])
        return CRMSubscriptionCreate(subscription=subscription, errors=[])


def _staff_subscription(info, subscription_id: str) -> Subscription:
    require_permission(info)
    return _subscription(info, subscription_id)


class CRMSubscriptionRetryRenewal(graphene.Mutation):
    """Staff retry a failed renewal now (MANAGE_USERS): the answer has the order, or the
    error RENEWAL_FAILED with the store's reason."""

    subscription = graphene.Field(CRMSubscription)
    order_id = graphene.String(description="The renewal order created (or found).")
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)

    class Arguments:
        id = graphene.ID(required=True)

    @staticmethod
    def mutate(_root, info, id):
        try:
            subscription = _staff_subscription(info, id)
            config = info.context.host.config()
            updated, cycle, report = retry_failed(
                subscription.pk,
                info.context.host,
                actor=info.context.requester.actor,
                now=timezone.now(),
                rules=_rules(info, subscription),
                zone=config.zone,
            )
        except ScheduleError as error:
            return CRMSubscriptionRetryRenewal(errors=[_error(error)])
        if report.failed:
            error = ScheduleError("id", "renewal_failed", cycle.last_error)
            return CRMSubscriptionRetryRenewal(subscription=updated, errors=[_error(error)])
        return CRMSubscriptionRetryRenewal(subscription=updated, order_id=cycle.order_id, errors=[])


class CRMSubscriptionSkipFailed(graphene.Mutation):
    """Staff skip the delivery of a failed renewal (MANAGE_USERS); the next one goes on."""

    subscription = graphene.Field(CRMSubscription)
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)

    class Arguments:
        id = graphene.ID(required=True)

    @staticmethod
    def mutate(_root, info, id):
        try:
            subscription = _staff_subscription(info, id)
            updated = skip_failed(
                subscription.pk,
                actor=info.context.requester.actor,
                now=timezone.now(),
                rules=_rules(info, subscription),
                zone=info.context.host.config().zone,
            )
        except ScheduleError as error:
            return CRMSubscriptionSkipFailed(errors=[_error(error)])
        return CRMSubscriptionSkipFailed(subscription=updated, errors=[])


class StaffSubscriptionMutations(graphene.ObjectType):
    crm_subscription_create = CRMSubscriptionCreate.Field()
    crm_subscription_retry_renewal = CRMSubscriptionRetryRenewal.Field()
    crm_subscription_skip_failed = CRMSubscriptionSkipFailed.Field()

"""GraphQL types of subscriptions: the customer's own (under `me`) and staff's."""

import graphene
from django.utils import timezone

from ...subscriptions import schedule
from ...subscriptions.models import Cycle, Subscription
from ...subscriptions.schedule import ScheduleError, plan_from_json
from ..core.errors import InputError
from ..core.pagination import email_of
from ..core.scalars import JSONString
from ..core.types import Money, money
from .enums import CRMSubscriptionErrorCode
from .utils import subscription_rules


class CRMSubscriptionError(graphene.ObjectType):
    field = graphene.String()
    message = graphene.String(required=True)
    code = graphene.Field(CRMSubscriptionErrorCode, required=True)

    @classmethod
    def of(cls, error: ScheduleError) -> "CRMSubscriptionError":
        return cls(field=error.field, message=error.message, code=error.code)


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
        return [str(i) for i in subscription_rules(info, root).allowed]

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


class CRMSubscriptionOffer(graphene.ObjectType):
    variant_id = graphene.String(required=True)
    intervals = graphene.List(graphene.NonNull(graphene.String), required=True)


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

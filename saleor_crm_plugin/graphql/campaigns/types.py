"""GraphQL types of campaigns (staff): flows, the send log, the report with its lift, the
preview and the message templates."""

from datetime import timedelta
from decimal import Decimal

import graphene
from django.utils import timezone

from ...campaigns.models import CampaignSend, FlowEntry
from ...campaigns.services import sends_per_day
from ...money import quantize_amount
from ..core.errors import InputError
from ..core.pagination import email_of
from ..core.scalars import JSONString
from ..core.types import Money, money
from .enums import CRMCampaignErrorCode, CRMCampaignKind, CRMCampaignSendStatus


class CRMCampaignError(graphene.ObjectType):
    field = graphene.String(
        description="The argument, or the definition's JSON path (`definition.$.steps[0].channel`)."
    )
    message = graphene.String(required=True)
    code = graphene.Field(CRMCampaignErrorCode, required=True)


class CRMCampaignFlow(graphene.ObjectType):
    """A flow (シナリオ) or a one-off segment send."""

    slug = graphene.String(required=True)
    kind = graphene.Field(CRMCampaignKind, required=True)
    name = graphene.String(required=True)
    trigger = graphene.String(required=True, description="The trigger's kind, e.g. first_order.")
    enabled = graphene.Boolean(
        required=True, description="On: customers enter it as its trigger selects them."
    )
    enabled_at = graphene.DateTime(description="When it was last switched on.")
    built_in = graphene.String(description="The built-in template it was installed from.")
    definition = JSONString(required=True, description="Trigger, steps, exits, control share.")
    entered = graphene.Int(required=True, description="Customers who entered it (all time).")
    sent = graphene.Int(required=True, description="Messages it sent (all time).")
    created_at = graphene.DateTime(required=True)
    updated_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_kind(root, _info):
        return root.kind

    @staticmethod
    def resolve_name(root, _info):
        return str(root.definition.get("name", root.slug))

    @staticmethod
    def resolve_trigger(root, _info):
        return str((root.definition.get("trigger") or {}).get("kind", ""))

    @staticmethod
    def resolve_built_in(root, _info):
        return root.built_in or None

    @staticmethod
    def resolve_entered(root, _info):
        if hasattr(root, "crm_entered"):
            return root.crm_entered
        return FlowEntry.objects.filter(flow=root).count()

    @staticmethod
    def resolve_sent(root, _info):
        if hasattr(root, "crm_sent"):
            return root.crm_sent
        return CampaignSend.objects.filter(flow=root, status=CampaignSend.SENT).count()


class CRMCampaignBuiltIn(graphene.ObjectType):
    """A built-in flow not installed yet (crmCampaignFlowInstall installs it switched off)."""

    name = graphene.String(required=True, description="What crmCampaignFlowInstall takes.")
    title = graphene.String(required=True, description="The flow's name.")
    trigger = graphene.String(required=True)
    definition = JSONString(required=True)


# --- the report ------------------------------------------------------------------------------


class CRMCampaignReasonCount(graphene.ObjectType):
    reason = graphene.String(required=True)
    count = graphene.Int(required=True)


def reason_counts(counts: dict) -> list[CRMCampaignReasonCount]:
    return [
        CRMCampaignReasonCount(reason=reason, count=n)
        for reason, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


class CRMCampaignStepReport(graphene.ObjectType):
    """One step on one channel: its ledger rows by status."""

    step = graphene.Int(required=True, description="The step's index, from 0.")
    channel = graphene.String(required=True)
    template = graphene.String(description="The step's template (null: no longer a step).")
    pending = graphene.Int(required=True, description="Due later (or being sent now).")
    sent = graphene.Int(required=True)
    held = graphene.Int(required=True, description="Held back: the control group.")
    skipped = graphene.Int(required=True)
    failed = graphene.Int(required=True)
    reasons = graphene.List(
        graphene.NonNull(CRMCampaignReasonCount),
        required=True,
        description="Why rows were skipped or failed (e.g. no_consent, weekly_cap, smtp:550).",
    )


class CRMCampaignArm(graphene.ObjectType):
    """One group over the report's window: the messaged customers, or the held-back ones."""

    customers = graphene.Int(required=True)
    converted = graphene.Int(required=True, description="Customers who ordered in the window.")
    conversion_rate = graphene.Float(description="converted / customers (null: no customers).")
    revenue_per_customer = graphene.Field(
        Money, description="In the lift's currency; null for the conversion-only row."
    )


class CRMCampaignInterval(graphene.ObjectType):
    """Messaged minus control, with its 95% interval (shares from 0 to 1)."""

    difference = graphene.Float()
    low = graphene.Float()
    high = graphene.Float()


class CRMCampaignMoneyInterval(graphene.ObjectType):
    """Messaged minus control per customer, with its 95% interval (Welch)."""

    difference = graphene.Field(Money)
    low = graphene.Field(Money)
    high = graphene.Field(Money)


class CRMCampaignLift(graphene.ObjectType):
    """What messaging did against the held-back control group over the same window: the
    measured lift. Null values: a group too small to say."""

    currency = graphene.String(
        description="The revenue's currency; null for the row of conversion alone (orders in "
        "any currency)."
    )
    messaged = graphene.Field(CRMCampaignArm, required=True)
    control = graphene.Field(CRMCampaignArm, required=True)
    conversion = graphene.Field(
        CRMCampaignInterval,
        required=True,
        description="Conversion rate difference (Newcombe's hybrid score interval).",
    )
    revenue_per_customer = graphene.Field(
        CRMCampaignMoneyInterval, description="Null for the row of conversion alone."
    )


class CRMCampaignAttribution(graphene.ObjectType):
    """Plain attribution: orders placed within the window after one of the flow's sends.
    Not a measured effect (those customers may have ordered anyway): the lift is."""

    currency = graphene.String(required=True)
    orders = graphene.Int(required=True)
    revenue = graphene.Field(Money, required=True)


class CRMCampaignDay(graphene.ObjectType):
    """One store day of the ledger: sent messages on the day they went out, the others on
    the day they were (or are) due."""

    day = graphene.Date(required=True)
    sent = graphene.Int(required=True)
    pending = graphene.Int(required=True)
    held = graphene.Int(required=True)
    skipped = graphene.Int(required=True)
    failed = graphene.Int(required=True)


def _money(value, currency: str) -> Money | None:
    if value is None or not currency:
        return None
    return money(quantize_amount(Decimal(str(value)), currency), currency)


def _arm(arm, currency: str, rate, revenue) -> CRMCampaignArm:
    return CRMCampaignArm(
        customers=arm.customers,
        converted=arm.converted,
        conversion_rate=rate,
        revenue_per_customer=_money(revenue, currency),
    )


def campaign_lift(currency: str, figures: dict) -> CRMCampaignLift:
    """A currency's row of `services.flow_report`'s lift ("" is conversion alone)."""
    lift = figures["lift"]
    return CRMCampaignLift(
        currency=currency or None,
        messaged=_arm(figures["messaged"], currency, lift.messaged_rate, lift.messaged_revenue),
        control=_arm(figures["control"], currency, lift.control_rate, lift.control_revenue),
        conversion=CRMCampaignInterval(
            difference=lift.conversion, low=lift.conversion_low, high=lift.conversion_high
        ),
        revenue_per_customer=CRMCampaignMoneyInterval(
            difference=_money(lift.revenue, currency),
            low=_money(lift.revenue_low, currency),
            high=_money(lift.revenue_high, currency),
        )
        if currency
        else None,
    )


class CRMCampaignReport(graphene.ObjectType):
    """A flow's figures: who entered and left, each step's sends, the measured lift against
    the control group, and the plain attribution."""

    flow = graphene.String(required=True, description="The flow's slug.")
    entered = graphene.Int(required=True)
    exited = graphene.List(
        graphene.NonNull(CRMCampaignReasonCount),
        required=True,
        description="Entries ended early, by reason (ordered, left_segment, ...).",
    )
    unsubscribed = graphene.Int(required=True, description="Unsubscribes from its messages.")
    steps = graphene.List(graphene.NonNull(CRMCampaignStepReport), required=True)
    window_days = graphene.Int(
        required=True,
        description="Days after entry (lift) or after a send (attribution) an order counts.",
    )
    lift = graphene.List(
        graphene.NonNull(CRMCampaignLift),
        required=True,
        description="The measured lift: conversion first, then revenue per currency.",
    )
    attribution = graphene.List(
        graphene.NonNull(CRMCampaignAttribution),
        required=True,
        description="Plain attribution per currency (orders after a send; not the lift).",
    )
    sends_per_day = graphene.List(
        graphene.NonNull(CRMCampaignDay),
        required=True,
        days=graphene.Int(
            default_value=90,
            description="From this many store days back (1-730), today "
            "included, to the last day something is due.",
        ),
    )

    @staticmethod
    def resolve_sends_per_day(root, info, days):
        if not 1 <= days <= 730:
            raise InputError("days", f"must be between 1 and 730, not {days}")
        config = info.context.host.config()
        today = timezone.now().astimezone(config.zone).date()
        since = today - timedelta(days=days - 1)
        by_day: dict = {}
        for day, status, n in sends_per_day(root.row, since, config):
            counts = by_day.setdefault(day, dict.fromkeys(_DAY_FIELDS, 0))
            counts[_DAY_STATUS.get(status, "pending")] += n
        return [CRMCampaignDay(day=day, **counts) for day, counts in sorted(by_day.items())]


_DAY_FIELDS = ("sent", "pending", "held", "skipped", "failed")
_DAY_STATUS = {
    CampaignSend.SENT: "sent",
    CampaignSend.PENDING: "pending",
    CampaignSend.SENDING: "pending",
    CampaignSend.HELD: "held",
    CampaignSend.SKIPPED: "skipped",
    CampaignSend.FAILED: "failed",
}


# --- the send log ----------------------------------------------------------------------------


class CRMCampaignSend(graphene.ObjectType):
    """One step of one customer's entry: the ledger row that makes it go out once."""

    id = graphene.ID(required=True)
    key = graphene.String(required=True, description='"<entry>:<step>", unique.')
    customer_id = graphene.ID(description="Saleor's User ID; null for a guest.")
    customer_email = graphene.String()
    step = graphene.Int(required=True)
    channel = graphene.String(required=True)
    status = graphene.Field(CRMCampaignSendStatus, required=True)
    reason = graphene.String(description="Why it was skipped or failed.")
    error = graphene.String(description="The channel's own words for a failure.")
    attempts = graphene.Int(required=True)
    due_at = graphene.DateTime(required=True)
    sent_at = graphene.DateTime()
    voucher_code = graphene.String(description="The step's personal voucher, once created.")
    points = graphene.Int(required=True, description="Points the step gave.")

    @staticmethod
    def resolve_id(root, _info):
        return graphene.Node.to_global_id("CRMCampaignSend", root.pk)

    @staticmethod
    def resolve_status(root, _info):
        return root.status

    @staticmethod
    def resolve_customer_id(root, info):
        user_id = root.profile.user_id
        return info.context.host.user_global_id(user_id) if user_id else None

    @staticmethod
    def resolve_customer_email(root, info):
        return email_of(root, info.context.host)

    @staticmethod
    def resolve_reason(root, _info):
        return root.reason or None

    @staticmethod
    def resolve_error(root, _info):
        return root.error or None

    @staticmethod
    def resolve_voucher_code(root, _info):
        return root.voucher_code or None


class CRMCampaignSendConnection(graphene.relay.Connection):
    total_count = graphene.Int()

    class Meta:
        node = CRMCampaignSend


# --- preview and templates --------------------------------------------------------------------


class CRMCampaignPreviewDay(graphene.ObjectType):
    day = graphene.Date(required=True)
    customers = graphene.Int(required=True)


class CRMCampaignMessage(graphene.ObjectType):
    """One step's message, rendered."""

    step = graphene.Int(required=True)
    channel = graphene.String(required=True)
    template = graphene.String(required=True)
    subject = graphene.String(required=True)
    text = graphene.String(required=True)
    html = graphene.String(required=True, description='"" when the template has no HTML part.')


class CRMCampaignPreview(graphene.ObjectType):
    """What a flow would do, written nowhere."""

    today = graphene.Int(
        required=True,
        description="Customers its trigger selects today (before consent, control and cap).",
    )
    days = graphene.List(
        graphene.NonNull(CRMCampaignPreviewDay),
        required=True,
        description="Per store day, the last 7 (today last), from the customers' figures now; "
        "empty for a segment trigger (past memberships are not kept).",
    )
    segment_members = graphene.Int(
        description="A segment trigger's members now (a flow enters the newcomers after it is "
        "on; a segment send, those who have not had it)."
    )
    messages = graphene.List(
        graphene.NonNull(CRMCampaignMessage),
        required=True,
        description="Each step for the customer (sample values without one); voucher codes "
        "and the unsubscribe link are placeholders.",
    )


class CRMMessageTemplate(graphene.ObjectType):
    name = graphene.String(required=True)
    subject = graphene.String(required=True)
    text = graphene.String(required=True)
    html = graphene.String(required=True)
    edited = graphene.Boolean(
        required=True, description="Staff saved their own version (else the shipped one)."
    )

"""GraphQL types of ranks and points: the customer's own (`me`), and staff's tools and reports."""

from datetime import timedelta

import graphene
from graphene import relay

from ...audit.services import attach_staff, staff_user_id
from ...loyalty.config import format_window
from ...loyalty.models import PointsEntry
from ...loyalty.services import expiring
from ..core.errors import InputError
from ..core.pagination import connection_from_queryset, email_of
from ..core.scalars import JSONString
from ..core.types import Money, money
from .enums import CRMAuditAction, CRMLoyaltyErrorCode, CRMPointsKind


class CRMRankBenefits(graphene.ObjectType):
    points_multiplier = graphene.Float(required=True, description="2 = double points.")
    discount_percent = graphene.Float(required=True)
    perks = graphene.String(required=True, description="Free text for the storefront.")

    @staticmethod
    def resolve_points_multiplier(root, _info):
        return float(root.points_multiplier)

    @staticmethod
    def resolve_discount_percent(root, _info):
        return float(root.discount_percent)


class CRMRankThresholds(graphene.ObjectType):
    orders = graphene.Int(description="Paid orders in the window (null: not a threshold).")
    amounts = graphene.List(
        graphene.NonNull(Money), required=True, description="Spend in the window, per currency."
    )
    points = graphene.Int(description="Points earned in the window (null: not a threshold).")
    combine = graphene.String(required=True, description="any: one is enough; all: every one.")


class CRMRank(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    benefits = graphene.Field(CRMRankBenefits, required=True)
    thresholds = graphene.Field(CRMRankThresholds, required=True)

    @staticmethod
    def resolve_benefits(root, _info):
        return root

    @staticmethod
    def resolve_thresholds(root, _info):
        return CRMRankThresholds(
            orders=root.min_orders,
            amounts=[
                money(amount, currency) for currency, amount in sorted(root.min_spend.items())
            ],
            points=root.min_points,
            combine=root.combine,
        )


class CRMRankCount(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    customers = graphene.Int(required=True)


class CRMRankProgress(graphene.ObjectType):
    """What the customer still needs for the next rank, in the currencies they buy in."""

    orders = graphene.Int(description="Orders still to place (null: not a threshold).")
    amount = graphene.Field(
        Money, description="Spend still needed, in the first currency of `amounts`."
    )
    amounts = graphene.List(
        graphene.NonNull(Money),
        required=True,
        description="Spend still needed per currency, only in the currencies the customer has "
        "bought in (a customer yet to buy: the rank's, where spend is needed).",
    )
    points = graphene.Int(description="Points still to earn (null: not a threshold).")
    combine = graphene.String(required=True, description="any: one is enough; all: every one.")

    @staticmethod
    def resolve_amounts(root, _info):
        return [money(amount, currency) for currency, amount in root.amounts.items()]

    @staticmethod
    def resolve_amount(root, _info):
        for currency, amount in root.amounts.items():
            return money(amount, currency)
        return None


class CRMMembership(graphene.ObjectType):
    rank = graphene.Field(CRMRank, required=True)
    since = graphene.DateTime(description="When the customer got the rank.")
    next_rank = graphene.Field(CRMRank)
    remaining_to_next_rank = graphene.Field(
        CRMRankProgress,
        description="Null at the highest rank, or when the next rank needs spend in a currency "
        "the customer has never bought in.",
    )
    expires_at = graphene.DateTime(
        description="When the rank can next go down: the period's end, or a pin's expiry."
    )
    pinned = graphene.Boolean(required=True, description="Set by staff, not by the rules.")
    benefits = graphene.Field(CRMRankBenefits, required=True)
    voucher_code = graphene.String(
        description="The rank's discount: the customer's own voucher code for checkout."
    )

    @staticmethod
    def resolve_remaining_to_next_rank(root, _info):
        return root.progress

    @staticmethod
    def resolve_benefits(root, _info):
        return root.rank


class CRMRankChange(graphene.ObjectType):
    """One change of a customer's rank: why is this customer Gold?"""

    from_code = graphene.String(description="Null for the customer's first rank.")
    to_code = graphene.String(required=True)
    reason = graphene.String(required=True, description="The rule, or staff's reason.")
    at = graphene.DateTime(required=True)
    rule_version = graphene.String(required=True, description="The rank configuration's digest.")
    order_ids = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The store's order ids (Saleor: the order token) the figures counted, newest 100.",
    )
    actor = graphene.String(description="Staff who pinned or unpinned; null for the rules.")

    @staticmethod
    def resolve_from_code(root, _info):
        return root.from_code or None

    @staticmethod
    def resolve_actor(root, _info):
        return root.actor or None


class CRMPointsEntry(graphene.ObjectType):
    kind = graphene.Field(CRMPointsKind, required=True)
    points = graphene.Int(required=True, description="Signed; 0 for a release.")
    at = graphene.DateTime(required=True)
    reason = graphene.String(required=True)
    available_at = graphene.DateTime(description="An earning, or a release: available from.")
    expires_at = graphene.DateTime()
    currency = graphene.String(description="The order's or the gift card's currency.")
    actor = graphene.String(description="Who wrote it (staff only; null for the rules).")

    @staticmethod
    def resolve_actor(root, info):
        requester = info.context.requester
        if requester is None or not requester.is_staff:
            return None
        return root.actor or None

    @staticmethod
    def resolve_currency(root, _info):
        return root.currency or None


class CRMPointsEntryConnection(relay.Connection):
    total_count = graphene.Int()

    class Meta:
        node = CRMPointsEntry


class CRMPointsExpiry(graphene.ObjectType):
    points = graphene.Int(required=True)
    at = graphene.DateTime(required=True)


class CRMPoints(graphene.ObjectType):
    balance = graphene.Int(required=True, description="Available less owed (below 0 when owed).")
    available = graphene.Int(required=True)
    pending = graphene.Int(required=True, description="Earned, not yet available.")
    owed = graphene.Int(required=True, description="Taken back after being spent.")
    expiring_soon = graphene.List(
        graphene.NonNull(CRMPointsExpiry),
        required=True,
        days=graphene.Int(default_value=30, description="How far ahead, 1 to 366 days."),
    )
    history = relay.ConnectionField(CRMPointsEntryConnection, description="Newest first.")

    @staticmethod
    def resolve_balance(root, _info):
        return root["state"].balance

    @staticmethod
    def resolve_available(root, _info):
        return root["state"].available

    @staticmethod
    def resolve_pending(root, _info):
        return root["state"].pending

    @staticmethod
    def resolve_owed(root, _info):
        return root["state"].debt

    @staticmethod
    def resolve_expiring_soon(root, info, days):
        if not 1 <= days <= 366:
            raise InputError("days", f"must be between 1 and 366, not {days}")
        if root["profile_id"] is None:
            return []
        now = root["now"]
        expiry = info.context.host.config().loyalty.expiry
        return [
            CRMPointsExpiry(points=points, at=at)
            for points, at in expiring(root["profile_id"], now, now + timedelta(days=days), expiry)
        ]

    @staticmethod
    def resolve_history(root, _info, **args):
        entries = PointsEntry.objects.filter(account__profile_id=root["profile_id"]).order_by(
            "-at", "-key"
        )
        return connection_from_queryset(entries, args, CRMPointsEntryConnection)


class CRMPointsLiability(graphene.ObjectType):
    currency = graphene.String(description="Where the points were earned; null: adjustments.")
    available = graphene.Int(required=True)
    pending = graphene.Int(required=True)
    value = graphene.Field(
        Money, description="What the available and pending points buy at the redemption rate."
    )


class CRMPaidPointsBaseDate(graphene.ObjectType):
    """Paid points (有償ポイント) unused at the end of a Payment Services Act base date."""

    base_date = graphene.Date(required=True, description="March 31 or September 30.")
    currency = graphene.String(required=True)
    unused_points = graphene.Int(required=True)
    unused_amount = graphene.Field(
        Money, required=True, description="What was paid for them, pro rata per lot."
    )
    issued_points = graphene.Int(required=True, description="Issued in the half-year to it.")
    issued_amount = graphene.Field(Money, required=True)
    exceeds_threshold = graphene.Boolean(
        description="JPY: the unused amount is over 10,000,000 (notification); null otherwise."
    )

    @staticmethod
    def resolve_base_date(root, _info):
        return root.base_date

    @staticmethod
    def resolve_unused_points(root, _info):
        return root.points

    @staticmethod
    def resolve_unused_amount(root, _info):
        return Money(currency=root.currency, amount=root.amount)

    @staticmethod
    def resolve_issued_amount(root, _info):
        return Money(currency=root.currency, amount=root.issued_amount)


class CRMFreePointsMonth(graphene.ObjectType):
    """Free points in one month (store time) and currency: closing = opening + issued - used
    - expired - reversed."""

    month = graphene.String(required=True, description="YYYY-MM.")
    currency = graphene.String(description="null: no currency known for these points.")
    opening = graphene.Int(required=True, description="Outstanding at the month's start.")
    issued = graphene.Int(required=True)
    used = graphene.Int(required=True, description="Redeemed.")
    expired = graphene.Int(required=True, description="Breakage.")
    reversed = graphene.Int(
        required=True, description="Taken back: refunds, cancellations, staff deductions."
    )
    closing = graphene.Int(required=True, description="Outstanding at the month's end.")

    @staticmethod
    def resolve_month(root, _info):
        return f"{root.month:%Y-%m}"

    @staticmethod
    def resolve_currency(root, _info):
        return root.currency or None


class CRMFreePointsReport(graphene.ObjectType):
    """Stored free points months (computed nightly, or on demand with
    crmFreePointsMonthsCompute) and when they were computed."""

    computed_at = graphene.DateTime(
        required=True, description="When the months shown were computed from the ledger."
    )
    first_month = graphene.String(
        description="YYYY-MM: the ledger's first month (null: the ledger was empty)."
    )
    last_month = graphene.String(
        required=True, description="YYYY-MM: the last month computed (to that moment)."
    )
    months = graphene.List(
        graphene.NonNull(CRMFreePointsMonth),
        required=True,
        description="By month, then currency.",
    )

    @staticmethod
    def resolve_first_month(root, _info):
        return None if root.first_month is None else f"{root.first_month:%Y-%m}"

    @staticmethod
    def resolve_last_month(root, _info):
        return f"{root.last_month:%Y-%m}"


class CRMRankMove(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    customers_now = graphene.Int(required=True)
    customers_draft = graphene.Int(required=True)
    moving_up = graphene.Int(required=True, description="Of the draft's, those from below.")
    moving_down = graphene.Int(required=True, description="Of the draft's, those from above.")


class CRMRankSettings(graphene.ObjectType):
    """The rank settings as saved (root: the plugin's configuration)."""

    ranks = graphene.String(required=True, description="The ranks setting, one rank a line.")
    window = graphene.String(required=True, description="What counts toward a rank.")
    inactive_months = graphene.Int(required=True, description="0: ranks never drop for that.")
    version = graphene.String(required=True, description="The table's digest; changes on save.")

    @staticmethod
    def resolve_ranks(root, _info):
        return root.loyalty.ladder_text

    @staticmethod
    def resolve_window(root, _info):
        return format_window(root.loyalty.ladder.window)

    @staticmethod
    def resolve_inactive_months(root, _info):
        return root.loyalty.ladder.inactive_months or 0

    @staticmethod
    def resolve_version(root, _info):
        return root.loyalty.ladder_version


class CRMAuditEvent(graphene.ObjectType):
    """One change staff made by hand."""

    at = graphene.DateTime(required=True)
    actor = graphene.String(
        required=True, description="Who made it: `staff:<user id>`, or `…:app` for an app."
    )
    actor_id = graphene.ID(description="The staff user's Saleor User ID (null: an app).")
    actor_email = graphene.String(
        description="The staff user's email as the store has it now (null: an app, or a user "
        "the store no longer has)."
    )
    actor_name = graphene.String(description="The staff user's first and last name, if any.")
    action = graphene.Field(CRMAuditAction, required=True)
    customer_id = graphene.ID(description="Saleor's User ID; null for a store-wide change.")
    customer_email = graphene.String()
    points = graphene.Int(description="An adjustment's points (signed).")
    rank = graphene.String(description="The rank's code, for a pin.")
    reason = graphene.String(required=True)
    detail = JSONString(
        required=True,
        description="For a rank table: the settings `before` and `after`, and `version`.",
    )

    @staticmethod
    def resolve_action(root, _info):
        return root.action

    @staticmethod
    def resolve_actor_id(root, info):
        user_id = staff_user_id(root.actor)
        return None if user_id is None else info.context.host.user_global_id(user_id)

    @staticmethod
    def resolve_actor_email(root, info):
        member = _staff_of(root, info.context.host)
        return member.email if member else None

    @staticmethod
    def resolve_actor_name(root, info):
        member = _staff_of(root, info.context.host)
        return (member.name or None) if member else None

    @staticmethod
    def resolve_customer_id(root, info):
        if root.profile_id is None or root.profile.user_id is None:
            return None
        return info.context.host.user_global_id(root.profile.user_id)

    @staticmethod
    def resolve_customer_email(root, info):
        return email_of(root, info.context.host)

    @staticmethod
    def resolve_rank(root, _info):
        return root.code or None


def _staff_of(event, host):
    """The event's staff member: the page's batch (`attach_staff`), else this event's lookup."""
    if not hasattr(event, "crm_staff"):
        attach_staff([event], host)
    return event.crm_staff


class CRMAuditEventConnection(relay.Connection):
    total_count = graphene.Int()

    class Meta:
        node = CRMAuditEvent


class CRMLoyaltyError(graphene.ObjectType):
    field = graphene.String()
    message = graphene.String(required=True)
    code = graphene.Field(CRMLoyaltyErrorCode, required=True)


class CRMGiftCard(graphene.ObjectType):
    code = graphene.String(required=True, description="Enter it at checkout.")
    amount = graphene.Field(Money, required=True)

"""GraphQL of ranks and points: the customer's own (`me`), and staff's tools and reports."""

from datetime import timedelta

import graphene
from django.utils import timezone
from graphene import relay

from ..audit.models import AuditEvent
from ..audit.services import attach_staff, staff_user_id, trail
from ..conf import RANK_INACTIVE_MONTHS, RANK_WINDOW, RANKS, ConfigError
from ..customers.models import CustomerProfile
from ..errors import FieldError
from ..host import MANAGE_PLUGINS
from ..loyalty.config import format_window
from ..loyalty.membership import (
    RankInputError,
    draft_settings,
    membership,
    pin_rank,
    preview_ladder,
    rank_counts,
    save_rank_settings,
)
from ..loyalty.models import PointsEntry, RankChange
from ..loyalty.redemption import redeem_for_gift_card
from ..loyalty.services import PointsError, adjust, balance, expiring, liability
from ..metadata import sync_customer_metadata
from .errors import InputError, decode_id, require_customer, require_permission
from .money import Money, money
from .pagination import attach_emails, connection_from_queryset, email_of
from .scalars import JSONString

# --- types ------------------------------------------------------------------------------------


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


def rank_history(info, profile, limit: int) -> list:
    """The customer's rank changes, newest first (staff only)."""
    require_permission(info)
    if not 1 <= limit <= 1000:
        raise InputError("limit", f"must be between 1 and 1000, not {limit}")
    return list(RankChange.objects.filter(profile=profile).order_by("-at", "-pk")[:limit])


class CRMPointsKind(graphene.Enum):
    EARN = "earn"
    ADJUST = "adjust"
    REDEEM = "redeem"
    REVERSE = "reverse"
    EXPIRE = "expire"
    RELEASE = "release"


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


def points_of(profile: CustomerProfile | None) -> dict:
    now = timezone.now()
    profile_id = profile.pk if profile is not None else None
    return {"profile_id": profile_id, "now": now, "state": balance(profile_id, now)}


def membership_of(info, profile: CustomerProfile | None):
    return membership(info.context.host.config(), profile, timezone.now())


class CRMPointsLiability(graphene.ObjectType):
    currency = graphene.String(description="Where the points were earned; null: adjustments.")
    available = graphene.Int(required=True)
    pending = graphene.Int(required=True)
    value = graphene.Field(
        Money, description="What the available and pending points buy at the redemption rate."
    )


def liability_rows(info, rows) -> list[CRMPointsLiability]:
    """(currency, available, pending) rows with their gift card value."""
    redemption = info.context.host.config().loyalty.redemption
    result = []
    for currency, available, pending in rows:
        rule = redemption.get(currency)
        value = money(rule.amount_for(available + pending), currency) if rule else None
        result.append(
            CRMPointsLiability(
                currency=currency or None, available=available, pending=pending, value=value
            )
        )
    return result


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


class CRMAuditAction(graphene.Enum):
    POINTS_ADJUSTED = AuditEvent.POINTS_ADJUSTED
    RANK_PINNED = AuditEvent.RANK_PINNED
    RANK_UNPINNED = AuditEvent.RANK_UNPINNED
    RANK_TABLE_SAVED = AuditEvent.RANK_TABLE_SAVED


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


def _attach_names(page, host) -> None:
    attach_emails(page, host)
    attach_staff(page, host)


class CRMAuditEventConnection(relay.Connection):
    total_count = graphene.Int()

    class Meta:
        node = CRMAuditEvent


# The rank settings' names as arguments of crmRankPreview and crmRankSettingsSave.
_SETTING_ARGUMENTS = {RANKS: "ranks", RANK_WINDOW: "window", RANK_INACTIVE_MONTHS: "inactiveMonths"}


# --- errors -----------------------------------------------------------------------------------


class CRMLoyaltyErrorCode(graphene.Enum):
    INVALID = "invalid"
    INSUFFICIENT_POINTS = "insufficient_points"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


class CRMLoyaltyError(graphene.ObjectType):
    field = graphene.String()
    message = graphene.String(required=True)
    code = graphene.Field(CRMLoyaltyErrorCode, required=True)


_FIELDS = {"requestId": "requestId", "expires_at": "expiresAt", "customer": "customerId"}


def _errors(error: FieldError) -> list:
    code = "invalid"
    if error.field == "points" and "available" in error.message:
        code = "insufficient_points"
    elif error.field == "customerId":
        code = "not_found"
    return [
        CRMLoyaltyError(
            field=_FIELDS.get(error.field, error.field), message=error.message, code=code
        )
    ]


def customer_by_id(customer_id: str) -> CustomerProfile:
    """A profile by our CRMCustomer ID or Saleor's User ID."""
    kind, pk = decode_id(customer_id)
    profiles = CustomerProfile.objects.filter(anonymized_at__isnull=True)
    profile = None
    if kind == "CRMCustomer" and pk.isdigit():
        profile = profiles.filter(pk=int(pk)).first()
    elif kind == "User" and pk:
        profile = profiles.filter(user_id=pk).first()
    if profile is None:
        raise PointsError("customerId", f"'{customer_id}' is not a customer the CRM knows")
    return profile


def own_profile(requester) -> CustomerProfile | None:
    """The requesting customer's profile (None before their first order or account event)."""
    return CustomerProfile.objects.filter(
        user_id=requester.user_id, anonymized_at__isnull=True
    ).first()


# --- mutations --------------------------------------------------------------------------------


class CRMGiftCard(graphene.ObjectType):
    code = graphene.String(required=True, description="Enter it at checkout.")
    amount = graphene.Field(Money, required=True)


class CRMPointsRedeem(graphene.Mutation):
    """Turn points into a gift card (the customer's own; staff with MANAGE_USERS for anyone)."""

    gift_card = graphene.Field(CRMGiftCard)
    points = graphene.Field(CRMPoints, description="The balance after the redemption.")
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        points = graphene.Int(required=True)
        currency = graphene.String(required=True, description="The gift card's currency.")
        request_id = graphene.String(
            required=True, description="Your id of this request: a retry with it redeems once."
        )
        customer_id = graphene.ID(description="Staff only: the customer (CRMCustomer or User).")

    @staticmethod
    def mutate(_root, info, points, currency, request_id, customer_id=None):
        if customer_id is None:
            requester = require_customer(info)
            profile = own_profile(requester)
        else:
            requester = require_permission(info)
        try:
            if customer_id is not None:
                profile = customer_by_id(customer_id)
            if profile is None:
                raise PointsError("points", f"{points} asked, 0 available to spend")
            redeemed = redeem_for_gift_card(
                info.context.host.config(),
                info.context.host,
                profile,
                points,
                currency,
                request_id,
                timezone.now(),
                actor=requester.actor,
            )
        except PointsError as error:
            return CRMPointsRedeem(gift_card=None, points=None, errors=_errors(error))
        sync_customer_metadata(info.context.host, [profile.pk])
        return CRMPointsRedeem(
            gift_card=CRMGiftCard(
                code=redeemed.code, amount=money(redeemed.amount, redeemed.currency)
            ),
            points=points_of(profile),
            errors=[],
        )


class CRMPointsAdjust(graphene.Mutation):
    """Add or take points by hand, with a reason (staff with MANAGE_USERS; audited)."""

    points = graphene.Field(CRMPoints)
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        customer_id = graphene.ID(required=True)
        points = graphene.Int(required=True, description="Above 0 adds, below 0 takes.")
        reason = graphene.String(required=True)
        request_id = graphene.String(required=True, description="A retry with it adjusts once.")

    @staticmethod
    def mutate(_root, info, customer_id, points, reason, request_id):
        requester = require_permission(info)
        config = info.context.host.config()
        try:
            profile = customer_by_id(customer_id)
            if not str(request_id).strip() or len(request_id) > 64:
                raise PointsError("requestId", "must be 1 to 64 characters")
            adjust(
                profile.pk,
                points,
                f"adjust:{profile.pk}:{request_id}",
                timezone.now(),
                reason=reason,
                actor=requester.actor,
                allow_negative=config.loyalty.allow_negative,
            )
        except PointsError as error:
            return CRMPointsAdjust(points=None, errors=_errors(error))
        sync_customer_metadata(info.context.host, [profile.pk])
        return CRMPointsAdjust(points=points_of(profile), errors=[])


class CRMRankPin(graphene.Mutation):
    """Pin a customer's rank with a reason until a time, or unpin (code null). MANAGE_USERS."""

    membership = graphene.Field(CRMMembership)
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        customer_id = graphene.ID(required=True)
        code = graphene.String(description="The rank's code; null to unpin.")
        reason = graphene.String(required=True)
        expires_at = graphene.DateTime(description="Until then; null: until unpinned.")

    @staticmethod
    def mutate(_root, info, customer_id, reason, code=None, expires_at=None):
        requester = require_permission(info)
        config = info.context.host.config()
        try:
            profile = customer_by_id(customer_id)
            pin_rank(
                config,
                profile,
                code,
                reason,
                timezone.now(),
                expires_at=expires_at,
                actor=requester.actor,
            )
        except (PointsError, RankInputError) as error:
            return CRMRankPin(membership=None, errors=_errors(error))
        sync_customer_metadata(info.context.host, [profile.pk])  # crm.rank, voucher, type
        return CRMRankPin(membership=membership_of(info, profile), errors=[])


# --- queries ----------------------------------------------------------------------------------


class LoyaltyQueries(graphene.ObjectType):
    crm_ranks = graphene.List(
        graphene.NonNull(CRMRank), required=True, description="The store's ranks, lowest first."
    )
    crm_rank_distribution = graphene.List(
        graphene.NonNull(CRMRankCount),
        required=True,
        description="How many customers hold each rank now, lowest first (MANAGE_USERS).",
    )
    crm_points_liability = graphene.List(
        graphene.NonNull(CRMPointsLiability),
        required=True,
        description="Outstanding points per currency (MANAGE_USERS).",
    )
    crm_rank_preview = graphene.List(
        graphene.NonNull(CRMRankMove),
        required=True,
        ranks=graphene.String(required=True, description="A draft of the ranks setting."),
        window=graphene.String(description="A draft of the window setting (default: current)."),
        inactive_months=graphene.Int(description="A draft of the rank-down setting."),
        description="What a draft rank configuration would do to today's customers, per rank, "
        "without saving it (MANAGE_USERS).",
    )

    crm_rank_settings = graphene.Field(
        CRMRankSettings,
        required=True,
        description="The rank table as saved, to edit and preview (MANAGE_USERS).",
    )
    crm_audit_trail = relay.ConnectionField(
        CRMAuditEventConnection,
        customer_id=graphene.ID(description="Only this customer's (CRMCustomer or User ID)."),
        actions=graphene.List(graphene.NonNull(CRMAuditAction)),
        description="What staff changed by hand, newest first (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_rank_settings(_root, info):
        require_permission(info)
        return info.context.host.config()

    @staticmethod
    def resolve_crm_audit_trail(_root, info, customer_id=None, actions=None, **args):
        require_permission(info)
        profile_id = None
        if customer_id is not None:
            try:
                profile_id = customer_by_id(customer_id).pk
            except PointsError as error:
                raise InputError("customerId", error.message) from error
        events = trail(profile_id=profile_id, actions=actions).select_related("profile")
        return connection_from_queryset(
            events,
            args,
            CRMAuditEventConnection,
            prepare_page=lambda page: _attach_names(page, info.context.host),
        )

    @staticmethod
    def resolve_crm_ranks(_root, info):
        return list(info.context.host.config().loyalty.ladder.ranks)

    @staticmethod
    def resolve_crm_rank_distribution(_root, info):
        require_permission(info)
        counts = rank_counts()
        ladder = info.context.host.config().loyalty.ladder.ranks
        known = {rank.code for rank in ladder}
        rows = [
            CRMRankCount(code=r.code, name=r.name, customers=counts.get(r.code, 0)) for r in ladder
        ]
        rows += [  # ranks held under an older table
            CRMRankCount(code=code, name=code, customers=n)
            for code, n in sorted(counts.items())
            if code not in known
        ]
        return rows

    @staticmethod
    def resolve_crm_points_liability(_root, info):
        require_permission(info)
        return liability_rows(info, liability(timezone.now()))

    @staticmethod
    def resolve_crm_rank_preview(_root, info, ranks, window=None, inactive_months=None):
        require_permission(info)
        config = info.context.host.config()
        try:
            _, ladder = draft_settings(config, ranks, window, inactive_months)
        except ConfigError as error:
            raise InputError(_SETTING_ARGUMENTS[error.field], error.message) from error
        return [
            CRMRankMove(
                code=move.code,
                name=move.name,
                customers_now=move.now,
                customers_draft=move.draft,
                moving_up=move.up,
                moving_down=move.down,
            )
            for move in preview_ladder(config, ladder, timezone.now())
        ]


class CRMRankSettingsSave(graphene.Mutation):
    """Save the rank table (the plugin's rank settings) after previewing it with crmRankPreview;
    every customer's rank is then reviewed under it in the background (MANAGE_PLUGINS, as
    Saleor's plugin settings; audited)."""

    rank_settings = graphene.Field(CRMRankSettings)
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        ranks = graphene.String(required=True, description="The ranks setting, one rank a line.")
        window = graphene.String(description="The window setting (default: keep it).")
        inactive_months = graphene.Int(description="The rank-down setting (default: keep it).")
        version = graphene.String(
            required=True,
            description="crmRankSettings.version when the draft was previewed: a table saved "
            "by someone else since is not overwritten (CONFLICT).",
        )

    @staticmethod
    def mutate(_root, info, ranks, version, window=None, inactive_months=None):
        requester = require_permission(info, MANAGE_PLUGINS)
        host = info.context.host
        try:
            config = save_rank_settings(
                host,
                ranks=ranks,
                window=window,
                inactive_months=inactive_months,
                version=version,
                actor=requester.actor,
                now=timezone.now(),
            )
        except ConfigError as error:
            return CRMRankSettingsSave(
                rank_settings=None,
                errors=[
                    CRMLoyaltyError(
                        field=_SETTING_ARGUMENTS[error.field], message=error.message, code="invalid"
                    )
                ],
            )
        except RankInputError as error:
            return CRMRankSettingsSave(
                rank_settings=None,
                errors=[CRMLoyaltyError(field=error.field, message=error.message, code="conflict")],
            )
        return CRMRankSettingsSave(rank_settings=config, errors=[])


class LoyaltyMutations(graphene.ObjectType):
    crm_points_redeem = CRMPointsRedeem.Field()
    crm_points_adjust = CRMPointsAdjust.Field()
    crm_rank_pin = CRMRankPin.Field()
    crm_rank_settings_save = CRMRankSettingsSave.Field()

"""GraphQL types of the customer ledger."""

from datetime import datetime

import graphene
from django.db.models import Count, Max
from graphene import relay

from ...customers.merges import merges_of
from ...customers.models import CustomerProfile, OrderRecord
from ...customers.search import LIST_PREFETCH, attach_list_columns
from ...host.attributes import age_on
from ...loyalty.models import MemberRank
from ...segments.bins import QUINTILES
from ...segments.segment_map import segment_reason
from ...segments.services import scoring_methods
from ..analytics.resolvers import resolve_recommendations
from ..analytics.types import CRMPrediction, CRMRecommendation
from ..core.customers import own_profile
from ..core.errors import require_permission
from ..core.types import Money, money
from ..loyalty.resolvers import membership_of, points_of, rank_history
from ..loyalty.types import CRMMembership, CRMPoints, CRMRankChange
from ..merges.types import CRMMergeRecord
from ..subscriptions.resolvers import own_subscriptions
from ..subscriptions.types import CRMSubscription

__all__ = ["CRMCustomer", "CRMCustomerCountableConnection", "CRMMe", "CRMScore", "CRMSpend"]


class CRMSpend(graphene.ObjectType):
    """A customer's counted orders and spend in one currency."""

    currency = graphene.String(required=True)
    order_count = graphene.Int(required=True)
    total_spent = graphene.Field(Money, required=True, description="Total less refunds.")
    average_order = graphene.Field(Money, required=True)
    first_order_at = graphene.DateTime()
    last_order_at = graphene.DateTime()

    @staticmethod
    def resolve_total_spent(root, _info):
        return money(root.total_spent_amount, root.currency)

    @staticmethod
    def resolve_average_order(root, _info):
        return money(root.average_order_amount, root.currency)


class CRMScore(graphene.ObjectType):
    """A customer's RFM scores (1-5) and named segment within one currency."""

    group = graphene.String(required=True, description="The currency the customer was scored in.")
    r = graphene.Int(required=True, description="Recency score.")
    f = graphene.Int(required=True, description="Frequency score.")
    m = graphene.Int(required=True, description="Monetary score.")
    segment = graphene.String(required=True)
    reason = graphene.String(
        required=True, description="Why: the scores and the segment's cells in the map."
    )
    scoring = graphene.String(
        required=True,
        description="How the scores were set: quintiles (against the other customers) or fixed "
        "(the store's bins).",
    )

    @staticmethod
    def resolve_scoring(root, info):
        # one read a request, whatever the number of customers on the page
        memo = info.context.memo
        if "scoring" not in memo:
            memo["scoring"] = scoring_methods()
        return memo["scoring"].get(root.currency, QUINTILES)

    @staticmethod
    def resolve_reason(root, info):
        return segment_reason(root.segment, root.r, root.f, info.context.host.config().segment_map)


def _details(root, info):
    """The store's data of the customer: read once per page (`attach_list_columns`)."""
    if not hasattr(root, "crm_details"):
        attach_list_columns([root], info.context.host)
    return root.crm_details


def _detail(root, info, name: str):
    details = _details(root, info)
    return (getattr(details, name) or None) if details else None


class CRMCustomer(graphene.ObjectType):
    """A customer as the CRM knows them: a registered user or a guest (by email)."""

    user_id = graphene.ID(description="Saleor's ID of the user; null for guests.")
    email = graphene.String(description="The email the store keeps (read from the store).")
    is_guest = graphene.Boolean(required=True)
    is_anonymized = graphene.Boolean(
        required=True, description="The customer was deleted; only anonymous aggregates remain."
    )
    order_count = graphene.Int(
        required=True, description="Placed orders, not cancelled or refunded in full."
    )
    first_order_at = graphene.DateTime()
    last_order_at = graphene.DateTime()
    joined_at = graphene.DateTime()
    name = graphene.String(description="First and last name as the store keeps them.")
    country = graphene.String(description="Country code of the default shipping address.")
    country_area = graphene.String(
        description="Prefecture / state of the default shipping address."
    )
    city = graphene.String(description="City of the default shipping address.")
    age = graphene.Int(description="From the birth date metadata key set in the configuration.")
    gender = graphene.String(description="From the gender metadata key set in the configuration.")
    rank = graphene.String(description="The membership rank's code (null before the first).")
    membership = graphene.Field(CRMMembership, required=True, description="Rank and progress.")
    points = graphene.Field(CRMPoints, required=True)
    rank_history = graphene.List(
        graphene.NonNull(CRMRankChange),
        required=True,
        limit=graphene.Int(default_value=50, description="At most 1000."),
        description="Every rank change with its reason, newest first (MANAGE_USERS).",
    )
    spends = graphene.List(
        graphene.NonNull(CRMSpend), required=True, description="Spend per currency."
    )
    merges = graphene.List(
        graphene.NonNull(CRMMergeRecord),
        required=True,
        description="The merges this customer took part in, either side, newest first: a CRM "
        "fact, the store's accounts are left as they are (MANAGE_USERS).",
    )
    scores = graphene.List(
        graphene.NonNull(CRMScore),
        required=True,
        description="RFM scores per currency (none until the first recompute).",
    )
    predictions = graphene.List(
        graphene.NonNull(CRMPrediction),
        required=True,
        description="Predicted orders, CLV and churn signs per currency (none before the first "
        "nightly fit of that currency). MANAGE_USERS.",
    )
    last_order_channel = graphene.String(
        description="The channel of the customer's most recent counted order (null before "
        "the first)."
    )
    main_channel = graphene.String(
        description="The channel of most of the customer's counted orders, the one with the "
        "most recent of them on a tie (null before the first): where they mostly shop, e.g. "
        "for their recommendations."
    )
    recommendations = graphene.List(
        graphene.NonNull(CRMRecommendation),
        required=True,
        channel=graphene.String(required=True, description="The channel's slug."),
        first=graphene.Int(default_value=5, description="At most this many, 1 to 50."),
        description="The picks the customer gets in the channel (`me { crmRecommendations }`). "
        "MANAGE_USERS.",
    )

    class Meta:
        interfaces = (relay.Node,)

    @classmethod
    def is_type_of(cls, root, _info):
        return isinstance(root, CustomerProfile)

    @staticmethod
    def resolve_user_id(root, info):
        if root.user_id is None or root.anonymized_at is not None:
            return None
        return info.context.host.user_global_id(root.user_id)

    @staticmethod
    def resolve_email(root, info):
        if not hasattr(root, "crm_email"):
            attach_list_columns([root], info.context.host)
        return root.crm_email

    @staticmethod
    def resolve_name(root, info):
        details = _details(root, info)
        return (details.name or None) if details else None

    @staticmethod
    def resolve_country(root, info):
        return _detail(root, info, "country")

    @staticmethod
    def resolve_country_area(root, info):
        return _detail(root, info, "country_area")

    @staticmethod
    def resolve_city(root, info):
        return _detail(root, info, "city")

    @staticmethod
    def resolve_gender(root, info):
        return _detail(root, info, "gender")

    @staticmethod
    def resolve_age(root, info):
        details = _details(root, info)
        if details is None:
            return None
        today = datetime.now(info.context.host.config().zone).date()
        return age_on(details.birth_date, today)

    @staticmethod
    def resolve_rank(root, _info):
        member = MemberRank.objects.filter(profile=root).first()
        return member.code if member is not None else None

    @staticmethod
    def resolve_membership(root, info):
        return membership_of(info, root)

    @staticmethod
    def resolve_merges(root, info):
        require_permission(info)
        return list(merges_of(root.pk).select_related("absorbed", "survivor"))

    @staticmethod
    def resolve_rank_history(root, info, limit):
        return rank_history(info, root, limit)

    @staticmethod
    def resolve_points(root, _info):
        return points_of(root)

    @staticmethod
    def resolve_is_guest(root, _info):
        return root.user_id is None

    @staticmethod
    def resolve_is_anonymized(root, _info):
        return root.anonymized_at is not None

    @staticmethod
    def resolve_spends(root, _info):
        return list(root.spends.all())

    @staticmethod
    def resolve_scores(root, _info):
        return [spend for spend in root.spends.all() if spend.scored]

    @staticmethod
    def resolve_predictions(root, info):
        require_permission(info)
        return sorted(root.predictions.all(), key=lambda prediction: prediction.currency)

    @staticmethod
    def resolve_last_order_channel(root, _info):
        return (
            OrderRecord.objects.filter(profile=root, counts=True)
            .order_by("-placed_at", "-pk")
            .values_list("channel", flat=True)
            .first()
        )

    @staticmethod
    def resolve_main_channel(root, _info):
        return (
            OrderRecord.objects.filter(profile=root, counts=True)
            .values("channel")
            .annotate(orders=Count("pk"), latest=Max("placed_at"))
            .order_by("-orders", "-latest", "channel")
            .values_list("channel", flat=True)
            .first()
        )

    @staticmethod
    def resolve_recommendations(root, info, channel, first):
        require_permission(info)
        return resolve_recommendations(info, root, channel, first)


class CRMCustomerCountableConnection(relay.Connection):
    total_count = graphene.Int(
        description=(
            "How many customers match, counted up to 10,000: with more, 10,000 and "
            "`totalCountIsExact` false (`crmCustomerCount` counts them all)."
        )
    )
    total_count_is_exact = graphene.Boolean(
        required=True, description="Whether `totalCount` is the exact number of matches."
    )

    class Meta:
        node = CRMCustomer


class CRMMe(graphene.ObjectType):
    """The requester's own CRM data (storefront)."""

    crm_membership = graphene.Field(
        CRMMembership,
        required=True,
        description="The rank, the next one and what it still takes.",
    )
    crm_points = graphene.Field(CRMPoints, required=True, description="Points and their history.")
    crm_subscriptions = graphene.List(
        graphene.NonNull(CRMSubscription),
        required=True,
        description="The customer's subscriptions, newest first.",
    )
    crm_recommendations = graphene.List(
        graphene.NonNull(CRMRecommendation),
        required=True,
        channel=graphene.String(required=True, description="The channel's slug."),
        first=graphene.Int(default_value=5, description="At most this many, 1 to 50."),
        description="Personal picks in the channel, best first: products bought with what the "
        "customer bought (BOUGHT_WITH), and their repeat buys whose usual interval has passed "
        "(TIME_TO_RESTOCK). What they bought in the last year is not offered again unless it "
        "is due; only products the store offers in the channel now.",
    )

    @staticmethod
    def resolve_crm_recommendations(root, info, channel, first):
        return resolve_recommendations(info, own_profile(root), channel, first)

    @staticmethod
    def resolve_crm_subscriptions(root, _info):
        return own_subscriptions(root)

    @staticmethod
    def resolve_crm_membership(root, info):
        return membership_of(info, own_profile(root))

    @staticmethod
    def resolve_crm_points(root, _info):
        return points_of(own_profile(root))

    crm_profile = graphene.Field(
        CRMCustomer, description="Null until the customer has a profile (an order or an account)."
    )

    @staticmethod
    def resolve_crm_profile(root, _info):
        return (
            CustomerProfile.objects.prefetch_related(*LIST_PREFETCH)
            .filter(user_id=root.user_id, anonymized_at__isnull=True)
            .first()
        )

"""The analytics queries: what the hourly and nightly tasks stored, never a model run. Staff's
(MANAGE_USERS), and the storefront's public "also bought"."""

import graphene

from ..core.errors import require_permission
from .resolvers import resolve_also_bought, resolve_overview_figures, resolve_prediction_fits
from .types import CRMOverviewFigures, CRMPredictionFits, CRMRecommendation


class AnalyticsQueries(graphene.ObjectType):
    crm_overview_figures = graphene.Field(
        CRMOverviewFigures,
        required=True,
        description="Outstanding points and subscription figures as the hourly tasks stored "
        "them, with when (MANAGE_USERS). The live ones: crmPointsLiability, "
        "crmSubscriptionFigures.",
    )
    crm_prediction_fits = graphene.List(
        graphene.NonNull(CRMPredictionFits),
        required=True,
        currency=graphene.String(description="One currency (ISO 4217); all when omitted."),
        description="Per currency, the lifetime models' fit in force and the latest attempt, "
        "with their back-tests, as the nightly refit stored them (MANAGE_USERS).",
    )
    crm_also_bought = graphene.List(
        graphene.NonNull(CRMRecommendation),
        required=True,
        product=graphene.ID(required=True, description="The store's ID of the product shown."),
        channel=graphene.String(required=True, description="The channel's slug."),
        first=graphene.Int(default_value=5, description="At most this many, 1 to 50."),
        description="Customers who bought this product also bought (public: no login). From "
        "the channel's stored pairs (bought by one customer within the store's window, which "
        "includes the same basket), best first; only products the store offers in the channel "
        "now, never the product itself. Empty for an unknown product or channel.",
    )

    @staticmethod
    def resolve_crm_also_bought(_root, info, product, channel, first):
        return resolve_also_bought(info, product, channel, first)

    @staticmethod
    def resolve_crm_overview_figures(_root, info):
        require_permission(info)
        return resolve_overview_figures(info)

    @staticmethod
    def resolve_crm_prediction_fits(_root, info, currency=None):
        require_permission(info)
        return resolve_prediction_fits(currency)

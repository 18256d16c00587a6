"""The analytics queries (staff): what the hourly and nightly tasks stored, never a model run."""

import graphene

from ..core.errors import require_permission
from .resolvers import resolve_overview_figures, resolve_prediction_fits
from .types import CRMOverviewFigures, CRMPredictionFits


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

    @staticmethod
    def resolve_crm_overview_figures(_root, info):
        require_permission(info)
        return resolve_overview_figures(info)

    @staticmethod
    def resolve_crm_prediction_fits(_root, info, currency=None):
        require_permission(info)
        return resolve_prediction_fits(currency)

"""The analytics queries (staff): Dashboard's Overview figures as the hourly tasks stored them."""

import graphene

from ..core.errors import require_permission
from .resolvers import resolve_overview_figures
from .types import CRMOverviewFigures


class AnalyticsQueries(graphene.ObjectType):
    crm_overview_figures = graphene.Field(
        CRMOverviewFigures,
        required=True,
        description="Outstanding points and subscription figures as the hourly tasks stored "
        "them, with when (MANAGE_USERS). The live ones: crmPointsLiability, "
        "crmSubscriptionFigures.",
    )

    @staticmethod
    def resolve_crm_overview_figures(_root, info):
        require_permission(info)
        return resolve_overview_figures(info)

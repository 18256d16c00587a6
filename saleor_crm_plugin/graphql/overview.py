"""Dashboard's Overview: the costly aggregates as stored by the hourly tasks (`analytics`)."""

from decimal import Decimal

import graphene
from django.utils import timezone

from ..analytics.figures import stored
from ..subscriptions.figures import ChannelFigures
from .errors import require_permission
from .loyalty import CRMPointsLiability, liability_rows
from .subscriptions import CRMSubscriptionFigures


class CRMOverviewFigures(graphene.ObjectType):
    points_liability = graphene.List(graphene.NonNull(CRMPointsLiability), required=True)
    points_computed_at = graphene.DateTime(required=True)
    subscriptions = graphene.List(
        graphene.NonNull(CRMSubscriptionFigures),
        required=True,
        description="Per channel; cancellations of the last 30 days.",
    )
    subscriptions_computed_at = graphene.DateTime(required=True)


class OverviewQueries(graphene.ObjectType):
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
        now = timezone.now()
        points = stored("points_liability", now)
        subscriptions = stored("subscriptions", now)
        rows = [(r["currency"], r["available"], r["pending"]) for r in points.data]
        return CRMOverviewFigures(
            points_liability=liability_rows(info, rows),
            points_computed_at=points.computed_at,
            subscriptions=[
                ChannelFigures(**{**r, "recurring_revenue": Decimal(r["recurring_revenue"])})
                for r in subscriptions.data
            ],
            subscriptions_computed_at=subscriptions.computed_at,
        )

"""GraphQL types of analytics: the figures the hourly and nightly tasks store."""

import graphene

from ..loyalty.types import CRMPointsLiability
from ..subscriptions.types import CRMSubscriptionFigures


class CRMOverviewFigures(graphene.ObjectType):
    points_liability = graphene.List(graphene.NonNull(CRMPointsLiability), required=True)
    points_computed_at = graphene.DateTime(required=True)
    subscriptions = graphene.List(
        graphene.NonNull(CRMSubscriptionFigures),
        required=True,
        description="Per channel; cancellations of the last 30 days.",
    )
    subscriptions_computed_at = graphene.DateTime(required=True)

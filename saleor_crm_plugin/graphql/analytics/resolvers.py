"""Resolvers of the analytics queries: they read what the tasks stored, never compute a model."""

from decimal import Decimal

from django.utils import timezone

from ...analytics.figures import stored
from ...subscriptions.figures import ChannelFigures
from ..loyalty.resolvers import liability_rows
from .types import CRMOverviewFigures


def resolve_overview_figures(info) -> CRMOverviewFigures:
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

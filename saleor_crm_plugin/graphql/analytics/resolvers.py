"""Resolvers of the analytics queries: they read what the tasks stored, never compute a model."""

from decimal import Decimal

from django.utils import timezone

from ...analytics.figures import stored
from ...analytics.models import PredictionFit
from ...money import validate_currency
from ...subscriptions.figures import ChannelFigures
from ..core.errors import InputError
from ..loyalty.resolvers import liability_rows
from .types import CRMOverviewFigures, CRMPredictionFits


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


def resolve_prediction_fits(currency: str | None) -> list[CRMPredictionFits]:
    """Per currency (or the one asked), the fit in force and the latest attempt."""
    fits = PredictionFit.objects.all()
    if currency is not None:
        try:
            currency = validate_currency(currency)
        except ValueError as error:
            raise InputError("currency", str(error)) from error
        fits = fits.filter(currency=currency)
    result = []
    for code in fits.values_list("currency", flat=True).distinct().order_by("currency"):
        of_currency = fits.filter(currency=code)
        result.append(
            CRMPredictionFits(
                currency=code,
                in_force=of_currency.filter(in_force=True).first(),
                latest=of_currency.order_by("-created_at", "-pk").first(),
            )
        )
    return result

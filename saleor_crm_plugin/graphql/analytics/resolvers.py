"""Resolvers of the analytics queries: they read what the tasks stored, never compute a model."""

from decimal import Decimal

from django.utils import timezone

from ...analytics.figures import stored
from ...analytics.models import PredictionFit
from ...analytics.recommend_services import (
    MAX_FIRST,
    Pick,
    also_bought_for,
    personal_picks_for,
)
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


# --- recommendations --------------------------------------------------------------------

_LONGEST = {"channel": 255, "product": 64}  # as the ledger stores them


def _checked(field: str, value: str) -> str:
    if not value.strip():
        raise InputError(field, "must not be empty")
    if len(value) > _LONGEST[field]:
        raise InputError(field, f"must be at most {_LONGEST[field]} characters")
    return value


def _checked_first(first: int) -> int:
    if not 1 <= first <= MAX_FIRST:
        raise InputError("first", f"must be from 1 to {MAX_FIRST}, not {first}")
    return first


def _offer(info, channel: str):
    """What the store offers in the channel now (the Host): all a pick may name."""
    host = info.context.host
    return lambda product_ids: host.available_products(product_ids, channel)


def resolve_also_bought(info, product: str, channel: str, first: int) -> list[Pick]:
    """ "Customers who bought this also bought" (public): [] for an unknown product or channel."""
    _checked("product", product)
    _checked("channel", channel)
    _checked_first(first)
    return also_bought_for(product, channel, first, available=_offer(info, channel))


def resolve_recommendations(info, profile, channel: str, first: int) -> list[Pick]:
    """The customer's personal picks in the channel ([] without a profile or orders there)."""
    _checked("channel", channel)
    _checked_first(first)
    if profile is None:
        return []
    return personal_picks_for(
        profile.pk, channel, timezone.now(), first, available=_offer(info, channel)
    )

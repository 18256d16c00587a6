"""Aggregates over every customer that take seconds at a million (outstanding points scan the
points lots; subscription figures every subscription), computed by the hourly tasks and stored,
so Dashboard's Overview reads them at once with the time they were computed.

A kind never computed is computed on first read (once; the next hourly task refreshes it).
"""

from datetime import datetime, timedelta

from ..loyalty.services import liability
from ..subscriptions.figures import subscription_figures
from .models import StoredFigures

__all__ = ["KINDS", "refresh", "stored"]

SUBSCRIPTION_PERIOD = timedelta(days=30)  # the Overview's "cancelled in the period"


def _points(now: datetime) -> list:
    from ..host import get_host

    default = get_host().config().loyalty.default_currency
    return [
        {"currency": currency, "available": available, "pending": pending}
        for currency, available, pending in liability(now, default)
    ]


def _subscriptions(now: datetime) -> list:
    return [
        {
            "channel": row.channel,
            "currency": row.currency,
            "active": row.active,
            "paused": row.paused,
            "attention": row.attention,
            "cancelled_in_period": row.cancelled_in_period,
            "recurring_revenue": str(row.recurring_revenue),
            "unpriced_lines": row.unpriced_lines,
        }
        for row in subscription_figures(now - SUBSCRIPTION_PERIOD)
    ]


KINDS = {"points_liability": _points, "subscriptions": _subscriptions}


def refresh(kind: str, now: datetime) -> StoredFigures:
    figures, _ = StoredFigures.objects.update_or_create(
        kind=kind, defaults={"computed_at": now, "data": KINDS[kind](now)}
    )
    return figures


def stored(kind: str, now: datetime) -> StoredFigures:
    """The stored figures of `kind` (computed now if they never were)."""
    return StoredFigures.objects.filter(kind=kind).first() or refresh(kind, now)

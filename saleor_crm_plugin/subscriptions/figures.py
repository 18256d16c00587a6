"""Subscription figures per channel and currency: what staff see in reports and Dashboard."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from ..money import quantize_amount
from .models import Subscription, SubscriptionLine

__all__ = ["ChannelFigures", "subscription_figures"]


@dataclass
class ChannelFigures:
    channel: str
    currency: str
    active: int = 0
    paused: int = 0
    attention: int = 0  # renewals failed after every retry
    cancelled_in_period: int = 0
    # Active subscriptions' recurring lines at their last price, times deliveries per month.
    recurring_revenue: Decimal = Decimal(0)
    unpriced_lines: int = 0  # recurring lines never ordered yet (a swap): not in the revenue

    @property
    def churn_rate(self) -> float:
        base = self.active + self.paused + self.cancelled_in_period
        return self.cancelled_in_period / base if base else 0.0


def subscription_figures(since: datetime) -> list[ChannelFigures]:
    """Figures per (channel, currency); cancellations counted from `since`. Two aggregate
    queries (the counts, the recurring lines), whatever the number of subscriptions."""
    rows: dict[tuple[str, str], ChannelFigures] = {}
    counts = (
        Subscription.objects.exclude(status=Subscription.Status.CANCELLED, cancelled_at__lt=since)
        .values_list("channel", "currency", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for channel, currency, status, n in counts:
        row = rows.setdefault((channel, currency), ChannelFigures(channel, currency))
        if status == Subscription.Status.CANCELLED:
            row.cancelled_in_period += n
        else:
            setattr(row, status, getattr(row, status) + n)
    recurring = (
        SubscriptionLine.objects.filter(
            subscription__status=Subscription.Status.ACTIVE, only_cycle__isnull=True
        )
        .values_list("subscription__channel", "subscription__currency")
        .annotate(
            revenue=Sum(F("unit_price") * F("quantity") * F("subscription__per_month")),
            unpriced=Count("pk", filter=Q(unit_price__isnull=True)),
        )
        .order_by()
    )
    for channel, currency, revenue, unpriced in recurring:
        row = rows.setdefault((channel, currency), ChannelFigures(channel, currency))
        row.recurring_revenue = quantize_amount(Decimal(revenue or 0), currency)
        row.unpriced_lines = unpriced
    return [rows[key] for key in sorted(rows)]

"""Subscription figures per channel and currency: what staff see in reports and Dashboard."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..money import quantize_amount
from .models import Subscription
from .schedule import plan_from_json

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
    """Figures per (channel, currency); cancellations counted from `since`."""
    rows: dict[tuple[str, str], ChannelFigures] = {}
    subscriptions = (
        Subscription.objects.exclude(status=Subscription.Status.CANCELLED, cancelled_at__lt=since)
        .only("channel", "currency", "status", "cancelled_at", "plan")
        .prefetch_related("lines")
        .order_by("pk")
    )
    for subscription in subscriptions.iterator(chunk_size=5_000):
        key = (subscription.channel, subscription.currency)
        row = rows.setdefault(key, ChannelFigures(*key))
        status = subscription.status
        if status == Subscription.Status.CANCELLED:
            row.cancelled_in_period += 1
            continue
        setattr(row, status, getattr(row, status) + 1)
        if status != Subscription.Status.ACTIVE:
            continue
        per_delivery = Decimal(0)
        for line in subscription.lines.all():
            if line.only_cycle is not None:
                continue
            if line.unit_price is None:
                row.unpriced_lines += 1
            else:
                per_delivery += line.unit_price * line.quantity
        row.recurring_revenue += per_delivery * plan_from_json(subscription.plan).interval.per_month
    for row in rows.values():
        row.recurring_revenue = quantize_amount(row.recurring_revenue, row.currency)
    return [rows[key] for key in sorted(rows)]

"""Subscriptions started by paid orders: the storefront puts the chosen interval on the checkout.

Keys (Saleor copies checkout metadata to the order and checkout line metadata to its lines):

- `crm.subscription_interval` on a checkout line, e.g. "30 days": that line repeats;
- the same key on the checkout itself: every line whose variant offers the interval repeats.

When the order is paid in full, its repeating lines start one subscription per interval; the
order itself is the first delivery and the next cycle falls one interval after the day it was
paid (store time). The same paid order seen twice starts nothing more.
"""

import logging
from collections import defaultdict
from datetime import datetime

from ..conf import CRMConfig
from ..customers.models import CustomerProfile
from ..customers.snapshots import OrderSnapshot
from .models import Subscription
from .schedule import Interval, ScheduleError, parse_interval
from .services import NewLine, create_subscription, offers, rules_for

logger = logging.getLogger(__name__)

__all__ = ["start_subscriptions"]


def _groups(host, config: CRMConfig, snapshot: OrderSnapshot) -> dict[Interval, list[NewLine]]:
    """The order's repeating lines by the interval chosen (lines that cannot repeat are left)."""
    groups: dict[Interval, list[NewLine]] = defaultdict(list)
    repeating = [line for line in snapshot.lines if line.subscription or snapshot.subscription]
    keys = [key for line in repeating for key in (line.variant_id, line.sku) if key]
    known = offers(config, host, keys) if keys else {}
    for line in snapshot.lines:
        chosen = line.subscription or snapshot.subscription
        if not chosen:
            continue
        where = f"order {snapshot.number or snapshot.order_id}, line {line.line_id}"
        try:
            interval = parse_interval(chosen)
        except ScheduleError as error:
            logger.warning("CRM subscription not started (%s): %s", where, error.message)
            continue
        offered = known.get(line.variant_id) or known.get(line.sku) or ()
        if interval not in offered:
            if line.subscription:  # chosen for this line: say why it does not repeat
                logger.warning(
                    "CRM subscription not started (%s): %s is not offered for %s",
                    where,
                    interval,
                    line.sku or line.variant_id,
                )
            continue
        groups[interval].append(
            NewLine(
                line.variant_id or line.sku, line.quantity, line.unit_price_gross, line.product_name
            )
        )
    return groups


def start_subscriptions(host, config: CRMConfig, snapshots, now: datetime) -> int:
    """Start the subscriptions these orders ask for; return how many are new.

    Each takes the order's shipping and billing addresses (as Saleor's AddressInput)."""
    started = 0
    for snapshot in snapshots:
        if not snapshot.user_id or snapshot.is_cancelled or not snapshot.is_paid_in_full:
            continue
        groups = _groups(host, config, snapshot)
        if not groups:
            continue
        profile = CustomerProfile.objects.filter(
            user_id=snapshot.user_id, anonymized_at__isnull=True
        ).first()
        if profile is None:
            continue
        shipping, billing = host.order_addresses(snapshot.order_id)
        paid_on = (snapshot.paid_at or snapshot.placed_at).astimezone(config.zone).date()
        for interval, lines in sorted(groups.items(), key=lambda item: str(item[0])):
            source = snapshot.order_id if len(groups) == 1 else f"{snapshot.order_id}:{interval}"
            rules = rules_for(config, [line.variant_id for line in lines], host)
            if Subscription.objects.filter(source_order_id=source).exists():
                continue
            started += 1
            create_subscription(
                profile,
                channel=snapshot.channel,
                currency=snapshot.currency,
                lines=lines,
                interval=interval,
                first_delivery=paid_on,
                actor=f"user:{snapshot.user_id}",
                now=now,
                rules=rules,
                zone=config.zone,
                source_order_id=source,
                first_order_id=snapshot.order_id,
                shipping_address=shipping,
                billing_address=billing,
            )
    return started

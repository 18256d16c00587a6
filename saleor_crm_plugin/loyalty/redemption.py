"""Points into a gift card of the store, in the customer's currency, once per request.

The points are spent and the gift card created in one transaction (the store's tables and the
ledger share the database): either both happen or neither. A repeated request (the same
`request_id`, e.g. a storefront retrying after a timeout) answers with the same gift card.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from ..conf import CRMConfig
from ..customers.models import CustomerProfile
from ..money import validate_currency
from .lots import Balance
from .models import PointsEntry
from .services import PointsError, balance, redeem

__all__ = ["Redeemed", "redeem_for_gift_card"]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Redeemed:
    code: str
    amount: Decimal
    currency: str
    points: int
    balance: Balance


def redeem_for_gift_card(
    config: CRMConfig,
    host,
    profile: CustomerProfile,
    points: int,
    currency: str,
    request_id: str,
    now: datetime,
    actor: str = "",
) -> Redeemed:
    """Spend `points` for a gift card; raise `PointsError` naming the input, writing nothing."""
    loyalty = config.loyalty
    if not loyalty.enabled:
        raise PointsError("points", "the store's points program is off")
    if profile.user_id is None or profile.anonymized_at is not None:
        raise PointsError("customer", "only a registered customer can redeem points")
    if not _REQUEST_ID.match(str(request_id or "")):
        raise PointsError("requestId", "must be 1 to 64 letters, digits, - or _")
    try:
        currency = validate_currency(currency)
    except ValueError as error:
        raise PointsError("currency", str(error)) from None
    rule = loyalty.redemption.get(currency)
    if rule is None:
        offered = ", ".join(sorted(loyalty.redemption)) or "none"
        raise PointsError("currency", f"points are not redeemed in {currency} (offered: {offered})")
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise PointsError("points", f"must be a whole number above 0, not {points!r}")
    if points < rule.min_points:
        raise PointsError("points", f"at least {rule.min_points} points a redemption in {currency}")
    if rule.max_points is not None and points > rule.max_points:
        raise PointsError("points", f"at most {rule.max_points} points a redemption in {currency}")
    amount = rule.amount_for(points)
    key = f"redeem:{profile.user_id}:{request_id}"
    with transaction.atomic():
        done = PointsEntry.objects.filter(key=key).first()
        if done is not None:
            if done.points != -points or done.currency != currency:
                raise PointsError("requestId", "was used for another redemption")
            return Redeemed(done.reference, amount, currency, points, balance(profile.pk, now))
        state = redeem(
            profile.pk,
            points,
            key,
            now,
            reason=f"gift card {amount} {currency}",
            actor=actor,
            allow_negative=loyalty.allow_negative,
        )
        code = host.issue_gift_card(profile.user_id, amount, currency, f"{points} CRM points")
        PointsEntry.objects.filter(key=key).update(currency=currency, reference=code)
    return Redeemed(code, amount, currency, points, state)

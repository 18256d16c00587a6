"""A customer's state on a past date: the ledger read into plain data, replayed
(`history.replay.state_at`) under the rule versions in force then."""

from datetime import datetime

from django.db.models import Min

from ..conf import CRMConfig
from ..customers.models import CustomerProfile, OrderRecord
from ..errors import FieldError
from ..loyalty.models import PointsEntry, RankChange
from ..loyalty.services import entries_of
from ..segments.rules import RuleError, validate_rule
from .replay import RULE_SEGMENT, History, OrderFacts, RankFact, State, state_at
from .versions import versions_until

__all__ = ["StateError", "customer_history", "customer_started_at", "customer_state_at"]


class StateError(FieldError):
    """The date asked for cannot be answered; `field` names the input."""


def customer_history(profile: CustomerProfile, allow_negative: bool = True) -> History:
    """Everything the ledger holds about the customer, as the replay's plain data."""
    orders = tuple(
        OrderFacts(
            order_id=row.order_id,
            number=row.number,
            currency=row.currency,
            status=row.status,
            placed_at=row.placed_at,
            total_gross=row.total_gross_amount,
            paid_amount=row.paid_amount,
            paid_at=row.paid_at,
            refunded_amount=row.refunded_amount,
            refunded_at=row.refunded_at,
            cancelled_at=row.cancelled_at,
        )
        for row in OrderRecord.objects.filter(profile=profile).order_by("placed_at", "pk")
    )
    entry_orders = dict(
        PointsEntry.objects.filter(account__profile=profile).values_list("key", "order_id")
    )
    changes = tuple(
        RankFact(
            at=row.at,
            from_code=row.from_code,
            to_code=row.to_code,
            reason=row.reason,
            rule_version=row.rule_version,
            order_ids=tuple(row.order_ids or ()),
            actor=row.actor,
        )
        for row in RankChange.objects.filter(profile=profile).order_by("at", "pk")
    )
    return History(
        registered=profile.user_id is not None,
        orders=orders,
        entries=tuple(entries_of(profile.pk)),
        entry_orders=entry_orders,
        rank_changes=changes,
        allow_negative=allow_negative,
    )


def customer_started_at(profile: CustomerProfile) -> datetime:
    """The first moment the CRM knows anything of the customer: joining, their first order,
    points or rank (or the profile's creation, when it knows none of those)."""
    moments = [
        profile.joined_at,
        profile.created_at,
        OrderRecord.objects.filter(profile=profile).aggregate(at=Min("placed_at"))["at"],
        PointsEntry.objects.filter(account__profile=profile).aggregate(at=Min("at"))["at"],
        RankChange.objects.filter(profile=profile).aggregate(at=Min("at"))["at"],
    ]
    return min(moment for moment in moments if moment is not None)


def _rules(versions, config: CRMConfig, at: datetime) -> dict:
    """The validated rule in force at `at` of every rule segment (a rule that no longer
    validates, e.g. naming a segment the map dropped, is left out)."""
    rules = {}
    for key in versions.keys(RULE_SEGMENT):
        version = versions.in_force(RULE_SEGMENT, key, at)
        if version is None or version.content is None:
            continue
        try:
            rules[key] = validate_rule(version.content["rule"], config.segment_names)
        except RuleError:
            continue
    return rules


def customer_state_at(
    profile: CustomerProfile, at: datetime, config: CRMConfig, now: datetime
) -> State:
    """The customer's rank, points, order figures and segments at `at`, and why.

    Raises `StateError` naming `at` for a date without a time zone, in the future (after
    `now`) or before the CRM knew the customer.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise StateError("at", "needs a time zone (e.g. 2026-03-31T23:59:59+09:00)")
    if at > now:
        raise StateError("at", f"{at.isoformat()} is in the future; ask for a past moment")
    started = customer_started_at(profile)
    if at < started:
        raise StateError(
            "at",
            f"{at.isoformat()} is before the customer existed in the CRM "
            f"(first known {started.isoformat()})",
        )
    versions = versions_until(at)
    return state_at(
        customer_history(profile, config.loyalty.allow_negative),
        versions,
        at,
        config.zone,
        rules=_rules(versions, config, at),
        segments=config.segment_map,
    )

"""Resolvers of the loyalty queries, and the figures other domains' types show."""

from django.utils import timezone

from ...audit.services import attach_staff, trail
from ...conf import ConfigError
from ...customers.models import CustomerProfile
from ...loyalty.membership import draft_settings, membership, preview_ladder, rank_counts
from ...loyalty.models import RankChange
from ...loyalty.services import PointsError, balance, liability
from ..core.customers import customer_by_id
from ..core.errors import InputError, require_permission
from ..core.pagination import attach_emails, connection_from_queryset
from ..core.types import money
from .types import (
    CRMAuditEventConnection,
    CRMPointsLiability,
    CRMRankCount,
    CRMRankMove,
)
from .utils import SETTING_ARGUMENTS


def rank_history(info, profile, limit: int) -> list:
    """The customer's rank changes, newest first (staff only)."""
    require_permission(info)
    if not 1 <= limit <= 1000:
        raise InputError("limit", f"must be between 1 and 1000, not {limit}")
    return list(RankChange.objects.filter(profile=profile).order_by("-at", "-pk")[:limit])


def points_of(profile: CustomerProfile | None) -> dict:
    now = timezone.now()
    profile_id = profile.pk if profile is not None else None
    return {"profile_id": profile_id, "now": now, "state": balance(profile_id, now)}


def membership_of(info, profile: CustomerProfile | None):
    return membership(info.context.host.config(), profile, timezone.now())


def liability_rows(info, rows) -> list[CRMPointsLiability]:
    """(currency, available, pending) rows with their gift card value."""
    redemption = info.context.host.config().loyalty.redemption
    result = []
    for currency, available, pending in rows:
        rule = redemption.get(currency)
        value = money(rule.amount_for(available + pending), currency) if rule else None
        result.append(
            CRMPointsLiability(
                currency=currency or None, available=available, pending=pending, value=value
            )
        )
    return result


def resolve_audit_trail(info, customer_id, actions, args):
    profile_id = None
    if customer_id is not None:
        try:
            profile_id = customer_by_id(customer_id).pk
        except PointsError as error:
            raise InputError("customerId", error.message) from error
    events = trail(profile_id=profile_id, actions=actions).select_related("profile")
    return connection_from_queryset(
        events,
        args,
        CRMAuditEventConnection,
        prepare_page=lambda page: _attach_names(page, info.context.host),
    )


def resolve_rank_distribution(info) -> list[CRMRankCount]:
    counts = rank_counts()
    ladder = info.context.host.config().loyalty.ladder.ranks
    known = {rank.code for rank in ladder}
    rows = [CRMRankCount(code=r.code, name=r.name, customers=counts.get(r.code, 0)) for r in ladder]
    rows += [  # ranks held under an older table
        CRMRankCount(code=code, name=code, customers=n)
        for code, n in sorted(counts.items())
        if code not in known
    ]
    return rows


def resolve_points_liability(info) -> list[CRMPointsLiability]:
    default = info.context.host.config().loyalty.default_currency
    return liability_rows(info, liability(timezone.now(), default))


def resolve_rank_preview(info, ranks, window, inactive_months) -> list[CRMRankMove]:
    config = info.context.host.config()
    try:
        _, ladder = draft_settings(config, ranks, window, inactive_months)
    except ConfigError as error:
        raise InputError(SETTING_ARGUMENTS[error.field], error.message) from error
    return [
        CRMRankMove(
            code=move.code,
            name=move.name,
            customers_now=move.now,
            customers_draft=move.draft,
            moving_up=move.up,
            moving_down=move.down,
        )
        for move in preview_ladder(config, ladder, timezone.now())
    ]


def _attach_names(page, host) -> None:
    """A page of audit events: the customers' emails and the staff members, a query each."""
    attach_emails(page, host)
    attach_staff(page, host)

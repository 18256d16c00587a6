"""Enums of subscriptions."""

import graphene

_CODES = (
    "invalid",
    "required",
    "not_found",
    "not_allowed",
    "unchanged",
    "in_past",
    "out_of_bounds",
    "past_cutoff",
    "already_ordered",
    "already_skipped",
    "not_skipped",
    "already_paused",
    "not_paused",
    "cancelled",
    "minimum_deliveries",
    "not_failed",
    "renewal_failed",
)
CRMSubscriptionErrorCode = graphene.Enum(
    "CRMSubscriptionErrorCode", [(code.upper(), code) for code in _CODES]
)

"""Enums of ranks, points and the audit trail."""

import graphene

from ...audit.models import AuditEvent


class CRMPointsKind(graphene.Enum):
    EARN = "earn"
    ADJUST = "adjust"
    REDEEM = "redeem"
    REVERSE = "reverse"
    EXPIRE = "expire"
    RELEASE = "release"


class CRMAuditAction(graphene.Enum):
    POINTS_ADJUSTED = AuditEvent.POINTS_ADJUSTED
    RANK_PINNED = AuditEvent.RANK_PINNED
    RANK_UNPINNED = AuditEvent.RANK_UNPINNED
    RANK_TABLE_SAVED = AuditEvent.RANK_TABLE_SAVED
    PAID_POINTS_ISSUED = AuditEvent.PAID_POINTS_ISSUED
    CUSTOMERS_MERGED = AuditEvent.CUSTOMERS_MERGED
    CUSTOMERS_UNMERGED = AuditEvent.CUSTOMERS_UNMERGED
    CUSTOMER_VIEWED = AuditEvent.CUSTOMER_VIEWED
    CUSTOMER_DATA_EXPORTED = AuditEvent.CUSTOMER_DATA_EXPORTED
    GUEST_ERASED = AuditEvent.GUEST_ERASED
    IMPORTED = AuditEvent.IMPORTED
    FREE_POINTS_COMPUTE_REQUESTED = AuditEvent.FREE_POINTS_COMPUTE_REQUESTED


class CRMLoyaltyErrorCode(graphene.Enum):
    INVALID = "invalid"
    INSUFFICIENT_POINTS = "insufficient_points"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"

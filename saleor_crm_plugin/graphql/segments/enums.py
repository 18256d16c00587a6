"""Enums of segments."""

import graphene


class CRMSegmentErrorCode(graphene.Enum):
    INVALID = "invalid"
    REQUIRED = "required"
    UNIQUE = "unique"

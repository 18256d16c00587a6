"""Import every domain model so Django registers them under the `saleor_crm` label."""

from .customers.models import (
    BackfillCheckpoint,
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from .loyalty.models import MemberRank, PointsAccount, PointsEntry, PointsLot, RankChange
from .segments.models import RuleSegment, ScoreCutPoints, SegmentSize

__all__ = [
    "BackfillCheckpoint",
    "CustomerProfile",
    "CustomerSpend",
    "MemberRank",
    "OrderLineRecord",
    "OrderRecord",
    "PointsAccount",
    "PointsEntry",
    "PointsLot",
    "RankChange",
    "RuleSegment",
    "ScoreCutPoints",
    "SegmentSize",
]

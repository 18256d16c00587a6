"""Import every domain model so Django registers them under the `saleor_crm` label."""

from .analytics.models import (
    BasketPair,
    BasketRun,
    CustomerPrediction,
    PredictionFit,
    StoredFigures,
)
from .audit.models import AuditEvent
from .customers.models import (
    BackfillCheckpoint,
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from .intake.models import PendingChange
from .loyalty.models import MemberRank, PointsAccount, PointsEntry, PointsLot, RankChange
from .segments.models import RuleSegment, ScoreCutPoints, SegmentSize
from .subscriptions.models import Cycle, Subscription, SubscriptionEvent, SubscriptionLine

__all__ = [
    "AuditEvent",
    "BackfillCheckpoint",
    "BasketPair",
    "BasketRun",
    "CustomerPrediction",
    "CustomerProfile",
    "CustomerSpend",
    "Cycle",
    "MemberRank",
    "OrderLineRecord",
    "OrderRecord",
    "PendingChange",
    "PointsAccount",
    "PointsEntry",
    "PointsLot",
    "PredictionFit",
    "RankChange",
    "RuleSegment",
    "ScoreCutPoints",
    "SegmentSize",
    "StoredFigures",
    "Subscription",
    "SubscriptionEvent",
    "SubscriptionLine",
]

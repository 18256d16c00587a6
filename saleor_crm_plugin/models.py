"""Import every domain model so Django registers them under the `saleor_crm` label."""

from .analytics.models import (
    BasketPair,
    BasketRun,
    CohortRow,
    CustomerPrediction,
    F2Row,
    LtvRow,
    PredictionFit,
    ProductRepeatRow,
    ReportRun,
    StoredFigures,
)
from .audit.models import AuditEvent
from .campaigns.insert_models import InsertDecision, OrderInsert
from .campaigns.models import (
    CampaignFlow,
    CampaignSend,
    FlowEntry,
    MessageTemplate,
    SegmentWatch,
    Unsubscribe,
)
from .campaigns.webhooks import WebhookDelivery
from .customers.merge_models import DuplicateCandidate, ProfileMerge
from .customers.models import (
    BackfillCheckpoint,
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from .history.models import RuleVersion
from .imports.models import ImportRun
from .intake.models import PendingChange
from .loyalty.models import (
    FreePointsChunk,
    FreePointsMonth,
    FreePointsRun,
    MemberRank,
    PointsAccount,
    PointsEntry,
    PointsLot,
    RankChange,
)
from .segments.models import RuleSegment, ScoreCutPoints, SegmentSize
from .subscriptions.models import Cycle, Subscription, SubscriptionEvent, SubscriptionLine

__all__ = [
    "AuditEvent",
    "BackfillCheckpoint",
    "BasketPair",
    "BasketRun",
    "CampaignFlow",
    "CampaignSend",
    "CohortRow",
    "CustomerPrediction",
    "CustomerProfile",
    "CustomerSpend",
    "Cycle",
    "DuplicateCandidate",
    "F2Row",
    "FlowEntry",
    "FreePointsChunk",
    "FreePointsMonth",
    "FreePointsRun",
    "ImportRun",
    "InsertDecision",
    "LtvRow",
    "MemberRank",
    "MessageTemplate",
    "OrderInsert",
    "OrderLineRecord",
    "OrderRecord",
    "PendingChange",
    "PointsAccount",
    "PointsEntry",
    "PointsLot",
    "PredictionFit",
    "ProductRepeatRow",
    "ProfileMerge",
    "RankChange",
    "ReportRun",
    "RuleSegment",
    "RuleVersion",
    "ScoreCutPoints",
    "SegmentSize",
    "SegmentWatch",
    "StoredFigures",
    "Subscription",
    "SubscriptionEvent",
    "SubscriptionLine",
    "Unsubscribe",
    "WebhookDelivery",
]

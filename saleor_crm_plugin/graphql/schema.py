"""Our own graphene 2 schema: storefront fields under `me`, staff fields guarded by permissions.

Each domain package (Saleor's layout) holds its types, queries (`schema.py`) and mutations;
this module only assembles the root types. The order of the bases is the order of the fields
in the SDL (graphene collects them from the last base to the first).
"""

import graphene

from .analytics.schema import AnalyticsQueries
from .campaigns.schema import CampaignMutations, CampaignQueries
from .core.types import Money
from .customers.mutations import CustomerMutations
from .customers.schema import CustomerQueries
from .customers.types import CRMCustomer, CRMScore, CRMSpend
from .history.schema import HistoryQueries
from .imports.schema import ImportMutations, ImportQueries
from .inserts.schema import InsertQueries
from .loyalty.schema import LoyaltyMutations, LoyaltyQueries
from .merges.schema import MergeMutations, MergeQueries
from .segments.schema import RfmQueries, SegmentMutations, SegmentQueries
from .subscriptions.schema import SubscriptionMutations, SubscriptionQueries


class Query(
    RfmQueries,
    CustomerQueries,
    HistoryQueries,
    SegmentQueries,
    LoyaltyQueries,
    SubscriptionQueries,
    AnalyticsQueries,
    CampaignQueries,
    InsertQueries,
    MergeQueries,
    ImportQueries,
    graphene.ObjectType,
):
    pass


class Mutation(
    CustomerMutations,
    SegmentMutations,
    LoyaltyMutations,
    SubscriptionMutations,
    CampaignMutations,
    MergeMutations,
    ImportMutations,
    graphene.ObjectType,
):
    pass


schema = graphene.Schema(
    query=Query, mutation=Mutation, types=[CRMCustomer, CRMSpend, CRMScore, Money]
)

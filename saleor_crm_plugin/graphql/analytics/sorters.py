"""The sort order of `crmProductRepeat` (read by `analytics.report_services.product_repeat_rows`)."""

import graphene

from ..core.enums import OrderDirection

__all__ = ["REPEAT_SORTS", "CRMProductRepeatSortField", "CRMProductRepeatSortingInput"]


class CRMProductRepeatSortField(graphene.Enum):
    REPEAT_RATE = "REPEAT_RATE"
    BUYERS = "BUYERS"
    REPEAT_BUYERS = "REPEAT_BUYERS"
    SHARE_30 = "SHARE_30"
    SHARE_60 = "SHARE_60"
    SHARE_90 = "SHARE_90"
    SHARE_180 = "SHARE_180"
    MEDIAN_DAYS_TO_SECOND = "MEDIAN_DAYS_TO_SECOND"
    REPEAT_INTERVAL_DAYS = "REPEAT_INTERVAL_DAYS"
    NAME = "NAME"


class CRMProductRepeatSortingInput(graphene.InputObjectType):
    field = graphene.Field(CRMProductRepeatSortField, required=True)
    direction = graphene.Field(OrderDirection, required=True)


# GraphQL sort field -> the stored column `product_repeat_rows` sorts by.
REPEAT_SORTS = {name: name.lower() for name in CRMProductRepeatSortField._meta.enum.__members__}

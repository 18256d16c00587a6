"""Enums of the analytics queries, each with the read function's value it stands for."""

import graphene

__all__ = [
    "BASKET_KINDS",
    "BASKET_SORTS",
    "F2_BY",
    "LTV_BY",
    "REPEAT_LEVELS",
    "CRMBasketKind",
    "CRMBasketPairSort",
    "CRMF2By",
    "CRMLtvBy",
    "CRMRepeatLevel",
]


class CRMRepeatLevel(graphene.Enum):
    PRODUCT = "PRODUCT"
    VARIANT = "VARIANT"
    CATEGORY = "CATEGORY"


class CRMF2By(graphene.Enum):
    ALL = "ALL"
    SUBSCRIPTION_START = "SUBSCRIPTION_START"
    FIRST_PRODUCT = "FIRST_PRODUCT"


class CRMLtvBy(graphene.Enum):
    SEGMENT = "SEGMENT"
    RANK = "RANK"
    FIRST_PRODUCT = "FIRST_PRODUCT"


class CRMBasketKind(graphene.Enum):
    ORDER = "ORDER"
    CUSTOMER = "CUSTOMER"

    @property
    def description(self):
        if self == CRMBasketKind.ORDER:
            return "Bought in the same order."
        return "Bought by the same customer within the run's window of days, in either order."


class CRMBasketPairSort(graphene.Enum):
    LIFT = "LIFT"
    SUPPORT = "SUPPORT"
    CONFIDENCE = "CONFIDENCE"
    TOGETHER = "TOGETHER"

    @property
    def description(self):
        if self == CRMBasketPairSort.CONFIDENCE:
            return "The stronger of the two directions."
        return None


# GraphQL value -> the read functions' (`analytics.report_services`, `basket_services`) value.
REPEAT_LEVELS = {"PRODUCT": "product", "VARIANT": "variant", "CATEGORY": "category"}
F2_BY = {"ALL": "all", "SUBSCRIPTION_START": "subscription", "FIRST_PRODUCT": "product"}
LTV_BY = {"SEGMENT": "segment", "RANK": "rank", "FIRST_PRODUCT": "first_product"}
BASKET_KINDS = {"ORDER": "order", "CUSTOMER": "customer"}
BASKET_SORTS = {
    "LIFT": "lift",
    "SUPPORT": "support",
    "CONFIDENCE": "confidence",
    "TOGETHER": "together",
}

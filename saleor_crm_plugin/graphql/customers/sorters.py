"""The sort order of `crmCustomers` (read by `customers.search.search_profiles`)."""

import graphene

from ..core.enums import OrderDirection


class CRMCustomerSortField(graphene.Enum):
    ORDER_COUNT = "ORDER_COUNT"
    TOTAL_SPENT = "TOTAL_SPENT"
    FIRST_ORDER_AT = "FIRST_ORDER_AT"
    LAST_ORDER_AT = "LAST_ORDER_AT"
    JOINED_AT = "JOINED_AT"
    CREATED_AT = "CREATED_AT"
    AVERAGE_ORDER = "AVERAGE_ORDER"
    SEGMENT = "SEGMENT"
    NAME = "NAME"
    COUNTRY = "COUNTRY"
    COUNTRY_AREA = "COUNTRY_AREA"
    CITY = "CITY"
    AGE = "AGE"
    GENDER = "GENDER"
    P_ALIVE = "P_ALIVE"
    PREDICTED_CLV = "PREDICTED_CLV"


class CRMCustomerSortingInput(graphene.InputObjectType):
    field = graphene.Field(CRMCustomerSortField, required=True)
    direction = graphene.Field(OrderDirection, required=True)
    currency = graphene.String(
        description="Required when sorting by TOTAL_SPENT, AVERAGE_ORDER, SEGMENT, P_ALIVE or "
        "PREDICTED_CLV."
    )

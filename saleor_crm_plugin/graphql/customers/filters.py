"""The filter of `crmCustomers` (read by `customers.search.customer_filter_from`)."""

import graphene

from ..core.scalars import JSONString
from ..core.types import DateTimeRangeInput, IntRangeInput


class MoneyRangeInput(graphene.InputObjectType):
    currency = graphene.String(required=True, description="Spend is kept per currency.")
    gte = graphene.Decimal()
    lte = graphene.Decimal()


class CRMRfmFilterInput(graphene.InputObjectType):
    group = graphene.String(required=True, description="The currency the scores belong to.")
    segments = graphene.List(graphene.NonNull(graphene.String), description="Named segments.")
    r = graphene.Field(IntRangeInput)
    f = graphene.Field(IntRangeInput)
    m = graphene.Field(IntRangeInput)


class CRMCustomerFilterInput(graphene.InputObjectType):
    email = graphene.String(description="The whole address, case-insensitive.")
    is_guest = graphene.Boolean()
    number_of_orders = graphene.Field(IntRangeInput)
    total_spent = graphene.Field(MoneyRangeInput)
    first_order_at = graphene.Field(DateTimeRangeInput)
    last_order_at = graphene.Field(DateTimeRangeInput)
    rfm = graphene.Field(CRMRfmFilterInput, description="RFM scores and segments.")
    search = graphene.String(description="Part of an email or name (at least 2 characters).")
    rule = JSONString(
        description="A rule tree as rule segments take it (all / any / not / condition)."
    )
    segment = graphene.String(description="Members of a built-in or saved segment, by name.")

"""Our own graphene 2 schema: storefront fields under `me`, staff fields guarded by permissions."""

import graphene
from graphene import relay

from ..customers.search import (
    SearchError,
    attach_list_columns,
    customer_filter_from,
    search_profiles,
)
from ..errors import FieldError
from .errors import InputError, require_customer, require_permission
from .loyalty import LoyaltyMutations, LoyaltyQueries, customer_by_id
from .overview import OverviewQueries
from .pagination import connection_from_queryset
from .rfm import CRMRfmGroup, rfm_groups
from .segments import SegmentMutations, SegmentQueries
from .subscriptions import (
    StaffSubscriptionMutations,
    SubscriptionMutations,
    SubscriptionQueries,
)
from .types import (
    CRMCustomer,
    CRMCustomerCountableConnection,
    CRMMe,
    CRMScore,
    CRMSpend,
    JSONString,
    Money,
)


class IntRangeInput(graphene.InputObjectType):
    gte = graphene.Int(description="Greater than or equal to.")
    lte = graphene.Int(description="Less than or equal to.")


class DateTimeRangeInput(graphene.InputObjectType):
    gte = graphene.DateTime(description="At or after (with a time zone).")
    lte = graphene.DateTime(description="At or before (with a time zone).")


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


class OrderDirection(graphene.Enum):
    ASC = "ASC"
    DESC = "DESC"


class CRMCustomerSortingInput(graphene.InputObjectType):
    field = graphene.Field(CRMCustomerSortField, required=True)
    direction = graphene.Field(OrderDirection, required=True)
    currency = graphene.String(
        description="Required when sorting by TOTAL_SPENT, AVERAGE_ORDER or SEGMENT."
    )


def _graphql_field(field: str) -> str:
    return field if field.startswith("sortBy") else f"filter.{field}"


class Query(
    SegmentQueries, LoyaltyQueries, SubscriptionQueries, OverviewQueries, graphene.ObjectType
):
    me = graphene.Field(CRMMe, description="The requester's own CRM data.")
    crm_customers = relay.ConnectionField(
        CRMCustomerCountableConnection,
        filter=CRMCustomerFilterInput(),
        sort_by=CRMCustomerSortingInput(),
        description="Customers with their order history figures. Requires MANAGE_USERS.",
    )

    crm_customer = graphene.Field(
        CRMCustomer,
        id=graphene.ID(required=True, description="Saleor's User ID or our CRMCustomer ID."),
        description="One customer, with rank, points and their history. Requires MANAGE_USERS.",
    )

    crm_rfm = graphene.List(
        graphene.NonNull(CRMRfmGroup),
        required=True,
        group=graphene.String(description="One currency; all when omitted."),
        description="The RFM picture of each currency at its last recompute. Requires MANAGE_USERS.",
    )

    @staticmethod
    def resolve_crm_rfm(_root, info, group=None):
        require_permission(info)
        return rfm_groups(info.context.host.config().segment_names, group)

    @staticmethod
    def resolve_crm_customer(_root, info, id):
        require_permission(info)
        try:
            return customer_by_id(id)
        except FieldError as error:
            raise InputError("id", error.message) from error

    @staticmethod
    def resolve_me(_root, info):
        return require_customer(info)

    @staticmethod
    def resolve_crm_customers(_root, info, **args):
        require_permission(info)
        sort_by = args.get("sort_by") or {}
        try:
            queryset = search_profiles(
                customer_filter_from(args.get("filter")),
                sort_field=sort_by.get("field", "CREATED_AT"),
                descending=sort_by.get("direction") == "DESC",
                sort_currency=sort_by.get("currency"),
                host=info.context.host,
            )
        except SearchError as error:
            raise InputError(_graphql_field(error.field), error.message) from error
        host = info.context.host
        return connection_from_queryset(
            queryset,
            args,
            CRMCustomerCountableConnection,
            prepare_page=lambda page: attach_list_columns(page, host),
        )


class Mutation(
    SegmentMutations,
    LoyaltyMutations,
    SubscriptionMutations,
    StaffSubscriptionMutations,
    graphene.ObjectType,
):
    pass


schema = graphene.Schema(
    query=Query, mutation=Mutation, types=[CRMCustomer, CRMSpend, CRMScore, Money]
)

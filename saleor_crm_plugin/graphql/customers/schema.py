"""The customer queries: the requester's own data (`me`), and staff's list and 360° view."""

import graphene
from graphene import relay

from ..core.errors import require_customer, require_permission
from .filters import CRMCustomerFilterInput
from .resolvers import record_view, resolve_customer, resolve_customer_count, resolve_customers
from .sorters import CRMCustomerSortingInput
from .types import CRMCustomer, CRMCustomerCountableConnection, CRMMe


class CustomerQueries(graphene.ObjectType):
    me = graphene.Field(CRMMe, description="The requester's own CRM data.")
    crm_customers = relay.ConnectionField(
        CRMCustomerCountableConnection,
        filter=CRMCustomerFilterInput(),
        sort_by=CRMCustomerSortingInput(),
        description="Customers with their order history figures. Requires MANAGE_USERS.",
    )
    crm_customer_count = graphene.Int(
        filter=CRMCustomerFilterInput(),
        description=(
            "How many customers the filter (as `crmCustomers` takes it) selects, counted "
            "exactly: what `totalCount` stops counting at 10,000. Requires MANAGE_USERS."
        ),
    )

    crm_customer = graphene.Field(
        CRMCustomer,
        id=graphene.ID(required=True, description="Saleor's User ID or our CRMCustomer ID."),
        description="One customer, with rank, points and their history. Requires MANAGE_USERS; "
        "each read is written to the audit trail (once a request).",
    )

    @staticmethod
    def resolve_crm_customer(_root, info, id):
        requester = require_permission(info)
        profile = resolve_customer(id)
        record_view(info.context, requester, profile)
        return profile

    @staticmethod
    def resolve_me(_root, info):
        return require_customer(info)

    @staticmethod
    def resolve_crm_customer_count(_root, info, filter=None):
        require_permission(info)
        return resolve_customer_count(info, filter)

    @staticmethod
    def resolve_crm_customers(_root, info, **args):
        require_permission(info)
        return resolve_customers(info, args)

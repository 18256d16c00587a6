"""The customer mutations: the data-subject export."""

import graphene
from django.utils import timezone

from ...errors import FieldError
from ...privacy.export import export_customer_data
from ..core.customers import customer_by_id
from ..core.errors import require_permission
from ..core.scalars import JSONString


class CRMCustomerErrorCode(graphene.Enum):
    NOT_FOUND = "not_found"


class CRMCustomerError(graphene.ObjectType):
    field = graphene.String()
    message = graphene.String(required=True)
    code = graphene.Field(CRMCustomerErrorCode, required=True)


class CRMCustomerDataExport(graphene.Mutation):
    """Everything the CRM holds about one customer, and the personal data the store holds of
    them, as JSON (a data-subject request under APPI / GDPR). Requires MANAGE_USERS; each
    export is written to the audit trail."""

    data = JSONString(
        description="The export: `customer`, `store` (the account and the orders' emails and "
        "addresses), `orders` with `lines`, `spend`, `predictions`, `rule_segments`, `rank`, "
        "`rank_history`, `points` (account, entries, lots), `subscriptions` (with lines, "
        "cycles, events), `campaigns` (entries, sends, unsubscribes, webhook deliveries), "
        "`package_inserts` and `audit`."
    )
    errors = graphene.List(graphene.NonNull(CRMCustomerError), required=True)

    class Arguments:
        customer_id = graphene.ID(required=True, description="CRMCustomer ID or Saleor User ID.")

    @staticmethod
    def mutate(_root, info, customer_id):
        requester = require_permission(info)
        host = info.context.host
        try:
            profile = customer_by_id(customer_id)
        except FieldError as error:
            return CRMCustomerDataExport(
                data=None,
                errors=[
                    CRMCustomerError(field="customerId", message=error.message, code="not_found")
                ],
            )
        data = export_customer_data(
            profile, host.config(), host, requester.actor, timezone.now(), "json"
        )
        return CRMCustomerDataExport(data=data, errors=[])


class CustomerMutations(graphene.ObjectType):
    crm_customer_data_export = CRMCustomerDataExport.Field()

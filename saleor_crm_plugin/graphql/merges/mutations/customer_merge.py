import graphene

from ....customers.merges import MergeError, merge_profiles
from ....metadata import sync_customer_metadata
from ...core.errors import require_permission
from ..types import CRMDuplicateEvidence, CRMMergeError, CRMMergeRecord
from ..utils import merge_errors, profile_argument


class CRMCustomerMerge(graphene.Mutation):
    """Merge a customer's CRM ledger into another profile of the same person (MANAGE_USERS).

    Staff-confirmed only; the store's own accounts are left as they are. Undo it with
    `crmCustomerUnmerge`.
    """

    merge = graphene.Field(CRMMergeRecord)
    errors = graphene.List(graphene.NonNull(CRMMergeError), required=True)

    class Arguments:
        customer_id = graphene.ID(
            required=True, description="The profile taken in (CRMCustomer or User ID)."
        )
        into_customer_id = graphene.ID(
            required=True, description="The profile that stays (CRMCustomer or User ID)."
        )
        reason = graphene.String(default_value="")
        evidence = graphene.List(
            graphene.NonNull(CRMDuplicateEvidence),
            description="The keys that matched, when merging a candidate pair.",
        )

    @staticmethod
    def mutate(_root, info, customer_id, into_customer_id, reason="", evidence=None):
        requester = require_permission(info)
        host = info.context.host
        try:
            absorbed = profile_argument(customer_id, "customerId")
            survivor = profile_argument(into_customer_id, "intoCustomerId")
            merge = merge_profiles(
                host.config(),
                absorbed.pk,
                survivor.pk,
                requester.actor,
                reason=reason,
                evidence=[getattr(kind, "value", kind) for kind in evidence or []],
            )
        except MergeError as error:
            return CRMCustomerMerge(merge=None, errors=merge_errors(error))
        sync_customer_metadata(host, [absorbed.pk, survivor.pk])
        return CRMCustomerMerge(merge=merge, errors=[])

import graphene

from ....customers.merges import MergeError, unmerge_profiles
from ....metadata import sync_customer_metadata
from ...core.errors import decode_id, require_permission
from ..types import CRMMergeError, CRMMergeRecord
from ..utils import merge_errors


class CRMCustomerUnmerge(graphene.Mutation):
    """Undo a merge exactly: each profile gets back its own ledger, including what happened
    to the absorbed customer while merged (MANAGE_USERS)."""

    merge = graphene.Field(CRMMergeRecord)
    errors = graphene.List(graphene.NonNull(CRMMergeError), required=True)

    class Arguments:
        merge_id = graphene.ID(required=True, description="The CRMMergeRecord ID.")

    @staticmethod
    def mutate(_root, info, merge_id):
        requester = require_permission(info)
        host = info.context.host
        kind, pk = decode_id(merge_id)
        try:
            if kind != "CRMMergeRecord" or not pk.isdigit():
                raise MergeError("mergeId", f"'{merge_id}' is not a merge ID")
            merge = unmerge_profiles(host.config(), int(pk), requester.actor)
        except MergeError as error:
            return CRMCustomerUnmerge(merge=None, errors=merge_errors(error))
        sync_customer_metadata(host, [merge.absorbed_id, merge.survivor_id])
        return CRMCustomerUnmerge(merge=merge, errors=[])

import graphene

from ....segments.rule_services import SegmentError, delete_segment
from ...core.errors import require_permission
from ..types import CRMSegmentError
from ..utils import saved_segment, segment_errors


class CRMSegmentDelete(graphene.Mutation):
    """Delete a saved segment and its size history (staff with MANAGE_USERS)."""

    deleted_id = graphene.ID()
    errors = graphene.List(graphene.NonNull(CRMSegmentError), required=True)

    class Arguments:
        id = graphene.ID(required=True)

    @staticmethod
    def mutate(_root, info, id):
        require_permission(info)
        try:
            segment = saved_segment(id)
        except SegmentError as error:
            return CRMSegmentDelete(deleted_id=None, errors=segment_errors(error))
        delete_segment(segment)
        return CRMSegmentDelete(deleted_id=id, errors=[])

import graphene

from ....segments.rule_services import SegmentError, save_segment
from ....segments.rules import RuleError
from ...core.errors import require_permission
from ..types import CRMSegment, CRMSegmentError
from ..utils import saved_segment, segment_errors
from .segment_create import CRMSegmentInput


class CRMSegmentUpdate(graphene.Mutation):
    """Rename a saved segment or change its rule (staff with MANAGE_USERS); recounts it."""

    segment = graphene.Field(CRMSegment)
    errors = graphene.List(graphene.NonNull(CRMSegmentError), required=True)

    class Arguments:
        id = graphene.ID(required=True)
        input = CRMSegmentInput(required=True)

    @staticmethod
    def mutate(_root, info, id, input):
        require_permission(info)
        config = info.context.host.config()
        try:
            segment = save_segment(input["name"], input["rule"], config, saved_segment(id))
        except (RuleError, SegmentError) as error:
            return CRMSegmentUpdate(segment=None, errors=segment_errors(error))
        return CRMSegmentUpdate(segment=segment, errors=[])

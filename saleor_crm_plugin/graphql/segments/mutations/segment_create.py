import graphene

from ....segments.rule_services import SegmentError, save_segment
from ....segments.rules import RuleError
from ...core.errors import require_permission
from ...core.scalars import JSONString
from ..types import CRMSegment, CRMSegmentError
from ..utils import segment_errors


class CRMSegmentInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    rule = JSONString(required=True, description="all / any / not / condition tree.")


class CRMSegmentCreate(graphene.Mutation):
    """Save a rule segment after validating it (staff with MANAGE_USERS)."""

    segment = graphene.Field(CRMSegment)
    errors = graphene.List(graphene.NonNull(CRMSegmentError), required=True)

    class Arguments:
        input = CRMSegmentInput(required=True)

    @staticmethod
    def mutate(_root, info, input):
        require_permission(info)
        config = info.context.host.config()
        try:
            segment = save_segment(input["name"], input["rule"], config)
        except (RuleError, SegmentError) as error:
            return CRMSegmentCreate(segment=None, errors=segment_errors(error))
        return CRMSegmentCreate(segment=segment, errors=[])

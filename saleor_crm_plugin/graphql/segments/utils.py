"""What the segment queries and mutations share: error fields and codes, the saved segment."""

from ...errors import FieldError
from ...segments.models import RuleSegment
from ...segments.rule_services import SegmentError
from ...segments.rules import RuleError
from ..core.errors import decode_id
from .enums import CRMSegmentErrorCode
from .types import CRMSegmentError


def rule_field(error: RuleError) -> str:
    return "rule" + error.field[1:]  # "$.all[0]" -> "rule.all[0]"


def _code(error: SegmentError) -> str:
    if "exists already" in error.message or "name of a built-in segment" in error.message:
        return CRMSegmentErrorCode.UNIQUE.value
    if error.message == "is required":
        return CRMSegmentErrorCode.REQUIRED.value
    return CRMSegmentErrorCode.INVALID.value


def saved_segment(segment_id: str, field: str = "id") -> RuleSegment:
    kind, pk = decode_id(segment_id)
    if kind == "CRMBuiltInSegment":
        raise SegmentError(field, "built-in segments cannot be changed or deleted")
    segment = (
        RuleSegment.objects.filter(pk=pk).first() if kind == "CRMSegment" and pk.isdigit() else None
    )
    if segment is None:
        raise SegmentError(field, f"'{segment_id}' is not a saved segment")
    return segment


def segment_errors(error: FieldError) -> list[CRMSegmentError]:
    if isinstance(error, RuleError):
        return [CRMSegmentError(field=rule_field(error), message=error.message, code="invalid")]
    return [CRMSegmentError(field=error.field, message=error.message, code=_code(error))]

from .segment_create import CRMSegmentCreate
from .segment_delete import CRMSegmentDelete
from .segment_update import CRMSegmentUpdate

__all__ = ["CRMSegmentCreate", "CRMSegmentDelete", "CRMSegmentUpdate"]

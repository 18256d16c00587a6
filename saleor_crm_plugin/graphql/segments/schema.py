"""The segment queries and mutations: rule segments, and the RFM picture (staff)."""

import graphene

from ..core.errors import require_permission
from ..core.scalars import JSONString
from .mutations import CRMSegmentCreate, CRMSegmentDelete, CRMSegmentUpdate
from .resolvers import resolve_segment_preview, resolve_segments, rfm_groups, rule_fields
from .types import CRMRfmGroup, CRMRuleField, CRMSegment, CRMSegmentPreview


class SegmentQueries(graphene.ObjectType):
    crm_segment_rule_fields = graphene.List(
        graphene.NonNull(CRMRuleField),
        required=True,
        description="The fields a rule can test, with their operators and values (MANAGE_USERS).",
    )
    crm_segments = graphene.List(
        graphene.NonNull(CRMSegment),
        required=True,
        description="Saved rule segments (MANAGE_USERS).",
    )
    crm_segment_preview = graphene.Field(
        CRMSegmentPreview,
        rule=JSONString(required=True),
        first=graphene.Int(default_value=10, description="Sample size, at most 100."),
        description="Count and sample the customers a rule selects, before saving it (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_segment_rule_fields(_root, info):
        require_permission(info)
        return rule_fields(info.context.host.config())

    @staticmethod
    def resolve_crm_segments(_root, info):
        require_permission(info)
        return resolve_segments(info)

    @staticmethod
    def resolve_crm_segment_preview(_root, info, rule, first):
        require_permission(info)
        return resolve_segment_preview(info, rule, first)


class RfmQueries(graphene.ObjectType):
    """The RFM picture; the root Query lists it after the customer queries (the SDL's order)."""

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


class SegmentMutations(graphene.ObjectType):
    crm_segment_create = CRMSegmentCreate.Field()
    crm_segment_update = CRMSegmentUpdate.Field()
    crm_segment_delete = CRMSegmentDelete.Field()

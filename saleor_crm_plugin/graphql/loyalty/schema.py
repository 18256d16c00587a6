"""The loyalty queries and mutations (ranks, points, the audit trail)."""

import graphene
from graphene import relay

from ..core.errors import require_permission
from .enums import CRMAuditAction
from .mutations import (
    CRMPaidPointsIssue,
    CRMPointsAdjust,
    CRMPointsRedeem,
    CRMRankPin,
    CRMRankSettingsSave,
)
from .resolvers import (
    resolve_audit_trail,
    resolve_points_liability,
    resolve_rank_distribution,
    resolve_rank_preview,
)
from .types import (
    CRMAuditEventConnection,
    CRMPointsLiability,
    CRMRank,
    CRMRankCount,
    CRMRankMove,
    CRMRankSettings,
)


class LoyaltyQueries(graphene.ObjectType):
    crm_ranks = graphene.List(
        graphene.NonNull(CRMRank), required=True, description="The store's ranks, lowest first."
    )
    crm_rank_distribution = graphene.List(
        graphene.NonNull(CRMRankCount),
        required=True,
        description="How many customers hold each rank now, lowest first (MANAGE_USERS).",
    )
    crm_points_liability = graphene.List(
        graphene.NonNull(CRMPointsLiability),
        required=True,
        description="Outstanding points per currency (MANAGE_USERS).",
    )
    crm_rank_preview = graphene.List(
        graphene.NonNull(CRMRankMove),
        required=True,
        ranks=graphene.String(required=True, description="A draft of the ranks setting."),
        window=graphene.String(description="A draft of the window setting (default: current)."),
        inactive_months=graphene.Int(description="A draft of the rank-down setting."),
        description="What a draft rank configuration would do to today's customers, per rank, "
        "without saving it (MANAGE_USERS).",
    )

    crm_rank_settings = graphene.Field(
        CRMRankSettings,
        required=True,
        description="The rank table as saved, to edit and preview (MANAGE_USERS).",
    )
    crm_audit_trail = relay.ConnectionField(
        CRMAuditEventConnection,
        customer_id=graphene.ID(description="Only this customer's (CRMCustomer or User ID)."),
        actions=graphene.List(graphene.NonNull(CRMAuditAction)),
        description="What staff changed by hand, newest first (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_rank_settings(_root, info):
        require_permission(info)
        return info.context.host.config()

    @staticmethod
    def resolve_crm_audit_trail(_root, info, customer_id=None, actions=None, **args):
        require_permission(info)
        return resolve_audit_trail(info, customer_id, actions, args)

    @staticmethod
    def resolve_crm_ranks(_root, info):
        return list(info.context.host.config().loyalty.ladder.ranks)

    @staticmethod
    def resolve_crm_rank_distribution(_root, info):
        require_permission(info)
        return resolve_rank_distribution(info)

    @staticmethod
    def resolve_crm_points_liability(_root, info):
        require_permission(info)
        return resolve_points_liability(info)

    @staticmethod
    def resolve_crm_rank_preview(_root, info, ranks, window=None, inactive_months=None):
        require_permission(info)
        return resolve_rank_preview(info, ranks, window, inactive_months)


class LoyaltyMutations(graphene.ObjectType):
    crm_points_redeem = CRMPointsRedeem.Field()
    crm_points_adjust = CRMPointsAdjust.Field()
    crm_paid_points_issue = CRMPaidPointsIssue.Field()
    crm_rank_pin = CRMRankPin.Field()
    crm_rank_settings_save = CRMRankSettingsSave.Field()

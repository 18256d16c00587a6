"""The loyalty queries and mutations (ranks, points, the audit trail)."""

import graphene
from graphene import relay

from ...errors import FieldError
from ...loyalty.point_report_services import (
    FreePointsNotComputed,
    free_points_report,
    paid_points_report,
)
from ..core.errors import InputError, require_permission
from .enums import CRMAuditAction
from .mutations import (
    CRMFreePointsMonthsCompute,
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
    CRMFreePointsReport,
    CRMPaidPointsBaseDate,
    CRMPointsLiability,
    CRMRank,
    CRMRankCount,
    CRMRankMove,
    CRMRankSettings,
)


class NotComputed(InputError):
    """What is asked for has not been computed yet (`field` names what is missing)."""

    code = "NotComputed"


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
    crm_paid_points_base_dates = graphene.List(
        graphene.NonNull(CRMPaidPointsBaseDate),
        required=True,
        from_year=graphene.Int(required=True),
        to_year=graphene.Int(required=True, description="At most 20 years after fromYear."),
        description="Payment Services Act (資金決済法) base-date report: paid points unused on "
        "March 31 and September 30 (end of day, store time) of each year, per currency, valued "
        "at what was paid for them, with the 10,000,000 JPY notification threshold flagged "
        "(MANAGE_USERS). CSV: export/analytics.csv with report 'paidPoints'.",
    )
    crm_free_points_months = graphene.Field(
        CRMFreePointsReport,
        required=True,
        from_month=graphene.String(required=True, description="YYYY-MM."),
        to_month=graphene.String(
            required=True,
            description="YYYY-MM, at most 120 months on, not after the last month computed.",
        ),
        description="Free points per month (store time) and currency: outstanding, issued, "
        "used, expired and reversed (MANAGE_USERS), as stored by the nightly computation "
        "(computedAt says when). Before the first computation, or for a month after the "
        "last one computed, an error with code NotComputed. CSV: export/analytics.csv with "
        "report 'freePoints'.",
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
    def resolve_crm_paid_points_base_dates(_root, info, from_year, to_year):
        require_permission(info)
        try:
            return paid_points_report(info.context.host.config(), from_year, to_year)
        except FieldError as error:
            raise InputError(error.field, error.message) from error

    @staticmethod
    def resolve_crm_free_points_months(_root, info, from_month, to_month):
        require_permission(info)
        try:
            return free_points_report(info.context.host.config(), from_month, to_month)
        except FreePointsNotComputed as error:
            raise NotComputed(error.field, error.message) from error
        except FieldError as error:
            raise InputError(error.field, error.message) from error

    @staticmethod
    def resolve_crm_rank_preview(_root, info, ranks, window=None, inactive_months=None):
        require_permission(info)
        return resolve_rank_preview(info, ranks, window, inactive_months)


class LoyaltyMutations(graphene.ObjectType):
    crm_points_redeem = CRMPointsRedeem.Field()
    crm_points_adjust = CRMPointsAdjust.Field()
    crm_paid_points_issue = CRMPaidPointsIssue.Field()
    crm_free_points_months_compute = CRMFreePointsMonthsCompute.Field()
    crm_rank_pin = CRMRankPin.Field()
    crm_rank_settings_save = CRMRankSettingsSave.Field()

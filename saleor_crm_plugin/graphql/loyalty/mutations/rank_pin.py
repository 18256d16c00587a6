import graphene
from django.utils import timezone

from ....loyalty.membership import RankInputError, pin_rank
from ....loyalty.services import PointsError
from ....metadata import sync_customer_metadata
from ...core.customers import customer_by_id
from ...core.errors import require_permission
from ..resolvers import membership_of
from ..types import CRMLoyaltyError, CRMMembership
from ..utils import loyalty_errors


class CRMRankPin(graphene.Mutation):
    """Pin a customer's rank with a reason until a time, or unpin (code null). MANAGE_USERS."""

    membership = graphene.Field(CRMMembership)
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        customer_id = graphene.ID(required=True)
        code = graphene.String(description="The rank's code; null to unpin.")
        reason = graphene.String(required=True)
        expires_at = graphene.DateTime(description="Until then; null: until unpinned.")

    @staticmethod
    def mutate(_root, info, customer_id, reason, code=None, expires_at=None):
        requester = require_permission(info)
        config = info.context.host.config()
        try:
            profile = customer_by_id(customer_id)
            pin_rank(
                config,
                profile,
                code,
                reason,
                timezone.now(),
                expires_at=expires_at,
                actor=requester.actor,
            )
        except (PointsError, RankInputError) as error:
            return CRMRankPin(membership=None, errors=loyalty_errors(error))
        sync_customer_metadata(info.context.host, [profile.pk])  # crm.rank, voucher, type
        return CRMRankPin(membership=membership_of(info, profile), errors=[])

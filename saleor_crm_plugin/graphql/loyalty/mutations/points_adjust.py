import graphene
from django.utils import timezone

from ....loyalty.services import PointsError, adjust
from ....metadata import sync_customer_metadata
from ...core.customers import customer_by_id
from ...core.errors import require_permission
from ..resolvers import points_of
from ..types import CRMLoyaltyError, CRMPoints
from ..utils import loyalty_errors


class CRMPointsAdjust(graphene.Mutation):
    """Add or take points by hand, with a reason (staff with MANAGE_USERS; audited)."""

    points = graphene.Field(CRMPoints)
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        customer_id = graphene.ID(required=True)
        points = graphene.Int(required=True, description="Above 0 adds, below 0 takes.")
        reason = graphene.String(required=True)
        request_id = graphene.String(required=True, description="A retry with it adjusts once.")
        currency = graphene.String(
            description="What the points are worth in (ISO code); default: the customer's only "
            "currency (required when they have none or several)."
        )

    @staticmethod
    def mutate(_root, info, customer_id, points, reason, request_id, currency=None):
        requester = require_permission(info)
        config = info.context.host.config()
        try:
            profile = customer_by_id(customer_id)
            if not str(request_id).strip() or len(request_id) > 64:
                raise PointsError("requestId", "must be 1 to 64 characters")
            adjust(
                profile.pk,
                points,
                f"adjust:{profile.pk}:{request_id}",
                timezone.now(),
                reason=reason,
                actor=requester.actor,
                allow_negative=config.loyalty.allow_negative,
                currency=currency,
            )
        except PointsError as error:
            return CRMPointsAdjust(points=None, errors=loyalty_errors(error))
        sync_customer_metadata(info.context.host, [profile.pk])
        return CRMPointsAdjust(points=points_of(profile), errors=[])

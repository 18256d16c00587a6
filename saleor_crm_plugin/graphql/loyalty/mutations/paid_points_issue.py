import graphene
from django.utils import timezone

from ....loyalty.services import PointsError, issue_paid_points
from ....metadata import sync_customer_metadata
from ...core.customers import customer_by_id
from ...core.errors import require_permission
from ..resolvers import points_of
from ..types import CRMLoyaltyError, CRMPoints
from ..utils import loyalty_errors


class CRMPaidPointsIssue(graphene.Mutation):
    """Issue paid points (有償ポイント) a customer bought, e.g. as a point card, for the amount
    they paid (staff with MANAGE_USERS; audited). They count in the Payment Services Act
    base-date report (crmPaidPointsBaseDates)."""

    points = graphene.Field(CRMPoints)
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        customer_id = graphene.ID(required=True)
        points = graphene.Int(required=True, description="How many points, above 0.")
        amount = graphene.Decimal(
            required=True, description="What the customer paid, exact in the currency's unit."
        )
        currency = graphene.String(required=True, description="The amount's currency (ISO code).")
        reason = graphene.String(required=True)
        request_id = graphene.String(required=True, description="A retry with it issues once.")

    @staticmethod
    def mutate(_root, info, customer_id, points, amount, currency, reason, request_id):
        requester = require_permission(info)
        config = info.context.host.config()
        try:
            profile = customer_by_id(customer_id)
            if not str(request_id).strip() or len(request_id) > 64:
                raise PointsError("requestId", "must be 1 to 64 characters")
            issue_paid_points(
                profile.pk,
                points,
                amount,
                currency,
                f"paid:{profile.pk}:{request_id}",
                timezone.now(),
                reason=reason,
                actor=requester.actor,
                allow_negative=config.loyalty.allow_negative,
            )
        except PointsError as error:
            return CRMPaidPointsIssue(points=None, errors=loyalty_errors(error))
        sync_customer_metadata(info.context.host, [profile.pk])
        return CRMPaidPointsIssue(points=points_of(profile), errors=[])

import graphene
from django.utils import timezone

from ....loyalty.point_report_services import request_free_points_months
from ...core.errors import require_permission
from ..types import CRMLoyaltyError


class CRMFreePointsMonthsCompute(graphene.Mutation):
    """Compute the free points months now, as the nightly task does, on the workers (staff
    with MANAGE_USERS; audited). crmFreePointsMonths shows the new months once its
    computedAt is later than the one answered here."""

    queued = graphene.Boolean(required=True, description="The computation was enqueued.")
    computed_at = graphene.DateTime(
        description="When the months in force now were computed (null: never yet)."
    )
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    @staticmethod
    def mutate(_root, info):
        requester = require_permission(info)
        run = request_free_points_months(requester.actor, timezone.now())
        return CRMFreePointsMonthsCompute(
            queued=True, computed_at=None if run is None else run.computed_at, errors=[]
        )

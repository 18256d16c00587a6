import graphene
from django.utils import timezone

from ....campaigns.services import CampaignError, send_to_segment
from ...core.errors import require_permission
from ..resolvers import resolve_flow
from ..types import CRMCampaignError, CRMCampaignFlow
from ..utils import campaign_errors, flow_by_slug


class CRMCampaignSendNow(graphene.Mutation):
    """Send a segment send (kind BROADCAST) to its segment's members now: each enters once,
    so a second call reaches only those who came into the segment since; the messages go out
    in the send window through the same ledger as the flows (staff with MANAGE_USERS)."""

    entered = graphene.Int(description="Customers who entered it now.")
    flow = graphene.Field(CRMCampaignFlow)
    errors = graphene.List(graphene.NonNull(CRMCampaignError), required=True)

    class Arguments:
        slug = graphene.String(required=True)

    @staticmethod
    def mutate(_root, info, slug):
        require_permission(info)
        host = info.context.host
        try:
            row = flow_by_slug(slug)
            entered = send_to_segment(row, timezone.now(), host.config(), host)
        except CampaignError as error:
            return CRMCampaignSendNow(entered=None, flow=None, errors=campaign_errors(error))
        return CRMCampaignSendNow(entered=entered, flow=resolve_flow(row.slug), errors=[])

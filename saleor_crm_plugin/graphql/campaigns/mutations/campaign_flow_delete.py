import graphene

from ....campaigns.services import CampaignError, delete_flow
from ...core.errors import require_permission
from ..types import CRMCampaignError
from ..utils import campaign_errors, flow_by_slug


class CRMCampaignFlowDelete(graphene.Mutation):
    """Delete a flow with its entries, send log and report (staff with MANAGE_USERS). Refused
    while it is on (ENABLED: switch it off first) and while a worker is sending one of its
    messages (BUSY: try again in a few minutes); its pending messages are cancelled."""

    slug = graphene.String(description="The deleted flow's slug.")
    errors = graphene.List(graphene.NonNull(CRMCampaignError), required=True)

    class Arguments:
        slug = graphene.String(required=True)

    @staticmethod
    def mutate(_root, info, slug):
        require_permission(info)
        try:
            row = flow_by_slug(slug)
            delete_flow(row.slug)
        except CampaignError as error:
            return CRMCampaignFlowDelete(slug=None, errors=campaign_errors(error))
        return CRMCampaignFlowDelete(slug=row.slug, errors=[])

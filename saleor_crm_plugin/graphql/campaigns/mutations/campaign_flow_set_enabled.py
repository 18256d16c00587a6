import graphene

from ....campaigns.services import CampaignError, save_flow
from ...core.errors import require_permission
from ..resolvers import resolve_flow
from ..types import CRMCampaignError, CRMCampaignFlow
from ..utils import campaign_errors, flow_by_slug


class CRMCampaignFlowSetEnabled(graphene.Mutation):
    """Switch a flow on (its definition is checked again: a template or segment it names may
    be gone) or off (staff with MANAGE_USERS). Off, nobody new enters it; the steps of those
    who entered still go out."""

    flow = graphene.Field(CRMCampaignFlow)
    errors = graphene.List(graphene.NonNull(CRMCampaignError), required=True)

    class Arguments:
        slug = graphene.String(required=True)
        enabled = graphene.Boolean(required=True)

    @staticmethod
    def mutate(_root, info, slug, enabled):
        require_permission(info)
        try:
            row = flow_by_slug(slug)
            save_flow(
                row.slug, row.definition, info.context.host.config(), enabled=enabled, kind=row.kind
            )
        except CampaignError as error:
            return CRMCampaignFlowSetEnabled(flow=None, errors=campaign_errors(error))
        return CRMCampaignFlowSetEnabled(flow=resolve_flow(row.slug), errors=[])

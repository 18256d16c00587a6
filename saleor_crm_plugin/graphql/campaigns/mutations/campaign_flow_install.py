import graphene
from django.db import transaction

from ....campaigns.services import CampaignError, install_built_in
from ...core.errors import require_permission
from ..resolvers import resolve_flow
from ..types import CRMCampaignError, CRMCampaignFlow
from ..utils import campaign_errors


class CRMCampaignFlowInstall(graphene.Mutation):
    """Install a built-in flow under its own slug, switched off (an installed one is kept as
    it is); staff with MANAGE_USERS."""

    flow = graphene.Field(CRMCampaignFlow)
    errors = graphene.List(graphene.NonNull(CRMCampaignError), required=True)

    class Arguments:
        built_in = graphene.String(required=True, description="A name of crmCampaignBuiltIns.")

    @staticmethod
    def mutate(_root, info, built_in):
        require_permission(info)
        try:
            with transaction.atomic():
                row = install_built_in(built_in, info.context.host.config())
        except CampaignError as error:
            return CRMCampaignFlowInstall(flow=None, errors=campaign_errors(error))
        return CRMCampaignFlowInstall(flow=resolve_flow(row.slug), errors=[])

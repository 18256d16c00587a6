import graphene

from ....campaigns.models import CampaignFlow
from ....campaigns.services import CampaignError, save_flow
from ...core.errors import require_permission
from ...core.scalars import JSONString
from ..enums import CRMCampaignKind
from ..resolvers import resolve_flow
from ..types import CRMCampaignError, CRMCampaignFlow
from ..utils import campaign_errors


class CRMCampaignFlowSave(graphene.Mutation):
    """Create or change a flow, validated first: a wrong definition is refused with its JSON
    path and nothing is written (staff with MANAGE_USERS)."""

    flow = graphene.Field(CRMCampaignFlow)
    errors = graphene.List(graphene.NonNull(CRMCampaignError), required=True)

    class Arguments:
        slug = graphene.String(required=True, description="1-64 letters, digits, - or _.")
        definition = JSONString(
            required=True,
            description='{"name", "trigger": {"kind", ...}, "steps": [{"delay_days", '
            '"channel", "template", "points", "voucher"}], "exits", "control_share", '
            '"marketing"}.',
        )
        enabled = graphene.Boolean(description="Switch it on or off (unchanged when omitted).")
        kind = CRMCampaignKind(
            default_value=CampaignFlow.FLOW,
            description="FLOW, or BROADCAST for a one-off segment send; a flow keeps its kind.",
        )

    @staticmethod
    def mutate(_root, info, slug, definition, kind=CampaignFlow.FLOW, enabled=None):
        require_permission(info)
        try:
            row = save_flow(
                slug, definition, info.context.host.config(), enabled=enabled, kind=kind
            )
        except CampaignError as error:
            return CRMCampaignFlowSave(flow=None, errors=campaign_errors(error))
        return CRMCampaignFlowSave(flow=resolve_flow(row.slug), errors=[])

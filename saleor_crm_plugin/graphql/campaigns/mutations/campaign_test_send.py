import graphene
from django.utils import timezone

from ....campaigns import preview
from ....campaigns.services import CampaignError, parse
from ...core.errors import require_permission
from ..types import CRMCampaignError
from ..utils import campaign_errors, flow_by_slug, profile_by_id


class CRMCampaignTestSend(graphene.Mutation):
    """Email one step's message to a staff address, rendered for a customer (sample values
    without one), through the campaigns' email path, the subject marked [TEST]. Recorded
    nowhere; no voucher is created and its unsubscribe link unsubscribes nobody (staff with
    MANAGE_USERS)."""

    message_id = graphene.String(description="The test email's Message-ID.")
    errors = graphene.List(graphene.NonNull(CRMCampaignError), required=True)

    class Arguments:
        slug = graphene.String(required=True)
        step = graphene.Int(default_value=0, description="The step's index, from 0.")
        email = graphene.String(required=True, description="Where the test goes.")
        customer = graphene.ID(description="A CRMCustomer or Saleor User ID.")

    @staticmethod
    def mutate(_root, info, slug, email, step=0, customer=None):
        require_permission(info)
        host = info.context.host
        config = host.config()
        try:
            row = flow_by_slug(slug)
            flow = parse(row.definition, config)
            profile = profile_by_id(customer)
            message_id = preview.send_test(
                flow, step, email, timezone.now(), config, host, row=row, profile=profile
            )
        except CampaignError as error:
            return CRMCampaignTestSend(message_id=None, errors=campaign_errors(error))
        return CRMCampaignTestSend(message_id=message_id, errors=[])

import graphene

from ....campaigns.messages import save_template
from ....campaigns.services import CampaignError
from ...core.errors import require_permission
from ..resolvers import template_of
from ..types import CRMCampaignError, CRMMessageTemplate
from ..utils import campaign_errors


class CRMMessageTemplateSave(graphene.Mutation):
    """Save staff's version of a message template (Django template syntax; each part must
    compile, else nothing is saved); used by every step naming it from then on (staff with
    MANAGE_USERS)."""

    template = graphene.Field(CRMMessageTemplate)
    errors = graphene.List(graphene.NonNull(CRMCampaignError), required=True)

    class Arguments:
        name = graphene.String(required=True, description="1-64 letters, digits, - or _.")
        subject = graphene.String(required=True)
        text = graphene.String(required=True, description="The plain-text part.")
        html = graphene.String(default_value="", description="The HTML part (optional).")

    @staticmethod
    def mutate(_root, info, name, subject, text, html=""):
        require_permission(info)
        try:
            row = save_template(name, subject, text, html)
        except CampaignError as error:
            return CRMMessageTemplateSave(template=None, errors=campaign_errors(error))
        return CRMMessageTemplateSave(template=template_of(row.name), errors=[])

"""The campaign queries and mutations (staff, MANAGE_USERS): flows and segment sends, the
built-in templates, the preview, the report with its lift, the send log and the messages."""

import graphene
from graphene import relay

from ...campaigns.models import CampaignFlow
from ..core.errors import require_permission
from ..core.scalars import JSONString
from .enums import CRMCampaignKind, CRMCampaignSendStatus
from .mutations import (
    CRMCampaignFlowDelete,
    CRMCampaignFlowInstall,
    CRMCampaignFlowSave,
    CRMCampaignFlowSetEnabled,
    CRMCampaignSendNow,
    CRMCampaignTestSend,
    CRMMessageTemplateSave,
)
from .resolvers import (
    flows_with_counts,
    resolve_built_ins,
    resolve_flow,
    resolve_preview,
    resolve_report,
    resolve_sends,
    resolve_templates,
)
from .types import (
    CRMCampaignBuiltIn,
    CRMCampaignFlow,
    CRMCampaignPreview,
    CRMCampaignReport,
    CRMCampaignSendConnection,
    CRMMessageTemplate,
)


class CampaignQueries(graphene.ObjectType):
    crm_campaign_flows = graphene.List(
        graphene.NonNull(CRMCampaignFlow),
        required=True,
        description="Every flow and segment send, by slug (MANAGE_USERS).",
    )
    crm_campaign_flow = graphene.Field(
        CRMCampaignFlow,
        slug=graphene.String(required=True),
        description="One flow; null when there is none of that slug (MANAGE_USERS).",
    )
    crm_campaign_built_ins = graphene.List(
        graphene.NonNull(CRMCampaignBuiltIn),
        required=True,
        description="The built-in flows not installed yet (MANAGE_USERS).",
    )
    crm_campaign_report = graphene.Field(
        CRMCampaignReport,
        slug=graphene.String(required=True),
        description="A flow's report: entries, sends per step and day, the measured lift "
        "against its control group and the plain attribution; null when there is no such "
        "flow (MANAGE_USERS).",
    )
    crm_campaign_sends = relay.ConnectionField(
        CRMCampaignSendConnection,
        slug=graphene.String(required=True),
        status=CRMCampaignSendStatus(),
        description="A flow's send log, the latest due first (MANAGE_USERS).",
    )
    crm_campaign_preview = graphene.Field(
        CRMCampaignPreview,
        slug=graphene.String(description="A saved flow."),
        definition=JSONString(
            description="A definition to preview (the editor's, unsaved); with `slug`, in "
            "place of the saved one."
        ),
        kind=graphene.Argument(
            CRMCampaignKind,
            default_value=CRMCampaignKind.FLOW.value,
            description="For a definition without `slug`.",
        ),
        customer=graphene.ID(description="Render for this CRMCustomer or Saleor User ID."),
        description="Who a flow would enter today and on each of the last 7 days, and its "
        "messages rendered for a customer; nothing is written (MANAGE_USERS).",
    )
    crm_message_templates = graphene.List(
        graphene.NonNull(CRMMessageTemplate),
        required=True,
        description="The message templates as they are used now: staff's, else the shipped "
        "(MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_campaign_flows(_root, info):
        require_permission(info)
        return list(flows_with_counts())

    @staticmethod
    def resolve_crm_campaign_flow(_root, info, slug):
        require_permission(info)
        return resolve_flow(slug)

    @staticmethod
    def resolve_crm_campaign_built_ins(_root, info):
        require_permission(info)
        return resolve_built_ins()

    @staticmethod
    def resolve_crm_campaign_report(_root, info, slug):
        require_permission(info)
        return resolve_report(info, slug)

    @staticmethod
    def resolve_crm_campaign_sends(_root, info, slug, status=None, **args):
        require_permission(info)
        return resolve_sends(info, slug, status, args)

    @staticmethod
    def resolve_crm_campaign_preview(
        _root, info, slug=None, definition=None, kind=CampaignFlow.FLOW, customer=None
    ):
        require_permission(info)
        return resolve_preview(info, slug, definition, kind, customer)

    @staticmethod
    def resolve_crm_message_templates(_root, info):
        require_permission(info)
        return resolve_templates()


class CampaignMutations(graphene.ObjectType):
    crm_campaign_flow_save = CRMCampaignFlowSave.Field()
    crm_campaign_flow_install = CRMCampaignFlowInstall.Field()
    crm_campaign_flow_set_enabled = CRMCampaignFlowSetEnabled.Field()
    crm_campaign_flow_delete = CRMCampaignFlowDelete.Field()
    crm_campaign_send_now = CRMCampaignSendNow.Field()
    crm_campaign_test_send = CRMCampaignTestSend.Field()
    crm_message_template_save = CRMMessageTemplateSave.Field()

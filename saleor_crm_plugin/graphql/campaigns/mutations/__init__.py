from .campaign_flow_delete import CRMCampaignFlowDelete
from .campaign_flow_install import CRMCampaignFlowInstall
from .campaign_flow_save import CRMCampaignFlowSave
from .campaign_flow_set_enabled import CRMCampaignFlowSetEnabled
from .campaign_send_now import CRMCampaignSendNow
from .campaign_test_send import CRMCampaignTestSend
from .message_template_save import CRMMessageTemplateSave

__all__ = [
    "CRMCampaignFlowDelete",
    "CRMCampaignFlowInstall",
    "CRMCampaignFlowSave",
    "CRMCampaignFlowSetEnabled",
    "CRMCampaignSendNow",
    "CRMCampaignTestSend",
    "CRMMessageTemplateSave",
]

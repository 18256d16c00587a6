"""Enums of campaigns."""

import graphene

from ...campaigns.models import CampaignFlow, CampaignSend


class CRMCampaignKind(graphene.Enum):
    FLOW = CampaignFlow.FLOW
    BROADCAST = CampaignFlow.BROADCAST


class CRMCampaignSendStatus(graphene.Enum):
    PENDING = CampaignSend.PENDING
    SENDING = CampaignSend.SENDING
    SENT = CampaignSend.SENT
    HELD = CampaignSend.HELD
    SKIPPED = CampaignSend.SKIPPED
    FAILED = CampaignSend.FAILED


class CRMCampaignErrorCode(graphene.Enum):
    INVALID = "invalid"
    REQUIRED = "required"
    NOT_FOUND = "not_found"
    ENABLED = "enabled"
    BUSY = "busy"
    SEND_FAILED = "send_failed"

"""What the campaign queries and mutations share: the flow a slug names, the customer an ID
names, and the error payload."""

from ...campaigns.models import CampaignFlow
from ...campaigns.services import CampaignError, CampaignRefused
from ...errors import FieldError
from ...loyalty.services import PointsError
from ..core.customers import customer_by_id
from .enums import CRMCampaignErrorCode
from .types import CRMCampaignError


class NotFound(CampaignError):
    """What an argument names does not exist."""


def flow_by_slug(slug: str, field: str = "slug") -> CampaignFlow:
    row = CampaignFlow.objects.filter(slug=(slug or "").strip()).first()
    if row is None:
        raise NotFound(field, f"there is no flow {slug!r}")
    return row


def profile_by_id(customer_id: str | None, field: str = "customer"):
    """The CRM profile of a CRMCustomer or Saleor User ID; None when no ID is given."""
    if not customer_id:
        return None
    try:
        return customer_by_id(customer_id)
    except PointsError as error:
        raise NotFound(field, error.message) from None


def _code(error: FieldError) -> str:
    if isinstance(error, CampaignRefused):
        return error.code
    if isinstance(error, NotFound):
        return CRMCampaignErrorCode.NOT_FOUND.value
    if error.message.startswith("is required"):
        return CRMCampaignErrorCode.REQUIRED.value
    return CRMCampaignErrorCode.INVALID.value


def campaign_errors(error: FieldError) -> list[CRMCampaignError]:
    """The payload's `errors` for a service's error, with its code."""
    return [CRMCampaignError(field=error.field, message=error.message, code=_code(error))]

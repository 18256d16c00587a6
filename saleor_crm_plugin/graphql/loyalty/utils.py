"""What the loyalty queries and mutations share: argument names and the error payload."""

from ...conf import RANK_INACTIVE_MONTHS, RANK_WINDOW, RANKS
from ...errors import FieldError
from .types import CRMLoyaltyError

# The rank settings' names as arguments of crmRankPreview and crmRankSettingsSave.
SETTING_ARGUMENTS = {RANKS: "ranks", RANK_WINDOW: "window", RANK_INACTIVE_MONTHS: "inactiveMonths"}

_FIELDS = {"requestId": "requestId", "expires_at": "expiresAt", "customer": "customerId"}


def loyalty_errors(error: FieldError) -> list[CRMLoyaltyError]:
    """The payload's `errors` for a service's error, with its code and argument name."""
    code = "invalid"
    if error.field == "points" and "available" in error.message:
        code = "insufficient_points"
    elif error.field == "customerId":
        code = "not_found"
    return [
        CRMLoyaltyError(
            field=_FIELDS.get(error.field, error.field), message=error.message, code=code
        )
    ]

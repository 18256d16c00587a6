"""What the merge queries and mutations share: the profile an argument names, the errors."""

from ...customers.merges import MergeError
from ...customers.models import CustomerProfile
from ..core.errors import decode_id
from .types import CRMMergeError


def profile_argument(customer_id: str, field: str) -> CustomerProfile:
    """The profile a CRMCustomer or User ID names (deleted ones too: the service says so)."""
    kind, pk = decode_id(customer_id)
    profile = None
    if kind == "CRMCustomer" and pk.isdigit():
        profile = CustomerProfile.objects.filter(pk=int(pk)).first()
    elif kind == "User" and pk:
        profile = CustomerProfile.objects.filter(user_id=pk).first()
    if profile is None:
        raise MergeError(field, f"'{customer_id}' is not a customer the CRM knows")
    return profile


def merge_errors(error: MergeError) -> list[CRMMergeError]:
    """The payload's `errors` for a service's error, with its code."""
    message = error.message
    if "themselves" in message:
        code = "same_customer"
    elif "already" in message or "is merged into" in message or "holds other" in message:
        code = "already_merged"
    elif "deleted" in message:
        code = "deleted"
    elif "not a customer" in message or "does not exist" in message:
        code = "not_found"
    else:
        code = "invalid"
    return [CRMMergeError(field=error.field, message=message, code=code)]

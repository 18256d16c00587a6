"""The customer an argument names, or the requester's own: every domain's mutations need them."""

from ...customers.models import CustomerProfile
from ...loyalty.services import PointsError
from .errors import decode_id

__all__ = ["customer_by_id", "own_profile"]


def customer_by_id(customer_id: str) -> CustomerProfile:
    """A profile by our CRMCustomer ID or Saleor's User ID."""
    kind, pk = decode_id(customer_id)
    profiles = CustomerProfile.objects.filter(anonymized_at__isnull=True)
    profile = None
    if kind == "CRMCustomer" and pk.isdigit():
        profile = profiles.filter(pk=int(pk)).first()
    elif kind == "User" and pk:
        profile = profiles.filter(user_id=pk).first()
    if profile is None:
        raise PointsError("customerId", f"'{customer_id}' is not a customer the CRM knows")
    return profile


def own_profile(requester) -> CustomerProfile | None:
    """The requesting customer's profile (None before their first order or account event)."""
    return CustomerProfile.objects.filter(
        user_id=requester.user_id, anonymized_at__isnull=True
    ).first()

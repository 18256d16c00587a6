from ..types import CRMAddressInput
from ..utils import address_fields
from .self_service import self_service_mutation


def _address(kwargs: dict) -> dict:
    return {"address": address_fields(kwargs["address"])}


CRMSubscriptionSetAddress = self_service_mutation(
    "CRMSubscriptionSetAddress",
    "set_address",
    {"address": CRMAddressInput(required=True)},
    _address,
    "Change the shipping address of the coming deliveries.",
)

import graphene

from ....subscriptions.schedule import parse_interval
from .self_service import self_service_mutation


def _interval(kwargs: dict) -> dict:
    return {"interval": parse_interval(kwargs["interval"])}


CRMSubscriptionChangeInterval = self_service_mutation(
    "CRMSubscriptionChangeInterval",
    "change_interval",
    {"interval": graphene.String(required=True, description="One of allowedIntervals.")},
    _interval,
    "Change the delivery interval to one the subscription's products offer.",
)

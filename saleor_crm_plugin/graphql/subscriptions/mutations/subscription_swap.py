import graphene

from .self_service import self_service_mutation


def _swap(kwargs: dict) -> dict:
    return {"variant": kwargs["variant_id"], "to": kwargs["to_variant_id"]}


CRMSubscriptionSwap = self_service_mutation(
    "CRMSubscriptionSwap",
    "swap",
    {"variant_id": graphene.String(required=True), "to_variant_id": graphene.String(required=True)},
    _swap,
    "Swap a line to another variant offered at the subscription's interval.",
)

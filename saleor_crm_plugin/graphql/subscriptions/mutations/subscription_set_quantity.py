import graphene

from .self_service import self_service_mutation, variant_quantity

CRMSubscriptionSetQuantity = self_service_mutation(
    "CRMSubscriptionSetQuantity",
    "set_quantity",
    {"variant_id": graphene.String(required=True), "quantity": graphene.Int(required=True)},
    variant_quantity,
    "Change a line's quantity from the next changeable delivery on.",
)

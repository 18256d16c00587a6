import graphene

from .self_service import self_service_mutation, variant_quantity

CRMSubscriptionAddOnce = self_service_mutation(
    "CRMSubscriptionAddOnce",
    "add_once",
    {"variant_id": graphene.String(required=True), "quantity": graphene.Int(required=True)},
    variant_quantity,
    "Add an item to the next changeable delivery only.",
)

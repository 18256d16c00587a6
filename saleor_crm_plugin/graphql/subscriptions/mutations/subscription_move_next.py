import graphene

from .self_service import same_arguments, self_service_mutation

CRMSubscriptionMoveNext = self_service_mutation(
    "CRMSubscriptionMoveNext",
    "move_next",
    {"date": graphene.Date(required=True)},
    same_arguments,
    "Move the next delivery (within the store's bounds, never into the past).",
)

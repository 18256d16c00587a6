import graphene

from .self_service import same_arguments, self_service_mutation

CRMSubscriptionCancel = self_service_mutation(
    "CRMSubscriptionCancel",
    "cancel",
    {"reason": graphene.String(required=True)},
    same_arguments,
    "Cancel, with a reason (the store may require a number of deliveries first).",
)

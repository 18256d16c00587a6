import graphene

from .self_service import same_arguments, self_service_mutation

CRMSubscriptionPause = self_service_mutation(
    "CRMSubscriptionPause",
    "pause",
    {"start": graphene.Date(description="Default: today."), "until": graphene.Date()},
    same_arguments,
    "Pause deliveries until a date (a holiday), or until resumed.",
)

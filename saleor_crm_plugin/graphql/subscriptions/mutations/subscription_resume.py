import graphene

from .self_service import same_arguments, self_service_mutation

CRMSubscriptionResume = self_service_mutation(
    "CRMSubscriptionResume",
    "resume",
    {"on": graphene.Date(description="The next delivery; default: one interval from today.")},
    same_arguments,
    "Resume a paused subscription.",
)

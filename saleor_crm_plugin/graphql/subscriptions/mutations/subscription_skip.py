import graphene

from .self_service import same_arguments, self_service_mutation

CRMSubscriptionSkip = self_service_mutation(
    "CRMSubscriptionSkip",
    "skip",
    {"sequence": graphene.Int(required=True)},
    same_arguments,
    "Skip one delivery (the cycle's sequence).",
)

import graphene

from .self_service import same_arguments, self_service_mutation

CRMSubscriptionUnskip = self_service_mutation(
    "CRMSubscriptionUnskip",
    "unskip",
    {"sequence": graphene.Int(required=True)},
    same_arguments,
    "Deliver a skipped cycle after all.",
)

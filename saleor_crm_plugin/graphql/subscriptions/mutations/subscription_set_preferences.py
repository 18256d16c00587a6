import graphene

from .self_service import same_arguments, self_service_mutation

CRMSubscriptionSetPreferences = self_service_mutation(
    "CRMSubscriptionSetPreferences",
    "set_preferences",
    {
        "weekday": graphene.Int(description="0 = Monday ... 6 = Sunday; null: any."),
        "time_slot": graphene.String(description="e.g. 18-20; empty: any."),
        "use_points": graphene.Boolean(
            description="Pay each renewal with points first (when the store allows it)."
        ),
    },
    same_arguments,
    "Set the preferred delivery weekday, time slot, and paying with points (the given ones).",
)

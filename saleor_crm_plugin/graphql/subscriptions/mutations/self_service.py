"""What every self-service mutation shares: act on one subscription, answer the change."""

import graphene
from django.utils import timezone

from ....host import MANAGE_USERS
from ....subscriptions.schedule import ScheduleError
from ....subscriptions.services import act
from ...core.errors import require_customer
from ..types import CRMSubscription, CRMSubscriptionError
from ..utils import subscription_by_id, subscription_rules


class SubscriptionChange(graphene.ObjectType):
    subscription = graphene.Field(CRMSubscription)
    applies_from = graphene.Int(description="The first cycle the change applies to.")
    after_next = graphene.Boolean(
        description="True when the change cutoff made it apply from the delivery after next."
    )
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)


def self_service_mutation(name: str, action: str, arguments: dict, convert, doc: str):
    """One self-service mutation: `convert` turns its arguments into the action's params."""

    def mutate(_root, info, id, **kwargs):
        if info.context.requester is None:
            require_customer(info)
        try:
            subscription = subscription_by_id(info, id)
            config = info.context.host.config()
            updated, change = act(
                subscription.pk,
                action,
                staff=info.context.requester.has_permission(MANAGE_USERS),
                actor=info.context.requester.actor,
                now=timezone.now(),
                rules=subscription_rules(info, subscription, extra=[kwargs.get("to_variant_id")]),
                zone=config.zone,
                **convert(kwargs),
            )
        except ScheduleError as error:
            return result(errors=[CRMSubscriptionError.of(error)])
        return result(
            subscription=updated,
            applies_from=change.applies_from if change else None,
            after_next=change.after_next if change else None,
            errors=[],
        )

    fields = {
        "Arguments": type("Arguments", (), {"id": graphene.ID(required=True), **arguments}),
        "mutate": staticmethod(mutate),
        "__doc__": doc,
    }
    result = type(name, (SubscriptionChange, graphene.Mutation), fields)
    return result


def same_arguments(kwargs: dict) -> dict:
    """The action takes the mutation's arguments as they are."""
    return kwargs


def variant_quantity(kwargs: dict) -> dict:
    return {"variant": kwargs["variant_id"], "quantity": kwargs["quantity"]}

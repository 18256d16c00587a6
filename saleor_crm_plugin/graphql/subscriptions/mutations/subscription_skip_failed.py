import graphene
from django.utils import timezone

from ....subscriptions.schedule import ScheduleError
from ....subscriptions.services import skip_failed
from ...core.errors import require_permission
from ..types import CRMSubscription, CRMSubscriptionError
from ..utils import subscription_by_id, subscription_rules


class CRMSubscriptionSkipFailed(graphene.Mutation):
    """Staff skip the delivery of a failed renewal (MANAGE_USERS); the next one goes on."""

    subscription = graphene.Field(CRMSubscription)
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)

    class Arguments:
        id = graphene.ID(required=True)

    @staticmethod
    def mutate(_root, info, id):
        try:
            require_permission(info)
            subscription = subscription_by_id(info, id)
            updated = skip_failed(
                subscription.pk,
                actor=info.context.requester.actor,
                now=timezone.now(),
                rules=subscription_rules(info, subscription),
                zone=info.context.host.config().zone,
            )
        except ScheduleError as error:
            return CRMSubscriptionSkipFailed(errors=[CRMSubscriptionError.of(error)])
        return CRMSubscriptionSkipFailed(subscription=updated, errors=[])

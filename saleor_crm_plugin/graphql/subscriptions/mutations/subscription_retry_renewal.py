import graphene
from django.utils import timezone

from ....subscriptions.renewals import retry_failed
from ....subscriptions.schedule import ScheduleError
from ...core.errors import require_permission
from ..types import CRMSubscription, CRMSubscriptionError
from ..utils import subscription_by_id, subscription_rules


class CRMSubscriptionRetryRenewal(graphene.Mutation):
    """Staff retry a failed renewal now (MANAGE_USERS): the answer has the order, or the
    error RENEWAL_FAILED with the store's reason."""

    subscription = graphene.Field(CRMSubscription)
    order_id = graphene.String(description="The renewal order created (or found).")
    errors = graphene.List(graphene.NonNull(CRMSubscriptionError), required=True)

    class Arguments:
        id = graphene.ID(required=True)

    @staticmethod
    def mutate(_root, info, id):
        try:
            require_permission(info)
            subscription = subscription_by_id(info, id)
            config = info.context.host.config()
            updated, cycle, report = retry_failed(
                subscription.pk,
                info.context.host,
                actor=info.context.requester.actor,
                now=timezone.now(),
                rules=subscription_rules(info, subscription),
                zone=config.zone,
            )
        except ScheduleError as error:
            return CRMSubscriptionRetryRenewal(errors=[CRMSubscriptionError.of(error)])
        if report.failed:
            error = ScheduleError("id", "renewal_failed", cycle.last_error)
            return CRMSubscriptionRetryRenewal(
                subscription=updated, errors=[CRMSubscriptionError.of(error)]
            )
        return CRMSubscriptionRetryRenewal(subscription=updated, order_id=cycle.order_id, errors=[])

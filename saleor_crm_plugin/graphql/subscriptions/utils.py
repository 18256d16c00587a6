"""What the subscription types, queries and mutations share."""

from ...host import MANAGE_USERS
from ...subscriptions.models import Subscription
from ...subscriptions.schedule import ScheduleError
from ...subscriptions.services import rules_for
from ..core.errors import PermissionDenied, decode_id


def subscription_rules(info, subscription: Subscription, extra=()):
    """The plan rules of a subscription's recurring lines (and `extra` variants)."""
    host = info.context.host
    variants = [line.variant_id for line in subscription.lines.all() if line.only_cycle is None]
    return rules_for(host.config(), variants, host, extra=[v for v in extra if v])


def subscription_by_id(info, subscription_id: str) -> Subscription:
    """The requester's own subscription (staff: anyone's), else NOT_FOUND."""
    requester = info.context.requester
    if requester is None:
        raise PermissionDenied()
    kind, pk = decode_id(subscription_id)
    subscription = None
    if kind == "CRMSubscription" and pk.isdigit():
        subscription = Subscription.objects.filter(pk=int(pk)).first()
    if subscription is not None and not requester.has_permission(MANAGE_USERS):
        if requester.user_id is None or subscription.user_id != requester.user_id:
            subscription = None
    if subscription is None:
        raise ScheduleError("id", "not_found", f"'{subscription_id}' is not your subscription")
    return subscription


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def address_fields(address) -> dict:
    """The filled fields of a `CRMAddressInput`, named as Saleor's AddressInput names them."""
    return {_camel(key): value for key, value in address.items() if value}

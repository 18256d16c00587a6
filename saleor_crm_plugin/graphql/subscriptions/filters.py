"""The filter of `crmSubscriptions`."""

import graphene

from ...subscriptions.models import Subscription
from ..core.errors import InputError, decode_id


class CRMSubscriptionFilterInput(graphene.InputObjectType):
    status = graphene.String(description="active, paused, cancelled or attention.")
    customer_id = graphene.ID(description="Saleor's User ID.")
    variant_id = graphene.String(description="A line's variant ID (or SKU).")
    next_delivery_from = graphene.Date()
    next_delivery_to = graphene.Date()


def filter_subscriptions(filters: dict):
    """The subscriptions a `CRMSubscriptionFilterInput` selects, by next delivery."""
    queryset = Subscription.objects.select_related("profile").order_by("next_delivery_on", "pk")
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("customer_id"):
        kind, pk = decode_id(filters["customer_id"])
        if kind != "User":
            raise InputError("filter.customerId", f"'{filters['customer_id']}' is not a User ID")
        queryset = queryset.filter(user_id=pk)
    if filters.get("variant_id"):
        queryset = queryset.filter(lines__variant_id=filters["variant_id"]).distinct()
    if filters.get("next_delivery_from"):
        queryset = queryset.filter(next_delivery_on__gte=filters["next_delivery_from"])
    if filters.get("next_delivery_to"):
        queryset = queryset.filter(next_delivery_on__lte=filters["next_delivery_to"])
    return queryset

"""Resolvers of the subscription queries."""

from datetime import timedelta

from django.utils import timezone

from ...subscriptions.figures import subscription_figures
from ...subscriptions.models import Subscription
from ...subscriptions.services import offers
from ..core.errors import InputError
from ..core.pagination import attach_emails, connection_from_queryset
from .filters import filter_subscriptions
from .types import CRMSubscriptionCountableConnection, CRMSubscriptionOffer


def own_subscriptions(requester) -> list[Subscription]:
    return list(Subscription.objects.filter(user_id=requester.user_id).order_by("-created_at"))


def resolve_subscription_offers(info, variant_ids) -> list[CRMSubscriptionOffer]:
    if len(variant_ids) > 100:
        raise InputError("variantIds", f"at most 100 variants, not {len(variant_ids)}")
    host = info.context.host
    found = offers(host.config(), host, list(dict.fromkeys(variant_ids)))
    return [
        CRMSubscriptionOffer(variant_id=variant, intervals=[str(i) for i in found[variant]])
        for variant in dict.fromkeys(variant_ids)
        if found.get(variant)
    ]


def resolve_subscriptions(info, filter, args):
    host = info.context.host
    return connection_from_queryset(
        filter_subscriptions(filter or {}),
        args,
        CRMSubscriptionCountableConnection,
        prepare_page=lambda page: attach_emails(page, host),
    )


def resolve_subscription_figures(days):
    if not 1 <= days <= 3660:
        raise InputError("days", f"must be between 1 and 3660, not {days}")
    return subscription_figures(timezone.now() - timedelta(days=days))

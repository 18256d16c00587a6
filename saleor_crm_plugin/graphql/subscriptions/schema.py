"""The subscription queries and mutations.

A customer acts only on their own subscriptions (another customer's answers NOT_FOUND, as
if it did not exist); staff with MANAGE_USERS act on any. Every answer of a change says from
which cycle it applies and whether the change cutoff pushed it to the delivery after next.
"""

import graphene

from ..core.errors import require_permission
from .filters import CRMSubscriptionFilterInput
from .mutations import (
    CRMSubscriptionAddOnce,
    CRMSubscriptionCancel,
    CRMSubscriptionChangeInterval,
    CRMSubscriptionCreate,
    CRMSubscriptionMoveNext,
    CRMSubscriptionPause,
    CRMSubscriptionResume,
    CRMSubscriptionRetryRenewal,
    CRMSubscriptionSetAddress,
    CRMSubscriptionSetPreferences,
    CRMSubscriptionSetQuantity,
    CRMSubscriptionSkip,
    CRMSubscriptionSkipFailed,
    CRMSubscriptionSwap,
    CRMSubscriptionUnskip,
)
from .resolvers import (
    resolve_subscription_figures,
    resolve_subscription_offers,
    resolve_subscriptions,
)
from .types import (
    CRMSubscriptionCountableConnection,
    CRMSubscriptionFigures,
    CRMSubscriptionOffer,
)


class SubscriptionQueries(graphene.ObjectType):
    crm_subscription_offers = graphene.List(
        graphene.NonNull(CRMSubscriptionOffer),
        required=True,
        variant_ids=graphene.List(graphene.NonNull(graphene.String), required=True),
        description="The delivery intervals these variants (IDs or SKUs, at most 100) can be "
        "bought on subscription with; variants without are left out. For product pages: put "
        "one on the checkout line as crm.subscription_interval.",
    )
    crm_subscriptions = graphene.relay.ConnectionField(
        CRMSubscriptionCountableConnection,
        filter=CRMSubscriptionFilterInput(),
        description="Subscriptions by status, customer, product and next date (MANAGE_USERS).",
    )
    crm_subscription_figures = graphene.List(
        graphene.NonNull(CRMSubscriptionFigures),
        required=True,
        days=graphene.Int(default_value=30, description="The period for cancellations."),
        description="Per channel: active, paused, needing attention, churn (MANAGE_USERS).",
    )

    @staticmethod
    def resolve_crm_subscription_offers(_root, info, variant_ids):
        return resolve_subscription_offers(info, variant_ids)

    @staticmethod
    def resolve_crm_subscriptions(_root, info, filter=None, **args):
        require_permission(info)
        return resolve_subscriptions(info, filter, args)

    @staticmethod
    def resolve_crm_subscription_figures(_root, info, days):
        require_permission(info)
        return resolve_subscription_figures(days)


class SubscriptionMutations(graphene.ObjectType):
    # staff: start a subscription, act on failed renewals
    crm_subscription_create = CRMSubscriptionCreate.Field()
    crm_subscription_retry_renewal = CRMSubscriptionRetryRenewal.Field()
    crm_subscription_skip_failed = CRMSubscriptionSkipFailed.Field()
    # self-service (staff with MANAGE_USERS too)
    crm_subscription_set_quantity = CRMSubscriptionSetQuantity.Field()
    crm_subscription_swap = CRMSubscriptionSwap.Field()
    crm_subscription_add_once = CRMSubscriptionAddOnce.Field()
    crm_subscription_set_preferences = CRMSubscriptionSetPreferences.Field()
    crm_subscription_set_address = CRMSubscriptionSetAddress.Field()
    crm_subscription_skip = CRMSubscriptionSkip.Field()
    crm_subscription_unskip = CRMSubscriptionUnskip.Field()
    crm_subscription_change_interval = CRMSubscriptionChangeInterval.Field()
    crm_subscription_move_next = CRMSubscriptionMoveNext.Field()
    crm_subscription_pause = CRMSubscriptionPause.Field()
    crm_subscription_resume = CRMSubscriptionResume.Field()
    crm_subscription_cancel = CRMSubscriptionCancel.Field()

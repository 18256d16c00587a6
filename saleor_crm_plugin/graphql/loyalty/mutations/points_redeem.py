import graphene
from django.utils import timezone

from ....loyalty.redemption import redeem_for_gift_card
from ....loyalty.services import PointsError
from ....metadata import sync_customer_metadata
from ...core.customers import customer_by_id, own_profile
from ...core.errors import require_customer, require_permission
from ...core.types import money
from ..resolvers import points_of
from ..types import CRMGiftCard, CRMLoyaltyError, CRMPoints
from ..utils import loyalty_errors


class CRMPointsRedeem(graphene.Mutation):
    """Turn points into a gift card (the customer's own; staff with MANAGE_USERS for anyone)."""

    gift_card = graphene.Field(CRMGiftCard)
    points = graphene.Field(CRMPoints, description="The balance after the redemption.")
    errors = graphene.List(graphene.NonNull(CRMLoyaltyError), required=True)

    class Arguments:
        points = graphene.Int(required=True)
        currency = graphene.String(required=True, description="The gift card's currency.")
        request_id = graphene.String(
            required=True, description="Your id of this request: a retry with it redeems once."
        )
        customer_id = graphene.ID(description="Staff only: the customer (CRMCustomer or User).")

    @staticmethod
    def mutate(_root, info, points, currency, request_id, customer_id=None):
        if customer_id is None:
            requester = require_customer(info)
            profile = own_profile(requester)
        else:
            requester = require_permission(info)
        try:
            if customer_id is not None:
                profile = customer_by_id(customer_id)
            if profile is None:
                raise PointsError("points", f"{points} asked, 0 available to spend")
            redeemed = redeem_for_gift_card(
                info.context.host.config(),
                info.context.host,
                profile,
                points,
                currency,
                request_id,
                timezone.now(),
                actor=requester.actor,
            )
        except PointsError as error:
            return CRMPointsRedeem(gift_card=None, points=None, errors=loyalty_errors(error))
        sync_customer_metadata(info.context.host, [profile.pk])
        return CRMPointsRedeem(
            gift_card=CRMGiftCard(
                code=redeemed.code, amount=money(redeemed.amount, redeemed.currency)
            ),
            points=points_of(profile),
            errors=[],
        )

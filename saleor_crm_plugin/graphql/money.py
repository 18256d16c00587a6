"""Money in our GraphQL: the same shape as Saleor's `Money`."""

import graphene

__all__ = ["Money", "money"]


class Money(graphene.ObjectType):
    """An amount with its currency (the same shape as Saleor's `Money`)."""

    currency = graphene.String(required=True, description="Currency code (ISO 4217).")
    amount = graphene.Float(required=True, description="Amount in the currency's units.")


def money(amount, currency) -> Money:
    return Money(currency=currency, amount=amount)

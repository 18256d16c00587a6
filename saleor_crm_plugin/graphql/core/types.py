"""GraphQL types several domains share: money, and the ranges filters take."""

import graphene

__all__ = ["DateTimeRangeInput", "IntRangeInput", "Money", "money"]


class Money(graphene.ObjectType):
    """An amount with its currency (the same shape as Saleor's `Money`)."""

    currency = graphene.String(required=True, description="Currency code (ISO 4217).")
    amount = graphene.Float(required=True, description="Amount in the currency's units.")


def money(amount, currency) -> Money:
    return Money(currency=currency, amount=amount)


class IntRangeInput(graphene.InputObjectType):
    gte = graphene.Int(description="Greater than or equal to.")
    lte = graphene.Int(description="Less than or equal to.")


class DateTimeRangeInput(graphene.InputObjectType):
    gte = graphene.DateTime(description="At or after (with a time zone).")
    lte = graphene.DateTime(description="At or before (with a time zone).")

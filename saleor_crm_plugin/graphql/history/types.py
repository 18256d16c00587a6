"""The types of a customer's state on a past date (`history.replay.State`)."""

import graphene

from ..core.types import Money, money


class CRMRankAt(graphene.ObjectType):
    code = graphene.String(description="The rank held then; null before the first.")
    since = graphene.DateTime(description="Held since (the last change of code).")
    rule_version = graphene.String(description="The rank table of the last change.")
    table_version = graphene.String(
        description="The rank table in force on the date; null when none was stored yet."
    )
    reached = graphene.String(
        description="The rank the window's figures reached under that table (null: unknown)."
    )
    window_orders = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The orders the window counted, newest first.",
    )
    why = graphene.List(graphene.NonNull(graphene.String), required=True)


class CRMPointsAt(graphene.ObjectType):
    balance = graphene.Int(required=True, description="Available less owed.")
    available = graphene.Int(required=True)
    pending = graphene.Int(required=True)
    owed = graphene.Int(required=True)
    expiring_points = graphene.Int(required=True, description="Points of the next expiry.")
    expiring_at = graphene.DateTime(description="The next expiry after the date.")
    why = graphene.List(graphene.NonNull(graphene.String), required=True)

    @staticmethod
    def resolve_owed(root, _info):
        return root.debt


class CRMSpendAt(graphene.ObjectType):
    currency = graphene.String(required=True)
    order_count = graphene.Int(required=True)
    total_spent = graphene.Field(Money, required=True, description="Total less refunds then.")
    average_order = graphene.Field(Money, required=True)
    first_order_at = graphene.DateTime(required=True)
    last_order_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_order_count(root, _info):
        return root.orders

    @staticmethod
    def resolve_total_spent(root, _info):
        return money(root.spend, root.currency)

    @staticmethod
    def resolve_average_order(root, _info):
        return money(root.average, root.currency)


class CRMScoreAt(graphene.ObjectType):
    group = graphene.String(required=True)
    known = graphene.Boolean(
        required=True, description="False: no cut points were stored before the date."
    )
    r = graphene.Int()
    f = graphene.Int()
    m = graphene.Int()
    segment = graphene.String(description="Null: unknown, or the group was not scored then.")
    why = graphene.List(graphene.NonNull(graphene.String), required=True)


class CRMRuleSegmentAt(graphene.ObjectType):
    name = graphene.String(required=True)
    matched = graphene.Boolean(
        description="Null: the rule needs what the ledger cannot tell for a past date."
    )
    why = graphene.List(graphene.NonNull(graphene.String), required=True)


class CRMCustomerStateAt(graphene.ObjectType):
    """A customer's state on a past date, replayed from the ledger and the rules in force then."""

    at = graphene.DateTime(required=True)
    order_count = graphene.Int(required=True, description="Counted orders then.")
    first_order_at = graphene.DateTime()
    last_order_at = graphene.DateTime()
    spends = graphene.List(graphene.NonNull(CRMSpendAt), required=True)
    rank = graphene.Field(CRMRankAt, required=True)
    points = graphene.Field(CRMPointsAt, required=True)
    scores = graphene.List(graphene.NonNull(CRMScoreAt), required=True)
    rule_segments = graphene.List(graphene.NonNull(CRMRuleSegmentAt), required=True)
    why = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="About the orders, and what cannot be known for the date.",
    )

    @staticmethod
    def resolve_rule_segments(root, _info):
        return root.segments

"""GraphQL types of segments: rule segments, and the RFM picture of each currency."""

import graphene
from django.utils.text import slugify

from ...segments.models import SegmentSize
from ...segments.rule_services import size_history
from ..core.errors import InputError
from ..core.scalars import JSONString
from ..core.types import Money
from ..customers.types import CRMCustomer
from .enums import CRMSegmentErrorCode


class CRMSegmentSizePoint(graphene.ObjectType):
    evaluated_at = graphene.DateTime(required=True)
    customers = graphene.Int(required=True)


class CRMSegment(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    rule = JSONString(required=True)
    built_in = graphene.Boolean(required=True, description="One of the segments every store has.")
    customers = graphene.Int(required=True, description="Members at the last evaluation.")
    evaluated_at = graphene.DateTime()
    history = graphene.List(
        graphene.NonNull(CRMSegmentSizePoint),
        required=True,
        limit=graphene.Int(default_value=100, description="The newest sizes, at most 1000."),
        description="Sizes recorded at each evaluation, oldest first (members: crmCustomers "
        "with filter {segment: name}).",
    )

    @staticmethod
    def resolve_history(root, _info, limit):
        if not 1 <= limit <= 1000:
            raise InputError("limit", f"must be between 1 and 1000, not {limit}")
        return size_history(root, limit)

    @staticmethod
    def resolve_id(root, _info):
        if root.pk is None:
            return graphene.Node.to_global_id("CRMBuiltInSegment", slugify(root.name))
        return graphene.Node.to_global_id("CRMSegment", root.pk)

    @staticmethod
    def resolve_built_in(root, _info):
        return root.pk is None


class CRMSegmentPreview(graphene.ObjectType):
    customers = graphene.Int(required=True, description="How many customers the rule selects now.")
    sample = graphene.List(graphene.NonNull(CRMCustomer), required=True)


class CRMSegmentError(graphene.ObjectType):
    field = graphene.String(description="The input, or the rule's JSON path (`rule.all[0].value`).")
    message = graphene.String(required=True)
    code = graphene.Field(CRMSegmentErrorCode, required=True)


class CRMRuleField(graphene.ObjectType):
    """A field a rule condition can test, for building rules (`segments.rules.FIELDS`)."""

    name = graphene.String(required=True, description="The condition's `field`.")
    kind = graphene.String(
        required=True,
        description="What its value is: int, days, score, points (whole numbers), number (a "
        "decimal, e.g. a probability), money (an amount), datetime (ISO 8601 with a zone), segment, rank, place (lists of names), "
        "status (one of choices), flag, consent, subscription (true or false), bought (an ID).",
    )
    operators = graphene.List(graphene.NonNull(graphene.String), required=True)
    needs = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Keys the condition must also give: currency (money, predictions), group "
        "(RFM scores).",
    )
    within_days = graphene.Boolean(required=True, description="Takes `within_days` (optional).")
    choices = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The values it takes, where they are a fixed set (segments, ranks, states).",
    )


# --- the RFM picture (staff): segment sizes, revenue shares and the R-by-F grid ----------------


class CRMSegmentSize(graphene.ObjectType):
    name = graphene.String(required=True)
    customers = graphene.Int(required=True)
    share = graphene.Float(required=True, description="Share of the group's scored customers.")
    revenue = graphene.Field(Money, required=True, description="Their total spend.")
    revenue_share = graphene.Float(required=True, description="Share of the group's spend.")


class CRMGridRow(graphene.ObjectType):
    r = graphene.Int(required=True)
    customers_by_f = graphene.List(
        graphene.NonNull(graphene.Int), required=True, description="Customers with F 1..5."
    )


class CRMRfmPoint(graphene.ObjectType):
    """The segment sizes of one group at one recompute."""

    computed_at = graphene.DateTime(required=True)
    customers = graphene.Int(required=True)
    segments = graphene.List(graphene.NonNull(CRMSegmentSize), required=True)


class CRMRfmGroup(graphene.ObjectType):
    """The last recompute of one currency."""

    group = graphene.String(required=True)
    computed_at = graphene.DateTime(required=True)
    customers = graphene.Int(required=True)
    scoring = graphene.String(
        required=True,
        description="How the scores in force were set: quintiles (against the other customers) "
        "or fixed (the store's bins, the rfm-scoring setting).",
    )
    segments = graphene.List(graphene.NonNull(CRMSegmentSize), required=True)
    grid = graphene.List(
        graphene.NonNull(CRMGridRow), required=True, description="Rows R 5..1 (current scores)."
    )
    history = graphene.List(
        graphene.NonNull(CRMRfmPoint),
        required=True,
        limit=graphene.Int(default_value=30, description="The newest recomputes, at most 1000."),
        description="Segment sizes at each recompute, oldest first: who grows, who shrinks.",
    )

    @staticmethod
    def resolve_history(root, info, limit):
        if not 1 <= limit <= 1000:
            raise InputError("limit", f"must be between 1 and 1000, not {limit}")
        moments = (
            SegmentSize.objects.filter(group=root.group)
            .values_list("computed_at", flat=True)
            .distinct()
            .order_by("-computed_at")[:limit]
        )
        names = info.context.host.config().segment_names
        return [rfm_point(root.group, at, names) for at in reversed(list(moments))]


def rfm_point(group: str, at, names: tuple[str, ...]) -> CRMRfmPoint:
    """The sizes, shares and revenue of each segment of `group` recorded at `at`.

    Segments come in the order of the store's map; names recorded under an earlier map follow.
    """
    sizes = {s.segment: s for s in SegmentSize.objects.filter(group=group, computed_at=at)}
    customers = sum(s.customers for s in sizes.values())
    revenue = sum(s.revenue_amount for s in sizes.values())
    return CRMRfmPoint(
        computed_at=at,
        customers=customers,
        segments=[
            CRMSegmentSize(
                name=name,
                customers=sizes[name].customers,
                share=sizes[name].customers / customers if customers else 0.0,
                revenue=Money(currency=group, amount=sizes[name].revenue_amount),
                revenue_share=float(sizes[name].revenue_amount / revenue) if revenue else 0.0,
            )
            for name in [*names, *sorted(set(sizes) - set(names))]
            if name in sizes
        ],
    )

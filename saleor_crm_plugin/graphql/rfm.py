"""Staff view of the RFM picture: segment sizes, revenue shares and the R-by-F grid."""

import graphene
from django.db.models import Count, Max

from ..customers.models import CustomerSpend
from ..segments.models import SegmentSize
from .errors import InputError
from .money import Money


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
        return [_point(root.group, at, names) for at in reversed(list(moments))]


def _point(group: str, at, names: tuple[str, ...]) -> CRMRfmPoint:
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


def rfm_groups(names: tuple[str, ...], group: str | None = None) -> list[CRMRfmGroup]:
    """Return the latest recompute of every group (or of one), segments in the map's order."""
    latest = SegmentSize.objects.values("group").annotate(at=Max("computed_at"))
    if group is not None:
        latest = latest.filter(group=group.upper())
    result = []
    for row in latest.order_by("group"):
        point = _point(row["group"], row["at"], names)
        counts = {
            (r, f): n
            for r, f, n in CustomerSpend.objects.filter(
                currency=row["group"], segment__isnull=False
            )
            .values_list("r", "f")
            .annotate(n=Count("pk"))
            .values_list("r", "f", "n")
        }
        result.append(
            CRMRfmGroup(
                group=row["group"],
                computed_at=row["at"],
                customers=point.customers,
                segments=point.segments,
                grid=[
                    CRMGridRow(r=r, customers_by_f=[counts.get((r, f), 0) for f in range(1, 6)])
                    for r in range(5, 0, -1)
                ],
            )
        )
    return result

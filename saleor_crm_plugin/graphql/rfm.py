"""Staff view of the RFM picture: segment sizes, revenue shares and the R-by-F grid."""

import graphene
from django.db.models import Count, Max

from ..segments.models import CustomerScore, SegmentSize
from ..segments.rfm import SEGMENT_NAMES
from .types import Money


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


class CRMRfmGroup(graphene.ObjectType):
    """The last recompute of one currency."""

    group = graphene.String(required=True)
    computed_at = graphene.DateTime(required=True)
    customers = graphene.Int(required=True)
    segments = graphene.List(graphene.NonNull(CRMSegmentSize), required=True)
    grid = graphene.List(
        graphene.NonNull(CRMGridRow), required=True, description="Rows R 5..1 (current scores)."
    )


def rfm_groups(group: str | None = None) -> list[CRMRfmGroup]:
    """Return the latest recompute of every group (or of one), segments in the map's order."""
    latest = SegmentSize.objects.values("group").annotate(at=Max("computed_at"))
    if group is not None:
        latest = latest.filter(group=group.upper())
    result = []
    for row in latest.order_by("group"):
        sizes = {
            s.segment: s
            for s in SegmentSize.objects.filter(group=row["group"], computed_at=row["at"])
        }
        customers = sum(s.customers for s in sizes.values())
        revenue = sum(s.revenue_amount for s in sizes.values())
        counts = {
            (r, f): n
            for r, f, n in CustomerScore.objects.filter(group=row["group"])
            .values_list("r", "f")
            .annotate(n=Count("pk"))
            .values_list("r", "f", "n")
        }
        result.append(
            CRMRfmGroup(
                group=row["group"],
                computed_at=row["at"],
                customers=customers,
                segments=[
                    CRMSegmentSize(
                        name=name,
                        customers=sizes[name].customers,
                        share=sizes[name].customers / customers if customers else 0.0,
                        revenue=Money(currency=row["group"], amount=sizes[name].revenue_amount),
                        revenue_share=float(sizes[name].revenue_amount / revenue)
                        if revenue
                        else 0.0,
                    )
                    for name in SEGMENT_NAMES
                    if name in sizes
                ],
                grid=[
                    CRMGridRow(r=r, customers_by_f=[counts.get((r, f), 0) for f in range(1, 6)])
                    for r in range(5, 0, -1)
                ],
            )
        )
    return result

"""Resolvers of the segment and RFM queries."""

from django.db.models import Count, Max
from django.utils import timezone

from ...customers.models import CustomerSpend
from ...customers.search import attach_list_columns
from ...segments.bins import QUINTILES
from ...segments.models import RuleSegment, SegmentSize
from ...segments.rule_services import builtin_segments, count_members, select_members
from ...segments.rules import ACCOUNT_STATES, FIELDS, RuleError
from ...segments.services import scoring_methods
from ..core.errors import InputError
from .types import CRMGridRow, CRMRfmGroup, CRMRuleField, CRMSegmentPreview, rfm_point
from .utils import rule_field


def rule_fields(config) -> list[CRMRuleField]:
    choices = {
        "segment": list(config.segment_names),
        "rank": [rank.code for rank in config.loyalty.ladder.ranks],
        "status": list(ACCOUNT_STATES),
    }
    return [
        CRMRuleField(
            name=name,
            kind=spec.kind,
            operators=list(spec.ops),
            needs=list(spec.needs),
            within_days=spec.kind == "bought",
            choices=choices.get(spec.kind, []),
        )
        for name, spec in FIELDS.items()
    ]


def resolve_segments(info) -> list[RuleSegment]:
    """The built-in segments (counted now), then the saved ones."""
    config = info.context.host.config()
    now = timezone.now()
    built_in = [
        RuleSegment(
            name=name,
            rule=rule,
            customers=count_members(rule, config, now),
            evaluated_at=now,
        )
        for name, rule in builtin_segments(config.dormant_days).items()
    ]
    return built_in + list(RuleSegment.objects.all())


def resolve_segment_preview(info, rule, first) -> CRMSegmentPreview:
    if not 0 <= first <= 100:
        raise InputError("first", f"must be between 0 and 100, not {first}")
    try:
        host = info.context.host
        selection = select_members(rule, host.config(), host=host)
        count = selection.count()
    except RuleError as error:
        raise InputError(rule_field(error), error.message) from error
    sample = list(selection.profiles.prefetch_related("spends")[:first])
    attach_list_columns(sample, info.context.host)
    return CRMSegmentPreview(customers=count, sample=sample)


def rfm_groups(names: tuple[str, ...], group: str | None = None) -> list[CRMRfmGroup]:
    """Return the latest recompute of every group (or of one), segments in the map's order."""
    latest = SegmentSize.objects.values("group").annotate(at=Max("computed_at"))
    if group is not None:
        latest = latest.filter(group=group.upper())
    result = []
    scoring = scoring_methods()
    for row in latest.order_by("group"):
        point = rfm_point(row["group"], row["at"], names)
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
                scoring=scoring.get(row["group"], QUINTILES),
                segments=point.segments,
                grid=[
                    CRMGridRow(r=r, customers_by_f=[counts.get((r, f), 0) for f in range(1, 6)])
                    for r in range(5, 0, -1)
                ],
            )
        )
    return result

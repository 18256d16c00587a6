"""The writers and the reader of rule versions (`RuleVersion`).

The rules' own writers call these when a rule changes: the rank table's save
(`loyalty.membership.save_rank_settings`, and `evaluate_ranks` for a table changed in the
plugin's settings form), the RFM recompute's cut points (`segments.services`), and a rule
segment's save and deletion (`segments.rule_services`). A version equal to the one in force
is not written again.
"""

from datetime import datetime

from .models import RuleVersion
from .replay import Versions

__all__ = [
    "record_cut_points",
    "record_rank_table",
    "record_rule_segment",
    "versions_until",
]


def _in_force(kind: str, key: str) -> RuleVersion | None:
    return RuleVersion.objects.filter(kind=kind, key=key).order_by("-valid_from", "-pk").first()


def record_rank_table(loyalty, at: datetime, actor: str = "") -> bool:
    """Record the rank table of `loyalty` (a `LoyaltyConfig`) as in force from `at`, unless it
    already is. Returns whether a version was written."""
    version = loyalty.ladder_version
    current = _in_force(RuleVersion.RANKS, "")
    if current is not None and current.version == version:
        return False
    from ..loyalty.config import format_window

    ladder = loyalty.ladder
    RuleVersion.objects.create(
        kind=RuleVersion.RANKS,
        key="",
        version=version,
        valid_from=at,
        actor=actor,
        content={
            "text": loyalty.ladder_text,
            "window": format_window(ladder.window),
            "inactive_months": ladder.inactive_months,
        },
    )
    return True


def _cut_content(fitted: dict, segments) -> dict:
    return {
        "recency": list(fitted["recency"].bounds),
        "frequency": list(fitted["frequency"].bounds),
        "monetary": list(fitted["monetary"].bounds),
        "customers": fitted["recency"].customers,
        "method": fitted["recency"].method,
        "segments": None
        if segments is None
        else {name: [list(r), list(f)] for name, (r, f) in segments.items()},
    }


def record_cut_points(cut_points: dict, at: datetime, segments=None) -> int:
    """Record one recompute's cut points per group (and the segment map it scored with, when
    known) as in force from `at`; a group scored before and not now gets a null version.
    Returns the number of rows written."""
    groups = set(cut_points) | set(
        RuleVersion.objects.filter(kind=RuleVersion.RFM).values_list("key", flat=True)
    )
    rows = []
    for group in sorted(groups):
        fitted = cut_points.get(group)
        if fitted is None:
            current = _in_force(RuleVersion.RFM, group)
            if current is None or current.content is None:
                continue
            content = None
        else:
            content = _cut_content(fitted, segments)
        rows.append(
            RuleVersion(
                kind=RuleVersion.RFM,
                key=group,
                version=at.isoformat(),
                valid_from=at,
                content=content,
            )
        )
    RuleVersion.objects.bulk_create(rows)
    return len(rows)


def record_rule_segment(segment_id: int, name: str | None, rule, at: datetime) -> bool:
    """Record a saved rule segment's definition (`name` None: deleted) as in force from `at`."""
    content = None if name is None else {"name": name, "rule": rule}
    current = _in_force(RuleVersion.RULE_SEGMENT, str(segment_id))
    if current is not None and current.content == content:
        return False
    RuleVersion.objects.create(
        kind=RuleVersion.RULE_SEGMENT,
        key=str(segment_id),
        version=at.isoformat(),
        valid_from=at,
        content=content,
    )
    return True


def versions_until(at: datetime) -> Versions:
    """Every version that took effect up to `at`, as the plain data the replay reads."""
    rows = RuleVersion.objects.filter(valid_from__lte=at).order_by("valid_from", "pk")
    return Versions.from_rows(
        (row.kind, row.key, row.version, row.valid_from, row.content) for row in rows
    )

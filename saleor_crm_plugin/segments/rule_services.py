"""Saved rule segments: the only writer of `RuleSegment` rows."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..conf import CRMConfig
from ..customers.models import CustomerProfile, CustomerSpend
from ..errors import FieldError
from ..history.versions import record_rule_segment
from .models import RuleSegment, RuleSegmentSize
from .rules import compile_rule, row_currency, validate_rule

__all__ = [
    "SegmentError",
    "Selection",
    "builtin_segments",
    "count_members",
    "delete_segment",
    "evaluate_all",
    "evaluate_segment",
    "members",
    "rule_of_segment",
    "save_segment",
    "select_members",
    "size_history",
]


def builtin_segments(dormant_days: int) -> dict[str, dict]:
    """The segments every store has, as rules (`dormant_days` is the plugin setting)."""
    dormant = {"field": "days_since_last_order", "op": "gte", "value": dormant_days}
    return {
        "First-time buyers": {"field": "order_count", "op": "eq", "value": 1},
        "Repeat buyers": {"field": "order_count", "op": "gte", "value": 2},
        "Dormant": dormant,
        "About to lapse": {
            "all": [
                {"field": "past_usual_interval", "op": "eq", "value": True},
                {"not": dormant},
            ]
        },
    }


class SegmentError(FieldError):
    """A segment cannot be saved; `field` names the input (or the rule path)."""


def rule_of_segment(name: str, dormant_days: int) -> dict | None:
    """Return the rule of a built-in or saved segment by name, None when there is none."""
    built_in = builtin_segments(dormant_days)
    if name in built_in:
        return built_in[name]
    return RuleSegment.objects.filter(name=name).values_list("rule", flat=True).first()


@dataclass(frozen=True)
class Selection:
    """The customers a rule selects: `profiles` by id, and `count()` of them.

    `rows` is None unless every selected customer has a spend row in the rule's
    `row_currency`: then the rule is also compiled over those rows (one per customer, with
    copies of the profile's figures), which the count reads without joining the profiles.
    """

    profiles: QuerySet
    rows: QuerySet | None

    def count(self) -> int:
        return (self.profiles if self.rows is None else self.rows).count()


def select_members(rule, config: CRMConfig, as_of: datetime | None = None, host=None) -> Selection:
    """Validate and compile a rule once (raises `RuleError` for a bad rule)."""
    valid = validate_rule(rule, config.segment_names)
    as_of = as_of or timezone.now()
    currency = row_currency(valid)
    if currency is None:
        query = compile_rule(valid, as_of, config.zone, host)
        profiles = CustomerProfile.objects.filter(query, anonymized_at__isnull=True)
        return Selection(profiles.order_by("pk"), None)
    rows = CustomerSpend.objects.filter(
        compile_rule(valid, as_of, config.zone, host, row=currency),
        currency=currency,
        profile_active=True,
    )
    profiles = CustomerProfile.objects.filter(pk__in=rows.values("profile_id"))
    return Selection(profiles.order_by("pk"), rows)


def members(rule, config: CRMConfig, as_of: datetime | None = None, host=None) -> QuerySet:
    """Return the profiles a rule selects now, by id (raises `RuleError` for a bad rule)."""
    return select_members(rule, config, as_of, host).profiles


def count_members(rule, config: CRMConfig, as_of: datetime | None = None, host=None) -> int:
    """How many customers a rule selects now (raises `RuleError` for a bad rule)."""
    return select_members(rule, config, as_of, host).count()


def save_segment(
    name: str, rule, config: CRMConfig, segment: RuleSegment | None = None
) -> RuleSegment:
    """Create (or update) a segment after validating its name and rule; count its members.

    Nothing is written when the name or the rule is wrong. Each save records the size.
    """
    name = (name or "").strip()
    if not name:
        raise SegmentError("name", "is required")
    if len(name) > 128:
        raise SegmentError("name", "is longer than 128 characters")
    if name in builtin_segments(1):
        raise SegmentError("name", f"'{name}' is the name of a built-in segment")
    now = timezone.now()
    count = count_members(rule, config, now)  # validates the rule first
    segment = segment or RuleSegment()
    segment.name, segment.rule = name, rule
    segment.customers, segment.evaluated_at = count, now
    try:
        with transaction.atomic():
            segment.save()
            segment.sizes.exclude(name=name).update(name=name)
            record_rule_segment(segment.pk, name, rule, now)
            RuleSegmentSize.objects.create(
                segment=segment, name=name, evaluated_at=now, customers=count
            )
    except IntegrityError:
        raise SegmentError("name", f"a segment named '{name}' exists already") from None
    return segment


def delete_segment(segment: RuleSegment) -> None:
    """Delete a saved segment and its size history (built-in segments cannot be deleted)."""
    with transaction.atomic():
        record_rule_segment(segment.pk, None, None, timezone.now())
        segment.delete()


def evaluate_segment(segment: RuleSegment, config: CRMConfig, as_of: datetime | None = None) -> int:
    """Recount a saved segment's members now and record the size."""
    as_of = as_of or timezone.now()
    with transaction.atomic():
        segment.customers = count_members(segment.rule, config, as_of)
        segment.evaluated_at = as_of
        segment.save(update_fields=["customers", "evaluated_at", "updated_at"])
        RuleSegmentSize.objects.create(
            segment=segment, name=segment.name, evaluated_at=as_of, customers=segment.customers
        )
    return segment.customers


def evaluate_all(config: CRMConfig, as_of: datetime | None = None) -> dict:
    """Recount the built-in and every saved segment at one moment; record each size.

    A saved rule that no longer validates (e.g. it names a segment the map dropped) is left
    as it was and reported, instead of stopping the others.
    """
    from .rules import RuleError

    as_of = as_of or timezone.now()
    counts = {}
    for name, rule in builtin_segments(config.dormant_days).items():
        count = count_members(rule, config, as_of)
        RuleSegmentSize.objects.create(name=name, evaluated_at=as_of, customers=count)
        counts[name] = count
    for segment in RuleSegment.objects.all():
        try:
            counts[segment.name] = evaluate_segment(segment, config, as_of)
        except RuleError as error:
            counts[segment.name] = f"not evaluated: {error}"
    return counts


def size_history(segment: RuleSegment, limit: int = 100) -> list[RuleSegmentSize]:
    """The newest `limit` recorded sizes of a segment, oldest first.

    A saved segment (`pk` set) keeps its history through renames; a built-in one is found by
    its name.
    """
    rows = (
        RuleSegmentSize.objects.filter(segment=segment)
        if segment.pk is not None
        else RuleSegmentSize.objects.filter(segment__isnull=True, name=segment.name)
    )
    return list(reversed(rows.order_by("-evaluated_at")[:limit]))

"""Saved rule segments: the only writer of `RuleSegment` rows."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..customers.models import CustomerProfile
from ..errors import FieldError
from .models import RuleSegment
from .rules import compile_rule, validate_rule

__all__ = ["SegmentError", "builtin_segments", "evaluate_segment", "members", "save_segment"]


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


def members(rule, zone: ZoneInfo, as_of: datetime | None = None) -> QuerySet:
    """Return the profiles a rule selects now (raises `RuleError` for a bad rule)."""
    query = compile_rule(validate_rule(rule), as_of or timezone.now(), zone)
    return CustomerProfile.objects.filter(query, anonymized_at__isnull=True).order_by("pk")


def save_segment(
    name: str, rule, zone: ZoneInfo, segment: RuleSegment | None = None
) -> RuleSegment:
    """Create (or update) a segment after validating its name and rule; count its members."""
    name = (name or "").strip()
    if not name:
        raise SegmentError("name", "is required")
    if len(name) > 128:
        raise SegmentError("name", "is longer than 128 characters")
    count = members(rule, zone).count()  # validates the rule first
    segment = segment or RuleSegment()
    segment.name, segment.rule = name, rule
    segment.customers, segment.evaluated_at = count, timezone.now()
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise SegmentError("name", f"a segment named '{name}' exists already") from None
    return segment


def evaluate_segment(segment: RuleSegment, zone: ZoneInfo) -> int:
    """Recount a saved segment's members now."""
    segment.customers = members(segment.rule, zone).count()
    segment.evaluated_at = timezone.now()
    segment.save(update_fields=["customers", "evaluated_at", "updated_at"])
    return segment.customers

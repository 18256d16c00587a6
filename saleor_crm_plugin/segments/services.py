"""Full RFM recompute: the only writer of scores, cut points and segment sizes."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from django.db import transaction
from django.utils import timezone

from ..customers.models import CustomerSpend
from ..money import quantize_amount
from .models import CustomerScore, ScoreCutPoints, SegmentSize
from .rfm import CutPoints, days_since, score_rfm, score_values, segment_of

__all__ = ["RecomputeReport", "recompute_rfm", "rescore_profiles"]

BATCH = 2000


@dataclass(frozen=True)
class RecomputeReport:
    scored: int
    written: int
    removed: int
    unscored_groups: tuple[str, ...]
    computed_at: datetime
    # Profiles whose scores were written or removed (their metadata needs rewriting).
    changed_profiles: tuple[int, ...] = ()


def _customers() -> pd.DataFrame:
    """Every customer with a counted order, once per currency (the RFM group)."""
    rows = CustomerSpend.objects.filter(
        profile__anonymized_at__isnull=True, order_count__gt=0
    ).values_list("profile_id", "currency", "last_order_at", "order_count", "total_spent_amount")
    return pd.DataFrame(
        list(rows),
        columns=["customer_id", "group", "last_order_at", "order_count", "monetary"],
    )


def recompute_rfm(zone: ZoneInfo, as_of: datetime | None = None) -> RecomputeReport:
    """Score every customer per currency; write only the scores that changed.

    Also stores each group's cut points (to rescore one customer later) and records the size
    and revenue of every segment at this recompute.
    """
    as_of = as_of or timezone.now()
    customers = _customers()
    if customers.empty:
        scored = customers.assign(r=[], f=[], m=[], segment=[])
        cut_points = {}
    else:
        scored, cut_points = score_rfm(customers, as_of, zone)
    scored = scored.dropna(subset=["r"])
    wanted = {
        (int(row.customer_id), row.group): (int(row.r), int(row.f), int(row.m), row.segment)
        for row in scored.itertuples()
    }
    with transaction.atomic():
        existing = {
            (profile_id, group): (r, f, m, segment, pk)
            for profile_id, group, r, f, m, segment, pk in CustomerScore.objects.values_list(
                "profile_id", "group", "r", "f", "m", "segment", "pk"
            )
        }
        stale_keys = [key for key in existing if key not in wanted]
        stale = [existing[key][4] for key in stale_keys]
        removed = CustomerScore.objects.filter(pk__in=stale).delete()[0] if stale else 0
        changed = [
            CustomerScore(
                profile_id=key[0], group=key[1], r=r, f=f, m=m, segment=segment, scored_at=as_of
            )
            for key, (r, f, m, segment) in wanted.items()
            if existing.get(key, (None,) * 4)[:4] != (r, f, m, segment)
        ]
        CustomerScore.objects.bulk_create(
            changed,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["profile", "group"],
            update_fields=["r", "f", "m", "segment", "scored_at"],
        )
        for group, fitted in cut_points.items():
            ScoreCutPoints.objects.update_or_create(
                group=group,
                defaults={
                    "recency": list(fitted["recency"].bounds),
                    "frequency": list(fitted["frequency"].bounds),
                    "monetary": list(fitted["monetary"].bounds),
                    "customers": fitted["recency"].customers,
                    "computed_at": as_of,
                },
            )
        ScoreCutPoints.objects.exclude(group__in=list(cut_points)).delete()
        _record_sizes(scored, as_of)
    groups = set(customers["group"]) if not customers.empty else set()
    return RecomputeReport(
        scored=len(wanted),
        written=len(changed),
        removed=removed,
        unscored_groups=tuple(sorted(groups - set(cut_points))),
        computed_at=as_of,
        changed_profiles=tuple(
            sorted({score.profile_id for score in changed} | {key[0] for key in stale_keys})
        ),
    )


def _record_sizes(scored: pd.DataFrame, as_of: datetime) -> None:
    sizes: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0)])
    for row in scored.itertuples():
        size = sizes[(row.group, row.segment)]
        size[0] += 1
        size[1] += Decimal(row.monetary)
    SegmentSize.objects.bulk_create(
        [
            SegmentSize(
                computed_at=as_of,
                group=group,
                segment=segment,
                customers=count,
                revenue_amount=quantize_amount(revenue, group),  # groups are currencies
            )
            for (group, segment), (count, revenue) in sorted(sizes.items())
        ]
    )


def rescore_profiles(profile_ids, zone: ZoneInfo, as_of: datetime | None = None) -> int:
    """Rescore these customers at once against the last full recompute's cut points.

    Used after an order changes a customer's figures; a group that has not been recomputed
    yet (no cut points) is left for the next full recompute. Returns how many scores changed.
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return 0
    as_of = as_of or timezone.now()
    cut_points = {c.group: c for c in ScoreCutPoints.objects.filter(group__in=_groups_of(ids))}
    rows = CustomerSpend.objects.filter(
        profile_id__in=ids,
        profile__anonymized_at__isnull=True,
        order_count__gt=0,
        currency__in=list(cut_points),
    ).values_list("profile_id", "currency", "last_order_at", "order_count", "total_spent_amount")
    wanted = {}
    for profile_id, group, last_order_at, order_count, spent in rows:
        stored = cut_points[group]
        r, f, m = (
            int(score_values([value], CutPoints(tuple(bounds), stored.customers))[0])
            for value, bounds in (
                (-days_since(last_order_at, as_of, zone), stored.recency),
                (order_count, stored.frequency),
                (float(spent), stored.monetary),
            )
        )
        wanted[(profile_id, group)] = (r, f, m, segment_of(r, f))
    with transaction.atomic():
        existing = {
            (profile_id, group): (r, f, m, segment)
            for profile_id, group, r, f, m, segment in CustomerScore.objects.filter(
                profile_id__in=ids
            ).values_list("profile_id", "group", "r", "f", "m", "segment")
        }
        gone = [key for key in existing if key not in wanted and key[1] in cut_points]
        for profile_id, group in gone:
            CustomerScore.objects.filter(profile_id=profile_id, group=group).delete()
        changed = [
            CustomerScore(
                profile_id=key[0], group=key[1], r=r, f=f, m=m, segment=segment, scored_at=as_of
            )
            for key, (r, f, m, segment) in wanted.items()
            if existing.get(key) != (r, f, m, segment)
        ]
        CustomerScore.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["profile", "group"],
            update_fields=["r", "f", "m", "segment", "scored_at"],
        )
    return len(changed) + len(gone)


def _groups_of(profile_ids) -> list[str]:
    return list(
        CustomerSpend.objects.filter(profile_id__in=profile_ids)
        .values_list("currency", flat=True)
        .distinct()
    )

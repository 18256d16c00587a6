"""Retention: guest profiles without an order for the configured years are erased.

A guest profile is a keyed digest of an email with the orders placed under it; after
`guest-retention-years` without an order (a guest profile stands on its orders: it has
one) the digest goes from the profile and its orders, as when a customer is deleted: the
figures stay in reports, no longer anyone's. Batched (one transaction a batch, the emails
locked against ingestion), audited (one `guest_erased` row a profile), and idempotent: an
erased profile is no guest any more, so running again finds nothing.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef

from ..audit.models import AuditEvent
from ..audit.services import record_each
from ..customers.ingest import erase_guest_profiles
from ..customers.merge_models import ProfileMerge
from ..customers.models import CustomerProfile, OrderRecord
from ..dates import add_months

__all__ = ["ACTOR", "erase_old_guests", "retention_cutoff"]

ACTOR = "system:retention"
BATCH = 1000


def retention_cutoff(now: datetime, years: int) -> datetime:
    """The moment `years` before `now` (29 February falls back to the 28th)."""
    return add_months(now, -12 * years)


def _candidates(cutoff: datetime, after: int, limit: int) -> list[int]:
    recent = OrderRecord.objects.filter(profile=OuterRef("pk"), placed_at__gte=cutoff)
    # A guest merged into another profile lends it its orders while the merge holds: kept.
    merged = ProfileMerge.objects.filter(absorbed=OuterRef("pk"), unmerged_at__isnull=True)
    return list(
        CustomerProfile.objects.filter(
            pk__gt=after,
            user_id__isnull=True,
            anonymized_at__isnull=True,
        )
        .exclude(Exists(recent))
        .exclude(Exists(merged))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def erase_old_guests(years: int | None, now: datetime, batch_size: int = BATCH) -> int:
    """Erase every guest profile with no order placed in the last `years` (None: retention is
    off, nothing happens); return how many were erased."""
    if years is None:
        return 0
    cutoff = retention_cutoff(now, years)
    erased, after = 0, 0
    while True:
        ids = _candidates(cutoff, after, batch_size)
        if not ids:
            return erased
        after = ids[-1]
        with transaction.atomic():
            done = erase_guest_profiles(ids, now, idle_since=cutoff)
            record_each(
                AuditEvent.GUEST_ERASED,
                ACTOR,
                now,
                done,
                reason=f"no order for {years} years",
                detail={"years": years, "cutoff": cutoff.isoformat()},
            )
        erased += len(done)

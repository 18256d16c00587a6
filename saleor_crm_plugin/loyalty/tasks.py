"""Celery tasks of loyalty: the hourly expiry and rank review, the review after a rank table
changed, the nightly free points months. Thin wrappers over the services."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from ..analytics.figures import refresh
from ..customers.models import profile_id_ranges
from ..host import get_host
from ..metadata import sync_many_customer_metadata
from ..task_options import RETRY, chunk_size
from .expiry import expire_points
from .membership import review_due, review_ranks
from .models import PointsLot
from .point_report_services import compute_free_points_chunk, start_free_points_run

# Lots that became available within this long before a run get their customers' crm.points
# rewritten (the task runs every hour; the margin covers a late or skipped run).
_RELEASED_WITHIN = timedelta(hours=3)


@shared_task(name="saleor_crm.expire_points", **RETRY)
def expire_points_task() -> dict:
    """Expire the points that are due, and refresh crm.points where pending points matured."""
    host = get_host()
    now = timezone.now()
    with host.database_access():
        report = expire_points(host.config(), now)
        matured = PointsLot.objects.filter(
            remaining__gt=0, available_at__gt=now - _RELEASED_WITHIN, available_at__lte=now
        ).values_list("account__profile_id", flat=True)
        written = sync_many_customer_metadata(host, [*report.profile_ids, *matured])
        refresh("points_liability", now)
    return {
        "accounts": report.accounts,
        "lots": report.lots,
        "points": report.points,
        "metadata_written": written,
    }


def _review_in_chunks(everyone: bool, version: str | None) -> int:
    """Enqueue one `review_ranks_chunk_task` per range of profile ids; return how many."""
    ranges = profile_id_ranges(chunk_size())
    for low, high in ranges:
        review_ranks_chunk_task.delay(low, high, everyone, version)
    return len(ranges)


@shared_task(name="saleor_crm.review_ranks", **RETRY)
def review_ranks_task() -> dict:
    """Review the ranks whose period ended (downgrades happen here) and give unranked
    customers their first, split into chunk tasks that any number of workers take."""
    host = get_host()
    with host.database_access():
        due = review_due(host.config(), timezone.now())
        chunks = _review_in_chunks(False, None) if due else 0
    return {"chunks": chunks}


@shared_task(name="saleor_crm.apply_rank_settings", **RETRY)
def apply_rank_settings_task(version: str) -> dict:
    """Review every customer's rank under the rank table just saved (`version`, its digest), as
    its what-if preview showed, in chunk tasks. A table saved again since is left to its own
    run."""
    host = get_host()
    with host.database_access():
        current = host.config().loyalty.ladder_version
        if current != version:
            return {"skipped": f"the rank table is now {current}"}
        chunks = _review_in_chunks(True, version)
    return {"chunks": chunks}


@shared_task(name="saleor_crm.review_ranks_chunk", **RETRY)
def review_ranks_chunk_task(
    low: int, high: int, everyone: bool = False, version: str | None = None
) -> dict:
    """Review the ranks of profile ids `low` to `high` (every one with `everyone`, else those
    due), then rewrite the changed customers' metadata. Idempotent: a second run finds
    nothing to change. With `version`, a rank table saved since makes it skip."""
    host = get_host()
    with host.database_access():
        config = host.config()
        if version is not None and config.loyalty.ladder_version != version:
            return {"skipped": f"the rank table is now {config.loyalty.ladder_version}"}
        report = review_ranks(config, timezone.now(), everyone=everyone, low=low, high=high)
        written = sync_many_customer_metadata(host, report.profile_ids)
    return {"reviewed": report.reviewed, "changed": report.changed, "metadata_written": written}


@shared_task(name="saleor_crm.compute_free_points_months", **RETRY)
def compute_free_points_months_task() -> dict:
    """Compute every free points month again (daily, through beat, and when staff ask): one
    chunk task per range of points account ids, any worker taking one; the last one puts the
    months in force in place of the previous ones."""
    host = get_host()
    with host.database_access():
        run = start_free_points_run(host.config(), timezone.now(), chunk_size())
        chunk_ids = list(run.chunk_set.order_by("low").values_list("pk", flat=True))
    for chunk_id in chunk_ids:
        compute_free_points_chunk_task.delay(chunk_id)
    return {"run": run.pk, "chunks": len(chunk_ids)}


@shared_task(name="saleor_crm.compute_free_points_chunk", **RETRY)
def compute_free_points_chunk_task(chunk_id: int) -> dict:
    """Compute one chunk's free points months (idempotent: a chunk done does nothing)."""
    host = get_host()
    with host.database_access():
        report = compute_free_points_chunk(chunk_id, host.config())
    return {
        "customers": report.customers,
        "rows": report.rows,
        "repeated": report.repeated,
        "gone": report.gone,
        "finished_run": report.finished_run,
    }

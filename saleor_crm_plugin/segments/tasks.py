"""Celery tasks of the segments: thin wrappers around the services."""

from celery import shared_task

from ..host import get_host
from ..metadata import sync_many_customer_metadata
from ..task_options import RETRY, chunk_size
from .rule_services import evaluate_all
from .services import score_recompute_chunk, start_recompute


@shared_task(name="saleor_crm.recompute_rfm", **RETRY)
def recompute_rfm_task() -> dict:
    """Start a full RFM recompute: fit the cut points, then one chunk task per id range.

    Any number of workers score the chunks; the last one records the segment sizes.
    """
    host = get_host()
    with host.database_access():
        config = host.config()
        run = start_recompute(
            config.zone, chunk_size(), bins=config.rfm_bins, segments=config.segment_map
        )
        chunk_ids = list(run.chunk_set.order_by("low").values_list("pk", flat=True))
    for chunk_id in chunk_ids:
        recompute_rfm_chunk_task.delay(chunk_id)
    return {"run": run.pk, "scored": run.scored, "chunks": len(chunk_ids)}


@shared_task(name="saleor_crm.recompute_rfm_chunk", **RETRY)
def recompute_rfm_chunk_task(chunk_id: int) -> dict:
    """Score one chunk of a recompute (idempotent), then rewrite the changed customers' metadata."""
    host = get_host()
    with host.database_access():
        config = host.config()
        report = score_recompute_chunk(chunk_id, config.zone, config.segment_map)
        metadata_written = sync_many_customer_metadata(host, report.changed_profiles)
    return {
        "scored": report.scored,
        "written": report.written,
        "removed": report.removed,
        "repeated": report.repeated,
        "superseded": report.superseded,
        "finished_run": report.finished_run,
        "metadata_written": metadata_written,
    }


@shared_task(name="saleor_crm.evaluate_segments", **RETRY)
def evaluate_segments_task() -> dict:
    """Recount the built-in and every saved rule segment, recording their sizes."""
    host = get_host()
    with host.database_access():
        return evaluate_all(host.config())

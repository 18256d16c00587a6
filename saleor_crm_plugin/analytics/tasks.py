"""Celery tasks of the analytics: the nightly refit of the predictions, the basket pairs and
the reports."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from ..customers.models import profile_id_ranges
from ..host import get_host
from ..metadata import sync_many_customer_metadata
from ..task_options import RETRY, chunk_size
from .basket_services import compute_baskets
from .predictions import refit, score_range
from .report_services import compute_reports


@shared_task(name="saleor_crm.refit_predictions", **RETRY)
def refit_predictions_task() -> dict:
    """Fit and back-test every currency (daily, through beat), then score the customers with
    the fits in force in chunks of profile ids, one task a chunk (any worker takes one)."""
    host = get_host()
    now = timezone.now()
    with host.database_access():
        config = host.config()
        fits = refit(now, config.prediction_model, config.prediction_holdout_weeks, chunk_size=None)
        ranges = profile_id_ranges(chunk_size()) if any(fit.in_force for fit in fits) else []
    for low, high in ranges:
        score_predictions_chunk_task.delay(low, high, now.isoformat())
    return {
        "chunks": len(ranges),
        "fits": {
            fit.currency: {
                "status": fit.status,
                "customers": fit.customers,
                "seconds": round(fit.seconds, 2),
                **({"error": fit.error} if fit.error else {}),
            }
            for fit in fits
        },
    }


@shared_task(name="saleor_crm.score_predictions_chunk", **RETRY)
def score_predictions_chunk_task(low: int, high: int, as_of: str) -> dict:
    """Score one chunk of profile ids with the fits in force (idempotent: the same rows again),
    then bring those customers' `crm.*` prediction keys up to date (only changes are written)."""
    host = get_host()
    with host.database_access():
        ids = score_range(low, high, datetime.fromisoformat(as_of))
        metadata_written = sync_many_customer_metadata(host, ids)
    return {"predicted": len(ids), "metadata_written": metadata_written}


@shared_task(name="saleor_crm.compute_baskets", **RETRY)
def compute_baskets_task() -> dict:
    """Count and store every channel's product pairs (daily, through beat). Running it again
    replaces the pairs with the same ones."""
    host = get_host()
    with host.database_access():
        config = host.config()
        runs = compute_baskets(
            timezone.now(),
            config.basket_window_days,
            config.basket_min_count,
            config.basket_min_share,
        )
    return {
        f"{run.channel} {run.kind}": {
            "transactions": run.transactions,
            "pairs": run.pairs,
            "seconds": round(run.seconds, 2),
        }
        for run in runs
    }


@shared_task(name="saleor_crm.compute_reports", **RETRY)
def compute_reports_task() -> dict:
    """Compute the repeat and retention reports as of now and put them in force (daily,
    through beat). Running it again computes the same reports again and replaces them."""
    host = get_host()
    with host.database_access():
        config = host.config()
        now = timezone.now()
        codes = [rank.code for rank in config.loyalty.ladder.ranks]
        run = compute_reports(now, now, codes)
    return {"run": run.pk, "as_of": run.as_of.isoformat(), "seconds": run.seconds}

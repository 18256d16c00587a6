"""Celery tasks of the analytics: the nightly refit of the predictions, the basket pairs and
the reports."""

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..metadata import sync_all_customer_metadata
from ..task_options import RETRY
from .basket_services import compute_baskets
from .predictions import refit
from .report_services import compute_reports


@shared_task(name="saleor_crm.refit_predictions", **RETRY)
def refit_predictions_task() -> dict:
    """Fit, back-test and score every currency (daily, through beat), then bring the
    customers' `crm.*` prediction keys up to date (only those that changed are written)."""
    host = get_host()
    with host.database_access():
        config = host.config()
        fits = refit(timezone.now(), config.prediction_model, config.prediction_holdout_weeks)
        metadata_written = (
            sync_all_customer_metadata(host) if any(fit.in_force for fit in fits) else 0
        )
    return {
        "metadata_written": metadata_written,
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

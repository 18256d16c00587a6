"""Celery tasks of the analytics: the nightly refit of the predictions and the reports."""

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..task_options import RETRY
from .predictions import refit
from .report_services import compute_reports


@shared_task(name="saleor_crm.refit_predictions", **RETRY)
def refit_predictions_task() -> dict:
    """Fit, back-test and score every currency (daily, through beat)."""
    host = get_host()
    with host.database_access():
        config = host.config()
        fits = refit(timezone.now(), config.prediction_model, config.prediction_holdout_weeks)
    return {
        fit.currency: {
            "status": fit.status,
            "customers": fit.customers,
            "seconds": round(fit.seconds, 2),
            **({"error": fit.error} if fit.error else {}),
        }
        for fit in fits
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

"""The nightly refit: fit the lifetime models to each currency's orders in the ledger, back-test
them, and store every customer's predictions (`CustomerPrediction`) with the fit
(`PredictionFit`). Pages and GraphQL read what is stored; nothing here runs in a request.

A currency's customers are its profiles with counted orders; a deleted customer's orders help
the fit but get no prediction row. A fit that fails to converge is stored with its error and
the previous fit's predictions stay in force.
"""

import logging
import time
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import transaction

from ..customers.models import CustomerProfile, OrderRecord, profile_id_ranges
from ..expressions import AnyOf
from ..money import quantize_amount
from ..rows import add_rows
from ..task_options import DEFAULT_CHUNK_SIZE
from . import clv, lifetime
from .models import CustomerPrediction, PredictionFit

__all__ = [
    "currencies",
    "ledger_orders",
    "refit",
    "refit_currency",
    "score_profiles",
    "score_range",
]

logger = logging.getLogger(__name__)

_PREDICTION_FIELDS = [
    "profile",
    "currency",
    "fit",
    "p_alive",
    "expected_30",
    "expected_90",
    "expected_365",
    "next_order_at",
    "expected_value",
    "clv",
    "typical_gap_days",
    "overdue",
    "scored_at",
]


def currencies(as_of: datetime) -> list[str]:
    """The currencies with counted orders placed before `as_of`."""
    return sorted(
        OrderRecord.objects.filter(counts=True, placed_at__lt=as_of)
        .order_by()
        .values_list("currency", flat=True)
        .distinct()
    )


def ledger_orders(currency: str, as_of: datetime) -> pd.DataFrame:
    """The counted orders in `currency` placed before `as_of`: profile_id, placed_at, amount
    (what the customer spent on it)."""
    rows = OrderRecord.objects.filter(
        counts=True, currency=currency, placed_at__lt=as_of
    ).values_list("profile_id", "placed_at", "net_spend_amount")
    return pd.DataFrame(
        list(rows.iterator(chunk_size=20_000)), columns=["profile_id", "placed_at", "amount"]
    )


def refit(
    as_of: datetime,
    frequency_model: str,
    holdout_weeks: int,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
) -> list[PredictionFit]:
    """Refit every currency (`refit_currency`); return the fits, failed ones included.

    Then score every customer with the fits in force, `chunk_size` profile ids at a time
    (`score_range`); None leaves the scoring to the caller (the nightly task gives each range
    to a chunk task, so every worker of the store takes a share).
    """
    fits = [
        refit_currency(currency, as_of, frequency_model, holdout_weeks)
        for currency in currencies(as_of)
    ]
    if chunk_size is not None:
        for low, high in profile_id_ranges(chunk_size):
            score_range(low, high, as_of)
    return fits


def refit_currency(
    currency: str, as_of: datetime, frequency_model: str, holdout_weeks: int
) -> PredictionFit:
    """Fit and back-test one currency; store the fit, and when it converged, put it in force
    (its customers are scored by `score_range`: until then they keep the previous fit's
    predictions, each row naming its fit)."""
    started = time.monotonic()
    orders = ledger_orders(currency, as_of)
    summary = lifetime.summarise(orders, as_of, customer="profile_id")
    fit = PredictionFit(
        currency=currency,
        model=frequency_model,
        as_of=as_of,
        customers=len(summary),
        repeat_customers=int((summary.x > 0).sum()),
    )
    try:
        model = lifetime.fit_model(summary, frequency_model)
    except (clv.FitFailed, ValueError) as error:
        fit.status, fit.error = PredictionFit.FAILED, str(error)
        fit.seconds = time.monotonic() - started
        fit.save()
        logger.warning("saleor-crm: the %s prediction fit failed: %s", currency, error)
        return fit
    fit.status = PredictionFit.OK
    fit.params = model.frequency.params
    fit.log_likelihood = model.frequency.log_likelihood
    if model.spend is not None:
        fit.spend_params = model.spend.params
        fit.spend_log_likelihood = model.spend.log_likelihood
    fit.spend_error = model.spend_error
    fit.warning = model.warning or ""
    fit.backtest = _backtest(orders, as_of, holdout_weeks, frequency_model)
    with transaction.atomic():
        PredictionFit.objects.filter(currency=currency, in_force=True).update(in_force=False)
        fit.in_force = True
        fit.save()
    fit.seconds = time.monotonic() - started
    PredictionFit.objects.filter(pk=fit.pk).update(seconds=fit.seconds)
    return fit


def _backtest(orders: pd.DataFrame, as_of: datetime, weeks: int, frequency_model: str) -> dict:
    """The back-test as stored: its table and figures, or why there is none."""
    try:
        result = lifetime.backtest(orders, as_of, weeks * 7, frequency_model, customer="profile_id")
    except (clv.FitFailed, ValueError) as error:
        return {"holdout_weeks": weeks, "error": str(error)}
    return {
        "holdout_weeks": weeks,
        "calibration_end": result.calibration_end.isoformat(),
        "customers": result.customers,
        "buckets": result.buckets.to_dict(orient="records"),
        "predicted_total": result.predicted_total,
        "actual_total": result.actual_total,
        "mean_absolute_error": result.mean_absolute_error,
        "params": result.fit.params,
    }


def _money(value: float, currency: str) -> Decimal | None:
    if value is None or not np.isfinite(value):
        return None
    return quantize_amount(Decimal(repr(float(value))), currency)


def _active(profile_ids) -> set[int]:
    return set(
        CustomerProfile.objects.filter(
            AnyOf("pk", [int(pk) for pk in profile_ids]), anonymized_at__isnull=True
        ).values_list("pk", flat=True)
    )


def _rows(
    fit: PredictionFit, summary: pd.DataFrame, out: pd.DataFrame, as_of: datetime, active: set
) -> list[tuple]:
    """The prediction rows (`_PREDICTION_FIELDS` order) of the active profiles."""
    gap = np.where(summary.x > 0, summary.t_x / summary.x.where(summary.x > 0, 1), np.nan)
    overdue = (summary["T"] - summary.t_x) / gap
    rows = []
    for index, (profile_id, row) in enumerate(out.iterrows()):
        if int(profile_id) not in active:
            continue
        rows.append(
            (
                int(profile_id),
                fit.currency,
                fit.pk,
                float(row.p_alive),
                float(row.expected_30),
                float(row.expected_90),
                float(row.expected_365),
                None
                if pd.isna(row.next_order_at)
                else pd.Timestamp(row.next_order_at).to_pydatetime(),
                _money(row.expected_value, fit.currency),
                _money(row.clv, fit.currency),
                None if np.isnan(gap[index]) else float(gap[index]),
                None if np.isnan(overdue.iloc[index]) else float(overdue.iloc[index]),
                as_of,
            )
        )
    return rows


def _model(fit: PredictionFit) -> lifetime.Model:
    """The models of a stored fit, as `lifetime.predict` takes them."""
    spend = None
    if fit.spend_params:
        spend = clv.Fit("gamma_gamma", fit.spend_params, fit.spend_log_likelihood, 0)
    return lifetime.Model(
        clv.Fit(fit.model, fit.params, fit.log_likelihood, fit.customers),
        spend,
        fit.customers,
        fit.repeat_customers,
        fit.spend_error,
    )


def score_profiles(profile_ids, as_of: datetime) -> int:
    """Score these customers again with the fits in force, at once (after their orders
    changed): the stored fit's parameters, their orders placed before `as_of`. A customer left
    with no counted order in a currency loses its prediction there. Returns the rows written.
    """
    ids = sorted({int(pk) for pk in profile_ids})
    fits = {fit.currency: fit for fit in PredictionFit.objects.filter(in_force=True)}
    if not ids or not fits:
        return 0
    orders = pd.DataFrame(
        list(
            OrderRecord.objects.filter(
                AnyOf("profile_id", ids),
                counts=True,
                currency__in=list(fits),
                placed_at__lt=as_of,
            ).values_list("profile_id", "currency", "placed_at", "net_spend_amount")
        ),
        columns=["profile_id", "currency", "placed_at", "amount"],
    )
    active = _active(ids)
    rows, keep = [], set()
    for currency, placed in orders.groupby("currency"):
        fit = fits[currency]
        summary = lifetime.summarise(placed, as_of, customer="profile_id")
        rows += _rows(fit, summary, lifetime.predict(_model(fit), summary, as_of), as_of, active)
        keep |= {(int(pk), currency) for pk in summary.index}
    with transaction.atomic():
        stale = [
            pk
            for pk, profile_id, currency in CustomerPrediction.objects.filter(
                AnyOf("profile_id", ids)
            ).values_list("pk", "profile_id", "currency")
            if (profile_id, currency) not in keep or profile_id not in active
        ]
        if stale:
            CustomerPrediction.objects.filter(pk__in=stale).delete()
        add_rows(
            CustomerPrediction,
            _PREDICTION_FIELDS,
            rows,
            unique=["profile", "currency"],
            update=[f for f in _PREDICTION_FIELDS if f not in ("profile", "currency")],
        )
    return len(rows)


def score_range(low: int, high: int, as_of: datetime) -> list[int]:
    """Score the customers with profile ids from `low` to `high` with the fits in force
    (`score_profiles`); return the ids of those with a prediction before or after (their
    metadata follows: a customer who lost a prediction loses its keys too)."""
    predicted = CustomerPrediction.objects.filter(profile_id__gte=low, profile_id__lte=high)
    before = set(predicted.values_list("profile_id", flat=True))
    ids = list(
        CustomerProfile.objects.filter(pk__gte=low, pk__lte=high).values_list("pk", flat=True)
    )
    score_profiles(ids, as_of)
    return sorted(before | set(predicted.values_list("profile_id", flat=True)))

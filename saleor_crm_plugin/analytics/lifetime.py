"""Predictions per customer from their orders: the summaries the lifetime models read, the
predictions the store shows, and the back-test that says how far to trust them. Pure
(pandas, numpy, and `clv` for the models), no Django.

Time is counted in days. A customer's purchases are their order days (several orders on one
day are one purchase, of their summed value), as in the CDNOW data the models were built on;
only orders placed before `as_of` count, so every figure can be recomputed for a past date.

Money enters as the orders' amounts in one currency and leaves as floats: these are
estimates; the caller rounds them to the currency when it stores them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from . import clv

__all__ = [
    "BUCKETS",
    "HORIZONS",
    "THIN_CUSTOMERS",
    "THIN_REPEAT_CUSTOMERS",
    "Backtest",
    "Model",
    "backtest",
    "fit_model",
    "predict",
    "summarise",
    "thin_data_warning",
]

DAY = timedelta(days=1)
HORIZONS = (30, 90, 365)  # days: expected orders in the next 30, 90 and 365 days
CLV_DAYS = 365  # the predicted CLV's horizon: twelve months
NEXT_ORDER_LIMIT = 3 * 365  # days: a next order expected later than this is not given
# A fit from fewer customers than these is shown with a warning: the dropout parameters (a, b
# or s, beta) are learnt from the repeat customers alone, and with fewer than a hundred of them
# (or a few hundred customers in all) the parameters move a lot from one month's data to the
# next, so the predictions are rough.
THIN_CUSTOMERS = 300
THIN_REPEAT_CUSTOMERS = 100
# The back-test's frequency buckets: customers by their repeat purchases in the calibration
# period, 0 to 6 each and 7 or more together (as in Fader, Hardie and Lee's figure 3).
BUCKETS = 7


def summarise(
    orders: pd.DataFrame,
    as_of: datetime,
    *,
    customer: str = "customer_id",
    placed_at: str = "placed_at",
    amount: str = "amount",
) -> pd.DataFrame:
    """One row per customer with an order before `as_of`: x, t_x, T (days), m (average value of
    the repeat purchases, 0 without one), first and last purchase, orders.

    Parameters
    ----------
    orders : DataFrame with the named columns (aware datetimes; amounts as numbers or Decimals)
    as_of : aware datetime, the end of the observation
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    columns = [customer, placed_at, amount]
    missing = [c for c in columns if c not in orders.columns]
    if missing:
        raise ValueError(f"orders lack the column(s) {', '.join(missing)}")
    seen = orders.loc[pd.to_datetime(orders[placed_at], utc=True) < pd.Timestamp(as_of), columns]
    if seen.empty:
        return _empty_summary(customer)
    at = pd.to_datetime(seen[placed_at], utc=True)
    frame = pd.DataFrame(
        {
            "customer": seen[customer].to_numpy(),
            "day": at.dt.floor("D").to_numpy(),
            "at": at.to_numpy(),
            "amount": seen[amount].astype(float).to_numpy(),
        }
    )
    days = (
        frame.groupby(["customer", "day"], sort=True)
        .agg(at=("at", "min"), amount=("amount", "sum"), orders=("at", "size"))
        .reset_index()
    )
    grouped = days.groupby("customer", sort=True)
    first = grouped["at"].min()
    last_day = grouped["at"].max()
    purchases = grouped.size()
    spend = grouped["amount"].sum()
    first_value = days.loc[grouped["at"].idxmin(), ["customer", "amount"]].set_index("customer")[
        "amount"
    ]
    x = purchases - 1
    repeat_spend = spend - first_value
    end = pd.Timestamp(as_of)
    summary = pd.DataFrame(
        {
            "x": x.astype(float),
            "t_x": (last_day - first) / DAY,
            "T": (end - first) / DAY,
            "m": np.where(x > 0, repeat_spend / x.where(x > 0, 1), 0.0),
            "first_at": first,
            "last_at": last_day,
            "orders": grouped["orders"].sum(),
        }
    )
    summary.index.name = customer
    return summary


def _empty_summary(customer: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "x": pd.Series(dtype=float),
            "t_x": pd.Series(dtype=float),
            "T": pd.Series(dtype=float),
            "m": pd.Series(dtype=float),
            "first_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "last_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "orders": pd.Series(dtype=int),
        }
    )
    frame.index.name = customer
    return frame


@dataclass(frozen=True)
class Model:
    """A frequency fit and, where the data has repeat spend, a spend fit."""

    frequency: clv.Fit
    spend: clv.Fit | None
    customers: int
    repeat_customers: int
    spend_error: str = ""  # why there is no spend fit

    @property
    def warning(self) -> str | None:
        return thin_data_warning(self.customers, self.repeat_customers)


def thin_data_warning(customers: int, repeat_customers: int) -> str | None:
    """A plain warning when the data is too thin for a stable fit, else None."""
    if customers >= THIN_CUSTOMERS and repeat_customers >= THIN_REPEAT_CUSTOMERS:
        return None
    return (
        f"Learnt from {customers} customers, {repeat_customers} of them with a repeat order: "
        f"with fewer than {THIN_CUSTOMERS} customers or {THIN_REPEAT_CUSTOMERS} repeat customers "
        "how long customers stay is poorly known, so treat these predictions as rough."
    )


def fit_model(summary: pd.DataFrame, frequency_model: str = "bgnbd") -> Model:
    """Fit the frequency model to every customer and Gamma-Gamma to the repeat customers.

    Raises `clv.FitFailed` when the frequency fit does not converge (the caller keeps the
    previous fit); a spend fit that fails (when customers spend too much alike the likelihood
    has no maximum), or has no repeat customer to learn from, leaves `spend` None (no value
    predictions) and says why in `spend_error`.
    """
    if summary.empty:
        raise ValueError("no customers with orders to learn from")
    if not (summary.x > 0).any():
        raise ValueError(
            "no customer has ordered on two different days yet: nothing to learn how often "
            "customers come back from"
        )
    frequency = clv.fit_frequency(frequency_model, summary.x, summary.t_x, summary["T"])
    repeat = summary[(summary.x > 0) & (summary.m > 0)]
    spend, spend_error = None, "no customer with a paid repeat order to learn spend from"
    if len(repeat):
        try:
            spend, spend_error = clv.fit_gamma_gamma(repeat.x, repeat.m), ""
        except clv.FitFailed as error:
            spend_error = str(error)
    return Model(frequency, spend, len(summary), int((summary.x > 0).sum()), spend_error)


def predict(model: Model, summary: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Per customer: p_alive, expected orders in the next 30/90/365 days, the next order's
    expected date, the expected average order value and the predicted 12-month CLV.

    The next order's date is when the expected number of orders from `as_of` reaches one
    (None when that is more than three years away: the customer is more likely gone).
    Without a spend fit, the average value is the customer's own mean and CLV is None.
    """
    x, t_x, T = summary.x.to_numpy(), summary.t_x.to_numpy(), summary["T"].to_numpy()
    fit = model.frequency
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = clv.p_alive(fit, x, t_x, T)
    for days in HORIZONS:
        out[f"expected_{days}"] = clv.expected_purchases(fit, days, x, t_x, T)
    out["next_order_days"] = _days_to_one_order(fit, x, t_x, T)
    out["next_order_at"] = [
        None if np.isnan(d) else as_of + timedelta(days=float(d)) for d in out["next_order_days"]
    ]
    if model.spend is not None:
        value = clv.gamma_gamma_expected_value(model.spend.params, x, summary.m.to_numpy())
        out["expected_value"] = value
        out["clv"] = value * out[f"expected_{CLV_DAYS}"]
    else:
        out["expected_value"] = np.nan
        out["clv"] = np.nan
    return out


def _days_to_one_order(fit: clv.Fit, x, t_x, T) -> np.ndarray:
    """The days until the expected orders reach one (NaN past `NEXT_ORDER_LIMIT`), by
    bisection over the distinct summaries (expected orders grow with the horizon)."""
    result = np.full(len(x), np.nan)
    if len(x) == 0:
        return result
    rows = np.column_stack([x, t_x, T])
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    ux, ut, uT = unique[:, 0], unique[:, 1], unique[:, 2]
    reach = clv.expected_purchases(fit, NEXT_ORDER_LIMIT, ux, ut, uT) >= 1.0
    low = np.zeros(len(unique))
    high = np.full(len(unique), float(NEXT_ORDER_LIMIT))
    for _ in range(40):  # to well under a minute
        middle = (low + high) / 2
        enough = clv.expected_purchases(fit, middle, ux, ut, uT) >= 1.0
        high = np.where(enough, middle, high)
        low = np.where(enough, low, middle)
    days = np.where(reach, high, np.nan)
    return days[inverse.reshape(-1)]


@dataclass(frozen=True)
class Backtest:
    """A fit on all but the last `holdout_days`, scored on them."""

    calibration_end: datetime
    holdout_days: int
    customers: int
    # One row per frequency bucket: bucket ("0" .. "6", "7+"), customers, predicted and actual
    # repeat orders per customer in the holdout.
    buckets: pd.DataFrame
    predicted_total: float
    actual_total: int
    mean_absolute_error: float  # per customer, repeat orders
    fit: clv.Fit


def backtest(
    orders: pd.DataFrame,
    as_of: datetime,
    holdout_days: int,
    frequency_model: str = "bgnbd",
    **columns,
) -> Backtest:
    """Calibrate on the orders before `as_of - holdout_days`, predict each calibration
    customer's purchases in the holdout, and compare with what they did.

    Raises ValueError when no customer ordered before the calibration end, and
    `clv.FitFailed` when the fit does not converge.
    """
    if holdout_days < 1:
        raise ValueError(f"holdout_days must be 1 or more, not {holdout_days}")
    end = as_of - timedelta(days=holdout_days)
    calibration = summarise(orders, end, **columns)
    if calibration.empty:
        raise ValueError(f"no customer ordered before the calibration end {end.isoformat()}")
    fit = clv.fit_frequency(frequency_model, calibration.x, calibration.t_x, calibration["T"])
    predicted = clv.expected_purchases(
        fit, holdout_days, calibration.x, calibration.t_x, calibration["T"]
    )
    actual = _holdout_purchases(orders, calibration.index, end, as_of, **columns)
    bucket = np.minimum(calibration.x.to_numpy(), BUCKETS).astype(int)
    table = (
        pd.DataFrame({"bucket": bucket, "predicted": predicted, "actual": actual})
        .groupby("bucket")
        .agg(
            customers=("actual", "size"), predicted=("predicted", "mean"), actual=("actual", "mean")
        )
        .reset_index()
    )
    table["bucket"] = [f"{b}+" if b == BUCKETS else str(b) for b in table["bucket"]]
    return Backtest(
        calibration_end=end,
        holdout_days=holdout_days,
        customers=len(calibration),
        buckets=table,
        predicted_total=float(predicted.sum()),
        actual_total=int(actual.sum()),
        mean_absolute_error=float(np.abs(predicted - actual).mean()),
        fit=fit,
    )


def _holdout_purchases(
    orders: pd.DataFrame,
    customers: pd.Index,
    start: datetime,
    end: datetime,
    *,
    customer: str = "customer_id",
    placed_at: str = "placed_at",
    amount: str = "amount",
) -> np.ndarray:
    """Each calibration customer's purchase days in [start, end)."""
    at = pd.to_datetime(orders[placed_at], utc=True)
    inside = (at >= pd.Timestamp(start)) & (at < pd.Timestamp(end))
    days = pd.DataFrame({"customer": orders.loc[inside, customer], "day": at[inside].dt.floor("D")})
    counts = days.drop_duplicates().groupby("customer").size()
    return counts.reindex(customers, fill_value=0).to_numpy()

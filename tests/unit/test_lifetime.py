"""Summaries, predictions and the back-test, on literal orders and hand computations."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from saleor_crm_plugin.analytics import clv, lifetime

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
D0 = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def _orders(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "placed_at", "amount"])


def test_summary_counts_purchase_days_and_averages_the_repeat_ones():
    orders = _orders(
        [
            ("a", D0, 50),
            ("a", D0 + timedelta(hours=3), 30),  # same day: one purchase of 80
            ("a", D0 + timedelta(days=10), 20),
            ("a", D0 + timedelta(days=30), 40),
            ("b", D0 + timedelta(days=100), 70),
            ("c", AS_OF + timedelta(days=1), 99),  # after as_of: not seen
        ]
    )
    summary = lifetime.summarise(orders, AS_OF)

    assert list(summary.index) == ["a", "b"]
    a, b = summary.loc["a"], summary.loc["b"]
    assert (a.x, a.t_x, a.m, a.orders) == (2, 30.0, 30.0, 4)
    assert a["T"] == pytest.approx((AS_OF - D0) / timedelta(days=1))
    assert (b.x, b.t_x, b.m, b.orders) == (0, 0.0, 0.0, 1)
    assert b.first_at == pd.Timestamp(D0 + timedelta(days=100))


def test_a_summary_refuses_a_naive_as_of_and_missing_columns():
    with pytest.raises(ValueError, match="aware"):
        lifetime.summarise(_orders([]), datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="lack the column"):
        lifetime.summarise(pd.DataFrame({"customer_id": []}), AS_OF)


def test_a_summary_of_no_orders_is_empty():
    assert lifetime.summarise(_orders([]), AS_OF).empty


def _store(seed=3, customers=600, days=540):
    """Orders drawn from BG/NBD itself (lambda ~ Gamma, p ~ Beta) with Gamma spend."""
    rng = np.random.default_rng(seed)
    rows = []
    start = AS_OF - timedelta(days=days)
    for customer in range(customers):
        rate = rng.gamma(0.6, 1 / 20)  # purchases a day
        drop = rng.beta(0.8, 3.0)
        value = rng.gamma(6.0, 8.0)
        at = start + timedelta(days=float(rng.uniform(0, days * 0.6)))
        while at < AS_OF:
            rows.append((f"c{customer}", at, round(rng.gamma(6.0, value / 6.0), 2)))
            if rng.random() < drop:
                break
            at += timedelta(days=float(rng.exponential(1 / rate)))
    return _orders(rows)


@pytest.fixture(scope="module")
def store():
    return _store()


def test_predictions_follow_the_models(store):
    summary = lifetime.summarise(store, AS_OF)
    model = lifetime.fit_model(summary)
    out = lifetime.predict(model, summary, AS_OF)

    x, t_x, T = summary.x, summary.t_x, summary["T"]
    assert np.allclose(out.p_alive, clv.p_alive(model.frequency, x, t_x, T))
    assert np.allclose(out.expected_90, clv.expected_purchases(model.frequency, 90, x, t_x, T))
    assert (out.expected_30 <= out.expected_90).all()
    assert (out.expected_90 <= out.expected_365).all()
    value = clv.gamma_gamma_expected_value(model.spend.params, x, summary.m)
    assert np.allclose(out.expected_value, value)
    assert np.allclose(out.clv, value * out.expected_365)
    assert model.warning is None


def test_the_next_order_is_when_one_order_is_expected(store):
    summary = lifetime.summarise(store, AS_OF)
    model = lifetime.fit_model(summary)
    out = lifetime.predict(model, summary, AS_OF)

    dated = out[out.next_order_days.notna()]
    assert len(dated)
    assert len(dated) < len(out)
    for customer, row in dated.head(20).iterrows():
        s = summary.loc[customer]
        at = clv.expected_purchases(model.frequency, row.next_order_days, [s.x], [s.t_x], [s["T"]])
        assert at[0] == pytest.approx(1.0, abs=1e-6)
        assert row.next_order_at == AS_OF + timedelta(days=row.next_order_days)
    undated = out[out.next_order_days.isna()].index
    far = clv.expected_purchases(
        model.frequency,
        lifetime.NEXT_ORDER_LIMIT,
        summary.x[undated],
        summary.t_x[undated],
        summary["T"][undated],
    )
    assert (far < 1).all()


def test_a_small_store_gets_its_fit_with_a_plain_warning():
    summary = lifetime.summarise(_store(customers=40), AS_OF)
    model = lifetime.fit_model(summary)
    assert model.customers == 40
    assert model.warning.startswith("Learnt from 40 customers, ")
    assert "fewer than 300 customers or 100 repeat customers" in model.warning


def test_without_repeat_spend_there_is_no_value_prediction():
    first = [(f"c{n}", D0 + timedelta(days=n), 10) for n in range(30)]
    free = [(f"c{n}", D0 + timedelta(days=n + 20), 0) for n in range(0, 30, 3)]  # 0-priced
    orders = _orders(first + free)
    summary = lifetime.summarise(orders, AS_OF)
    model = lifetime.fit_model(summary)
    out = lifetime.predict(model, summary, AS_OF)
    assert model.spend is None
    assert model.spend_error == "no customer with a paid repeat order to learn spend from"
    assert out.clv.isna().all()
    assert out.expected_value.isna().all()


def test_the_backtest_compares_the_holdout_per_frequency_bucket(store):
    result = lifetime.backtest(store, AS_OF, holdout_days=90)

    calibration = lifetime.summarise(store, AS_OF - timedelta(days=90))
    assert result.customers == len(calibration)
    assert list(result.buckets.bucket) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert result.buckets.customers.sum() == len(calibration)
    # the actual holdout purchases, counted by hand
    at = pd.to_datetime(store.placed_at, utc=True)
    holdout = store[(at >= pd.Timestamp(result.calibration_end)) & (at < pd.Timestamp(AS_OF))]
    holdout = holdout[holdout.customer_id.isin(calibration.index)]
    days = holdout.assign(day=pd.to_datetime(holdout.placed_at, utc=True).dt.floor("D"))
    assert result.actual_total == len(days.drop_duplicates(["customer_id", "day"]))
    # data drawn from the model is predicted within a tenth overall
    assert result.predicted_total == pytest.approx(result.actual_total, rel=0.1)
    assert result.mean_absolute_error > 0


def test_a_backtest_needs_a_holdout_and_calibration_customers(store):
    with pytest.raises(ValueError, match="holdout_days must be 1 or more, not 0"):
        lifetime.backtest(store, AS_OF, holdout_days=0)
    with pytest.raises(ValueError, match="no customer ordered before the calibration end"):
        lifetime.backtest(store, AS_OF, holdout_days=5000)


def test_without_any_repeat_day_there_is_no_fit():
    orders = _orders([(f"c{n}", D0, 10) for n in range(5)] + [("c0", D0 + timedelta(hours=2), 5)])
    summary = lifetime.summarise(orders, AS_OF)
    with pytest.raises(ValueError, match="no customer has ordered on two different days yet"):
        lifetime.fit_model(summary)

"""The stored predictions: the nightly refit on the ledger (PostgreSQL)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from saleor_crm_plugin.analytics import clv, lifetime
from saleor_crm_plugin.analytics.models import CustomerPrediction, PredictionFit
from saleor_crm_plugin.analytics.predictions import ledger_orders, refit
from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from tests.factories import T0, customer, order, repeat_buyers

pytestmark = pytest.mark.django_db

AS_OF = T0 + timedelta(days=400)


def _history(customers=120, currency="USD", seed=5, prefix="u", total=None):
    return repeat_buyers(customers, AS_OF, currency, seed, prefix, total)


def test_a_refit_stores_the_fit_and_each_customers_predictions():
    _history()
    (fit,) = refit(AS_OF, "bgnbd", holdout_weeks=8)

    assert fit.status == PredictionFit.OK
    assert fit.in_force
    assert set(fit.params) == {"r", "alpha", "a", "b"}
    assert set(fit.spend_params) == {
        "p",
        "q",
        "gamma",
    }
    assert fit.customers == 120
    assert fit.warning.startswith("Learnt from 120 customers")
    assert next(row["bucket"] for row in fit.backtest["buckets"]) == "0"
    assert fit.backtest["holdout_weeks"] == 8
    # the stored rows are the pure predictions, rounded to the currency
    summary = lifetime.summarise(ledger_orders("USD", AS_OF), AS_OF, customer="profile_id")
    model = lifetime.fit_model(summary, "bgnbd")
    expected = lifetime.predict(model, summary, AS_OF)
    stored = {p.profile_id: p for p in CustomerPrediction.objects.all()}
    assert set(stored) == set(summary.index)
    some = stored[summary.index[0]]
    assert some.p_alive == pytest.approx(expected.loc[summary.index[0], "p_alive"])
    assert some.clv == Decimal(repr(float(expected.loc[summary.index[0], "clv"]))).quantize(
        Decimal("0.01")
    )
    assert some.fit_id == fit.pk
    assert some.currency == "USD"
    assert some.scored_at == AS_OF


def test_churn_signs_are_the_customers_own_gap_and_how_overdue_they_are():
    ingest_orders(
        [
            order(
                "a1",
                user_id="a",
                email="a@example.com",
                currency="USD",
                placed_at=AS_OF - timedelta(days=100),
            ),
            order(
                "a2",
                user_id="a",
                email="a@example.com",
                currency="USD",
                placed_at=AS_OF - timedelta(days=80),
            ),
            order(
                "a3",
                user_id="a",
                email="a@example.com",
                currency="USD",
                placed_at=AS_OF - timedelta(days=60),
            ),
            order(
                "b1",
                user_id="b",
                email="b@example.com",
                currency="USD",
                placed_at=AS_OF - timedelta(days=10),
            ),
        ]
    )
    _history(customers=30)
    refit(AS_OF, "bgnbd", holdout_weeks=4)
    a = CustomerPrediction.objects.get(profile__user_id="a")
    b = CustomerPrediction.objects.get(profile__user_id="b")
    assert a.typical_gap_days == pytest.approx(20.0)
    assert a.overdue == pytest.approx(3.0)
    assert b.typical_gap_days is None
    assert b.overdue is None


def test_currencies_are_fitted_apart():
    _history(customers=40, currency="USD")
    _history(customers=30, currency="JPY", prefix="j")
    fits = refit(AS_OF, "pareto_nbd", holdout_weeks=4)

    assert [(f.currency, f.customers, f.model) for f in fits] == [
        ("JPY", 30, "pareto_nbd"),
        ("USD", 40, "pareto_nbd"),
    ]
    assert CustomerPrediction.objects.filter(currency="JPY").count() == 30
    assert all(
        p.clv == p.clv.quantize(Decimal(1))
        for p in CustomerPrediction.objects.filter(currency="JPY")
    )


def test_a_failed_fit_is_kept_with_its_error_and_the_previous_one_stays_in_force(monkeypatch):
    _history(customers=40)
    (first,) = refit(AS_OF, "bgnbd", holdout_weeks=4)
    before = sorted(CustomerPrediction.objects.values_list("profile_id", "fit_id"))

    def fail(*_columns):
        raise clv.FitFailed("bgnbd: the optimiser stopped without a maximum (ABNORMAL)")

    monkeypatch.setattr(clv, "fit_bgnbd", fail)
    (second,) = refit(AS_OF + timedelta(days=1), "bgnbd", holdout_weeks=4)

    assert second.status == PredictionFit.FAILED
    assert not second.in_force
    assert second.error == "bgnbd: the optimiser stopped without a maximum (ABNORMAL)"
    first.refresh_from_db()
    assert first.in_force
    # every customer keeps the fit in force: scored again with it, a day on
    assert sorted(CustomerPrediction.objects.values_list("profile_id", "fit_id")) == before
    assert set(CustomerPrediction.objects.values_list("scored_at", flat=True)) == {
        AS_OF + timedelta(days=1)
    }


def test_a_deleted_customer_helps_the_fit_but_gets_no_prediction():
    _history(customers=40)
    ingest_customers([customer("u3", email="u3@example.com", updated_at=AS_OF, deleted=True)])
    (fit,) = refit(AS_OF, "bgnbd", holdout_weeks=4)
    assert fit.customers == 40
    assert CustomerPrediction.objects.count() == 39
    assert not CustomerPrediction.objects.filter(profile__user_id="u3").exists()


def test_customers_who_all_spend_alike_are_predicted_to_spend_that():
    """Gamma-Gamma's spend heterogeneity then tends to none (q and gamma grow together)."""
    _history(customers=60, total="40")
    (fit,) = refit(AS_OF, "bgnbd", holdout_weeks=4)

    assert fit.spend_error == ""
    values = set(CustomerPrediction.objects.values_list("expected_value", flat=True))
    assert values == {Decimal("40.00")}


def test_a_new_order_rescores_its_customer_with_the_fit_in_force_at_once():
    from saleor_crm_plugin.analytics.predictions import score_profiles

    # given: a fit in force, and a customer's prediction from it
    _history(customers=60)
    (fit,) = refit(AS_OF, "bgnbd", holdout_weeks=4)
    before = CustomerPrediction.objects.get(profile__user_id="u1")
    later = AS_OF + timedelta(days=3)

    # when: u1 orders again and a new customer orders for the first time
    ingest_orders(
        [
            order(
                "u1-new",
                user_id="u1",
                email="u1@example.com",
                total="80",
                currency="USD",
                placed_at=later - timedelta(hours=1),
            ),
            order(
                "n1",
                user_id="n",
                email="n@example.com",
                total="30",
                currency="USD",
                placed_at=later - timedelta(hours=2),
            ),
        ]
    )
    ids = list(CustomerProfile.objects.filter(user_id__in=["u1", "n"]).values_list("pk", flat=True))
    written = score_profiles(ids, later)

    # then: their rows are the pure predictions from the stored parameters, no refit
    assert written == 2
    assert PredictionFit.objects.count() == 1
    orders = ledger_orders("USD", later)
    summary = lifetime.summarise(orders[orders.profile_id.isin(ids)], later, customer="profile_id")
    model = lifetime.Model(
        clv.Fit("bgnbd", fit.params, fit.log_likelihood, fit.customers),
        clv.Fit("gamma_gamma", fit.spend_params, fit.spend_log_likelihood, 0),
        fit.customers,
        fit.repeat_customers,
    )
    expected = lifetime.predict(model, summary, later)
    for user_id in ("u1", "n"):
        row = CustomerPrediction.objects.get(profile__user_id=user_id)
        assert row.p_alive == pytest.approx(expected.loc[row.profile_id, "p_alive"])
        assert row.expected_90 == pytest.approx(expected.loc[row.profile_id, "expected_90"])
        assert row.fit_id == fit.pk
        assert row.scored_at == later
    after = CustomerPrediction.objects.get(profile__user_id="u1")
    assert after.pk == before.pk
    assert after.expected_90 != before.expected_90  # the new order is in it
    # the others keep their nightly rows
    assert CustomerPrediction.objects.filter(scored_at=AS_OF).count() == 59


def test_rescoring_without_a_fit_in_force_writes_nothing():
    from saleor_crm_plugin.analytics.predictions import score_profiles

    _history(customers=5)
    ids = list(CustomerProfile.objects.values_list("pk", flat=True))
    assert score_profiles(ids, AS_OF) == 0
    assert not CustomerPrediction.objects.exists()


def test_the_nightly_task_refits_and_writes_the_prediction_keys(monkeypatch, settings):
    from saleor_crm_plugin.analytics import tasks
    from saleor_crm_plugin.sandbox.models import SandboxUser

    # given: a registered customer of the store among the history
    _history(customers=40)
    SandboxUser.objects.create(pk=77, email="reg@example.com", date_joined=T0, updated_at=T0)
    ingest_orders(
        [
            order(
                f"r{day}",
                user_id="77",
                email="reg@example.com",
                currency="USD",
                placed_at=T0 + timedelta(days=day),
            )
            for day in (10, 40, 90)
        ]
    )
    monkeypatch.setattr(tasks.timezone, "now", lambda: AS_OF)

    settings.CRM_RECOMPUTE_CHUNK_SIZE = 10  # 41 customers: five chunk tasks

    # when
    result = tasks.refit_predictions_task.delay().get()

    # then: the fit, then every customer scored chunk by chunk, with their metadata
    assert result["fits"]["USD"]["status"] == "ok"
    assert result["fits"]["USD"]["customers"] == 41
    assert result["chunks"] == 5
    assert CustomerPrediction.objects.count() == 41
    assert set(CustomerPrediction.objects.values_list("scored_at", flat=True)) == {AS_OF}
    prediction = CustomerPrediction.objects.get(profile__user_id="77")
    metadata = SandboxUser.objects.get(pk=77).private_metadata
    assert metadata["crm.p_alive"] == f"USD {prediction.p_alive:.2f}"


def test_a_chunk_names_the_customers_who_lost_a_prediction_so_their_keys_go_too():
    from saleor_crm_plugin.analytics.predictions import score_range

    # given: a fit in force, and a stale prediction of a customer with no counted order left
    _history(customers=30)
    (fit,) = refit(AS_OF, "bgnbd", holdout_weeks=4)
    gone = CustomerProfile.objects.create(user_id="gone", order_count=0)
    CustomerPrediction.objects.create(
        profile=gone,
        currency="USD",
        fit=fit,
        p_alive=0.5,
        expected_30=0.1,
        expected_90=0.2,
        expected_365=0.5,
        scored_at=AS_OF,
    )
    ids = list(CustomerProfile.objects.values_list("pk", flat=True))

    # when
    named = score_range(min(ids), max(ids), AS_OF)

    # then: its row is gone, and it is named with the customers who have one
    assert not CustomerPrediction.objects.filter(profile=gone).exists()
    assert gone.pk in named
    assert set(named) == set(CustomerPrediction.objects.values_list("profile_id", flat=True)) | {
        gone.pk
    }

"""`crmPredictionFits`: the lifetime models' fits as the nightly refit stored them (staff)."""

import json
from datetime import timedelta

import pytest

from saleor_crm_plugin.analytics import clv
from saleor_crm_plugin.analytics.models import PredictionFit
from saleor_crm_plugin.analytics.predictions import refit
from tests.factories import T0, repeat_buyers
from tests.graphql.conftest import make_user

pytestmark = pytest.mark.django_db

AS_OF = T0 + timedelta(days=400)
FIT = """model asOf status error inForce params { name value } logLikelihood customers
  repeatCustomers warning seconds spend { params { name value } logLikelihood error }
  backtest { holdoutWeeks calibrationEnd customers predictedTotal actualTotal
    meanAbsoluteError params { name value } error
    buckets { bucket customers predicted actual } }"""
QUERY = f"""query Fits($currency: String) {{ crmPredictionFits(currency: $currency) {{
  currency inForce {{ {FIT} }} latest {{ {FIT} }} }} }}"""


def _history(customers: int, seed: int = 5) -> None:
    repeat_buyers(customers, AS_OF, seed=seed)


def _pairs(params: dict) -> list[dict]:
    return [{"name": name, "value": params[name]} for name in sorted(params)]


def test_staff_see_a_failed_latest_fit_beside_the_fit_in_force(post, staff_user, monkeypatch):
    # given
    _history(customers=40)
    (first,) = refit(AS_OF, "bgnbd", holdout_weeks=4)

    def fail(*_columns):
        raise clv.FitFailed("bgnbd: the optimiser stopped without a maximum (ABNORMAL)")

    monkeypatch.setattr(clv, "fit_bgnbd", fail)
    refit(AS_OF + timedelta(days=1), "bgnbd", holdout_weeks=4)

    # when
    answer = post(QUERY, token=staff_user.api_token)

    # then
    assert "errors" not in answer
    (usd,) = answer["data"]["crmPredictionFits"]
    assert usd["currency"] == "USD"
    assert usd["latest"] == {
        "model": "bgnbd",
        "asOf": (AS_OF + timedelta(days=1)).isoformat(),
        "status": "failed",
        "error": "bgnbd: the optimiser stopped without a maximum (ABNORMAL)",
        "inForce": False,
        "params": [],
        "logLikelihood": None,
        "customers": 40,
        "repeatCustomers": first.repeat_customers,
        "warning": None,
        "seconds": usd["latest"]["seconds"],
        "spend": None,
        "backtest": None,
    }
    in_force = usd["inForce"]
    assert in_force["asOf"] == AS_OF.isoformat()
    assert (in_force["status"], in_force["error"], in_force["inForce"]) == ("ok", None, True)
    assert [p["name"] for p in in_force["params"]] == ["a", "alpha", "b", "r"]
    assert in_force["params"] == _pairs(first.params)
    assert in_force["logLikelihood"] == first.log_likelihood
    assert in_force["customers"] == 40
    assert in_force["warning"].startswith("Learnt from 40 customers")
    assert in_force["seconds"] > 0
    assert in_force["spend"] == {
        "params": _pairs(first.spend_params),
        "logLikelihood": first.spend_log_likelihood,
        "error": None,
    }
    backtest = in_force["backtest"]
    assert backtest["holdoutWeeks"] == 4
    assert backtest["calibrationEnd"] == (AS_OF - timedelta(weeks=4)).isoformat()
    assert backtest["error"] is None
    assert [p["name"] for p in backtest["params"]] == ["a", "alpha", "b", "r"]
    buckets = backtest["buckets"]
    assert buckets == first.backtest["buckets"]
    assert [b["bucket"] for b in buckets] == sorted(
        (b["bucket"] for b in buckets), key=lambda label: int(label.rstrip("+"))
    )
    # the buckets hold means per customer: weighted, they give the totals
    assert sum(b["customers"] for b in buckets) == backtest["customers"]
    assert sum(b["actual"] * b["customers"] for b in buckets) == pytest.approx(
        backtest["actualTotal"]
    )
    assert sum(b["predicted"] * b["customers"] for b in buckets) == pytest.approx(
        backtest["predictedTotal"]
    )
    assert backtest["meanAbsoluteError"] == first.backtest["mean_absolute_error"]


def _stored_fit(currency: str, **fields) -> PredictionFit:
    values = {
        "currency": currency,
        "model": "pareto_nbd",
        "as_of": AS_OF,
        "status": PredictionFit.OK,
        "params": {"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 12.0},
        "log_likelihood": -120.5,
        "spend_error": "no customer with a paid repeat order to learn spend from",
        "customers": 3,
        "repeat_customers": 0,
        "backtest": {"holdout_weeks": 8, "error": "no customer ordered before the end"},
        "in_force": True,
        "seconds": 0.25,
    }
    return PredictionFit.objects.create(**{**values, **fields})


def test_one_currency_with_its_missing_spend_fit_and_back_test(post, staff_user):
    # given
    _stored_fit("JPY")
    _stored_fit("USD", model="bgnbd", params={"r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.4})

    # when
    answer = post(QUERY, {"currency": "jpy"}, token=staff_user.api_token)

    # then
    (jpy,) = answer["data"]["crmPredictionFits"]
    assert jpy["currency"] == "JPY"
    assert jpy["latest"] == jpy["inForce"]
    assert jpy["inForce"]["model"] == "pareto_nbd"
    assert jpy["inForce"]["params"] == [
        {"name": "alpha", "value": 10.0},
        {"name": "beta", "value": 12.0},
        {"name": "r", "value": 0.5},
        {"name": "s", "value": 0.6},
    ]
    assert jpy["inForce"]["spend"] == {
        "params": [],
        "logLikelihood": None,
        "error": "no customer with a paid repeat order to learn spend from",
    }
    assert jpy["inForce"]["backtest"] == {
        "holdoutWeeks": 8,
        "calibrationEnd": None,
        "customers": None,
        "predictedTotal": None,
        "actualTotal": None,
        "meanAbsoluteError": None,
        "params": [],
        "error": "no customer ordered before the end",
        "buckets": [],
    }


def test_every_currency_by_code_and_none_for_a_currency_never_fitted(post, staff_user):
    # given
    _stored_fit("USD")
    _stored_fit("JPY", in_force=False, status=PredictionFit.FAILED, params={}, error="no data")

    # when
    every = post(QUERY, token=staff_user.api_token)["data"]["crmPredictionFits"]
    none = post(QUERY, {"currency": "EUR"}, token=staff_user.api_token)["data"]

    # then
    assert [(c["currency"], c["inForce"] is None, c["latest"]["status"]) for c in every] == [
        ("JPY", True, "failed"),
        ("USD", False, "ok"),
    ]
    assert none == {"crmPredictionFits": []}


def test_a_currency_that_is_no_code_is_named_in_the_error(post, staff_user):
    # when
    answer = post(QUERY, {"currency": "yen"}, token=staff_user.api_token)

    # then
    assert answer["data"] is None
    assert len(answer["errors"]) == 1
    error = answer["errors"][0]
    assert error["message"] == "currency: 'yen' is not an ISO 4217 currency code in use"
    assert error["extensions"]["exception"] == {"code": "GraphQLError", "field": "currency"}


def test_only_staff_with_manage_users_read_the_fits(post, staff_without_permission):
    # given
    _stored_fit("USD")
    customer = make_user("c@example.com")

    for token in (None, customer.api_token, staff_without_permission.api_token):
        # when
        answer = post(QUERY, token=token)

        # then
        assert answer["data"] is None
        assert len(answer["errors"]) == 1
        assert answer["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


CUSTOMER_PREDICTIONS = """query($id: ID!) { crmCustomer(id: $id) { predictions {
  currency pAlive expectedOrders30 expectedOrders90 expectedOrders365 nextOrderAt
  expectedOrderValue { amount currency } predictedClv { amount currency }
  typicalGapDays overdue model scoredAt } } }"""


def test_staff_read_a_customers_predictions_and_sort_and_filter_by_them(post, staff_user):
    from graphql_relay import to_global_id

    from saleor_crm_plugin.analytics.models import CustomerPrediction

    # given: a nightly fit in force
    _history(60)
    refit(AS_OF, "bgnbd", holdout_weeks=4)
    stored = CustomerPrediction.objects.select_related("profile").get(profile__user_id="u3")

    # when: one customer's predictions, by our customer ID
    listing = post(
        """{ crmCustomers(first: 3, sortBy: {field: P_ALIVE, direction: ASC, currency: "USD"})
        { edges { node { id predictions { currency pAlive } } } } }""",
        token=staff_user.api_token,
    )
    node_ids = [edge["node"]["id"] for edge in listing["data"]["crmCustomers"]["edges"]]
    lowest = sorted(CustomerPrediction.objects.values_list("p_alive", flat=True))[:3]

    # then: the list is in P(alive) order, lowest first
    assert [
        edge["node"]["predictions"][0]["pAlive"]
        for edge in listing["data"]["crmCustomers"]["edges"]
    ] == pytest.approx(lowest)
    assert len(node_ids) == 3

    # when: the one customer
    answer = post(
        CUSTOMER_PREDICTIONS,
        {"id": to_global_id("CRMCustomer", stored.profile_id)},
        token=staff_user.api_token,
    )

    # then: their stored row, money in USD
    (prediction,) = answer["data"]["crmCustomer"]["predictions"]
    assert prediction["currency"] == "USD"
    assert prediction["pAlive"] == pytest.approx(stored.p_alive)
    assert prediction["expectedOrders90"] == pytest.approx(stored.expected_90)
    assert prediction["predictedClv"] == {"amount": float(stored.clv), "currency": "USD"}
    assert prediction["model"] == "bgnbd"

    # when: the win-back rule as a filter
    rule = {
        "all": [
            {"field": "p_alive", "op": "lt", "value": 0.5, "currency": "USD"},
            {"field": "predicted_clv", "op": "gte", "value": 0, "currency": "USD"},
        ]
    }
    found = post(
        "query($rule: JSONString) { crmCustomers(first: 100, filter: {rule: $rule}) { totalCount } }",
        {"rule": json.dumps(rule)},
        token=staff_user.api_token,
    )

    # then
    expected = CustomerPrediction.objects.filter(p_alive__lt=0.5, clv__gte=0).count()
    assert found["data"]["crmCustomers"]["totalCount"] == expected


def test_sorting_by_p_alive_needs_a_currency(post, staff_user):
    answer = post(
        "{ crmCustomers(first: 3, sortBy: {field: P_ALIVE, direction: ASC}) { totalCount } }",
        token=staff_user.api_token,
    )
    assert answer["errors"][0]["message"] == "sortBy.currency: is required to sort by p alive"

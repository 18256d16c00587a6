"""The lifetime models against the published CDNOW estimates, and their predictions against
the models' own definitions integrated numerically (an independent computation)."""

from importlib import metadata

import numpy as np
import pandas as pd
import pytest

from saleor_crm_plugin.analytics import clv


def _cdnow() -> pd.DataFrame:
    """The CDNOW sample's summary (2,357 customers, weeks) as shipped in the lifetimes package
    (read as a data file: the package itself is not imported)."""
    path = metadata.distribution("lifetimes").locate_file(
        "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv"
    )
    return pd.read_csv(path)


def _sig(value: float, figures: int = 3) -> str:
    return f"{value:.{figures}g}"


@pytest.fixture(scope="module")
def cdnow():
    return _cdnow()


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return clv.fit_bgnbd(cdnow.x, cdnow.t_x, cdnow["T"])


@pytest.fixture(scope="module")
def pareto(cdnow):
    return clv.fit_pareto_nbd(cdnow.x, cdnow.t_x, cdnow["T"])


def test_bgnbd_reproduces_the_published_cdnow_fit(bgnbd):
    # Fader, Hardie and Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4
    assert {k: _sig(v) for k, v in bgnbd.params.items()} == {
        "r": "0.243",
        "alpha": "4.41",
        "a": "0.793",
        "b": "2.43",
    }
    assert _sig(bgnbd.log_likelihood, 4) == _sig(-9582.4, 4)
    assert bgnbd.customers == 2357


def test_pareto_nbd_reproduces_the_published_cdnow_fit(pareto):
    # Fader and Hardie (2005): r 0.553, alpha 10.578, s 0.606, beta 11.669, LL -9595.0
    assert {k: _sig(v) for k, v in pareto.params.items()} == {
        "r": "0.553",
        "alpha": "10.6",
        "s": "0.606",
        "beta": "11.7",
    }
    assert _sig(pareto.log_likelihood, 4) == _sig(-9595.0, 4)


def test_gamma_gamma_reproduces_the_published_cdnow_fit(cdnow):
    # Fader, Hardie and Lee (2005), RFM and CLV: p 6.25, q 3.74, gamma 15.44 (946 customers)
    repeat = cdnow[cdnow.x > 0]
    fit = clv.fit_gamma_gamma(repeat.x, repeat.zbar)
    assert fit.customers == 946
    assert {k: _sig(v) for k, v in fit.params.items()} == {
        "p": "6.25",
        "q": "3.74",
        "gamma": "15.4",
    }
    # the log-likelihood is the sum of the customers' own
    ll = clv.gamma_gamma_log_likelihood(fit.params, repeat.x, repeat.zbar).sum()
    assert fit.log_likelihood == pytest.approx(ll, rel=1e-9)


def _gamma_nodes(shape, rate, upper, n=600):
    """Nodes and weights of a Gamma(shape, rate) mixing density on (0, upper), up to a constant:
    lambda = v ** (1 / shape) takes the density's singularity at 0 away (lambda^(shape-1)
    d lambda = dv / shape), then Gauss-Legendre in v."""
    v, w = np.polynomial.legendre.leggauss(n)
    top = upper**shape
    v = (v + 1) * top / 2
    values = v ** (1 / shape)
    return values, w * top / 2 * np.exp(-rate * values)


def _beta_nodes(a, b, n=600):
    """The same for a Beta(a, b) density on (0, 1): p = u ** (1 / a)."""
    u, w = np.polynomial.legendre.leggauss(n)
    u = (u + 1) / 2
    values = u ** (1 / a)
    return values, w / 2 * (1 - values) ** (b - 1)


def _bgnbd_posterior_mean(params, x, t_x, T, of):
    """E[of(lambda, p) ; alive at T] / P(data) over BG/NBD's mixing densities
    (lambda ~ Gamma(r, alpha), p ~ Beta(a, b)), integrated numerically from the model's
    definition: the customer's likelihood is alive-at-T or gone after the last purchase."""
    lam, w_lam = _gamma_nodes(params["r"], params["alpha"], 50.0)
    p, w_p = _beta_nodes(params["a"], params["b"])
    lam, p = lam[:, None], p[None, :]
    weights = w_lam[:, None] * w_p[None, :]
    alive = (1 - p) ** x * lam**x * np.exp(-lam * T)
    gone = p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x) if x > 0 else 0.0
    return np.sum(weights * alive * of(lam, p)) / np.sum(weights * (alive + gone))


CUSTOMERS = [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 29.43, 35.0), (1, 5.0, 36.0)]


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS, ids=["none", "two", "seven", "one-early"])
def test_bgnbd_predictions_match_the_model_integrated(bgnbd, x, t_x, T):
    params, t = bgnbd.params, 39.0
    alive = _bgnbd_posterior_mean(params, x, t_x, T, lambda lam, p: 1.0)
    expected = _bgnbd_posterior_mean(params, x, t_x, T, lambda lam, p: -np.expm1(-lam * p * t) / p)

    assert clv.bgnbd_p_alive(params, [x], [t_x], [T])[0] == pytest.approx(alive, rel=1e-5)
    assert clv.bgnbd_expected_purchases(params, t, [x], [t_x], [T])[0] == pytest.approx(
        expected, rel=1e-5
    )


def _pareto_posterior_mean(params, x, t_x, T, of):
    """The same for Pareto/NBD: lambda ~ Gamma(r, alpha), lifetime rate mu ~ Gamma(s, beta);
    a customer gone died between the last purchase and T."""
    lam, w_lam = _gamma_nodes(params["r"], params["alpha"], 20.0)
    mu, w_mu = _gamma_nodes(params["s"], params["beta"], 20.0)
    lam, mu = lam[:, None], mu[None, :]
    weights = w_lam[:, None] * w_mu[None, :]
    alive = lam**x * np.exp(-(lam + mu) * T)
    gone = lam**x * mu / (lam + mu) * (np.exp(-(lam + mu) * t_x) - np.exp(-(lam + mu) * T))
    return np.sum(weights * alive * of(lam, mu)) / np.sum(weights * (alive + gone))


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS, ids=["none", "two", "seven", "one-early"])
def test_pareto_nbd_predictions_match_the_model_integrated(pareto, x, t_x, T):
    params, t = pareto.params, 39.0
    alive = _pareto_posterior_mean(params, x, t_x, T, lambda lam, mu: 1.0)
    expected = _pareto_posterior_mean(
        params, x, t_x, T, lambda lam, mu: -lam * np.expm1(-mu * t) / mu
    )

    assert clv.pareto_nbd_p_alive(params, [x], [t_x], [T])[0] == pytest.approx(alive, rel=1e-4)
    assert clv.pareto_nbd_expected_purchases(params, t, [x], [t_x], [T])[0] == pytest.approx(
        expected, rel=1e-4
    )


def test_the_likelihoods_sum_to_the_fits(bgnbd, pareto, cdnow):
    columns = (cdnow.x, cdnow.t_x, cdnow["T"])
    assert clv.bgnbd_log_likelihood(bgnbd.params, *columns).sum() == pytest.approx(
        bgnbd.log_likelihood, rel=1e-9
    )
    assert clv.pareto_nbd_log_likelihood(pareto.params, *columns).sum() == pytest.approx(
        pareto.log_likelihood, rel=1e-9
    )


def test_gamma_gamma_expected_value_shrinks_to_the_population_mean():
    params = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    population = 6.25 * 15.44 / 2.74
    values = clv.gamma_gamma_expected_value(params, [0, 1, 100], [0.0, 100.0, 100.0])
    assert values[0] == pytest.approx(population)
    # one repeat purchase of 100 is pulled most of the way to the mean; a hundred barely
    assert population < values[1] < 100 < values[2] + 1
    assert values[1] == pytest.approx(6.25 * (15.44 + 100) / (6.25 + 2.74))
    assert values[2] == pytest.approx(6.25 * (15.44 + 10000) / (625 + 2.74))


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (([], [], []), "no customers"),
        (([1.5], [1], [2]), "whole numbers"),
        (([1], [3], [2]), "between 0 and T"),
        (([1], [0], [2]), "needs t_x above 0"),
        (([0], [0], [0]), r"T \(time since the first purchase\) must be above 0"),
    ],
    ids=["empty", "fractional-x", "t_x-after-T", "repeat-at-0", "T-0"],
)
def test_an_impossible_summary_is_refused_by_name(columns, message):
    with pytest.raises(ValueError, match=message):
        clv.fit_bgnbd(*columns)


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model 'nbd'"):
        clv.fit_frequency("nbd", [1], [1], [2])

"""Customer lifetime models: how often and for how long a customer buys (BG/NBD, or
Pareto/NBD), and how much (Gamma-Gamma). Pure: numpy and scipy, no Django.

Each customer is summarised as in the papers: `x` repeat purchases (purchase days after the
first), `t_x` the time from the first purchase to the last, `T` the time from the first purchase
to the end of the observation, and for spend `m` the average value of the repeat purchases. The
time unit is the caller's (the CDNOW tests use weeks, the store uses days); the fitted
`alpha` / `beta` / `gamma`-type parameters are in that unit.

References:
- P. S. Fader, B. G. S. Hardie, K. L. Lee (2005), "Counting Your Customers" the Easy Way: An
  Alternative to the Pareto/NBD Model. Marketing Science 24(2). (BG/NBD)
- D. C. Schmittlein, D. G. Morrison, R. Colombo (1987), Counting Your Customers. Management
  Science 33(1); P. S. Fader, B. G. S. Hardie (2005), A Note on Deriving the Pareto/NBD Model
  and Related Expressions. (Pareto/NBD)
- P. S. Fader, B. G. S. Hardie, K. L. Lee (2005), RFM and CLV: Using Iso-Value Curves for
  Customer Base Analysis. Journal of Marketing Research 42(4). (Gamma-Gamma)

Published CDNOW estimates (2,357 customers, 39 weeks): BG/NBD r 0.243, alpha 4.414, a 0.793,
b 2.426, LL -9582.4; Pareto/NBD r 0.553, alpha 10.578, s 0.606, beta 11.669, LL -9595.0;
Gamma-Gamma (946 repeat customers) p 6.25, q 3.74, gamma 15.44.

Fits maximise the log-likelihood over the parameters' logarithms (so they stay positive) with
L-BFGS-B; BG/NBD and Gamma-Gamma with their analytic gradients. Customers with the same
summary are counted once with a weight, so a large store costs its distinct summaries.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

__all__ = [
    "FREQUENCY_MODELS",
    "Fit",
    "FitFailed",
    "bgnbd_expected_purchases",
    "bgnbd_log_likelihood",
    "bgnbd_p_alive",
    "expected_purchases",
    "fit_bgnbd",
    "fit_frequency",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "gamma_gamma_expected_value",
    "gamma_gamma_log_likelihood",
    "p_alive",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_p_alive",
]

FREQUENCY_MODELS = ("bgnbd", "pareto_nbd")
# The largest gradient of the mean log-likelihood (over the parameters' logs) taken as flat.
FLAT_GRADIENT = 1e-5
_PARAMETERS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "gamma_gamma": ("p", "q", "gamma"),
}


class FitFailed(Exception):
    """The optimiser did not reach a maximum (the message says why)."""


@dataclass(frozen=True)
class Fit:
    """A fitted model: its parameters, the log-likelihood at them and what it learnt from."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    customers: int
    iterations: int = 0
    extra: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.params[name]


def _arrays(*columns) -> list[np.ndarray]:
    arrays = [np.asarray(column, dtype=float) for column in columns]
    lengths = {len(array) for array in arrays}
    if len(lengths) > 1:
        raise ValueError(f"the columns differ in length: {sorted(lengths)}")
    return arrays


def _check_summary(x, t_x, T) -> None:
    if len(x) == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("x (repeat purchases) must be whole numbers of 0 or more")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("t_x (time of the last purchase) must lie between 0 and T")
    if np.any((x > 0) & (t_x <= 0)):
        raise ValueError("a customer with repeat purchases needs t_x above 0")
    if np.any(T <= 0):
        raise ValueError("T (time since the first purchase) must be above 0")


def _distinct_summaries(x, t_x, T) -> tuple[list[np.ndarray], np.ndarray, float]:
    """The checked summaries, each distinct one once, with how many customers it stands for,
    and the number of customers."""
    x, t_x, T = _arrays(x, t_x, T)
    _check_summary(x, t_x, T)
    columns, weights = _unique(x, t_x, T)
    return columns, weights, weights.sum()


def _unique(*columns) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of these columns, and how many customers each stands for."""
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(float)


def _maximise(model, objective, start, customers, extra=None) -> Fit:
    """Minimise `objective(log_params) -> (negative mean LL, gradient or None)`."""
    names = _PARAMETERS[model]
    with np.errstate(all="ignore"):
        result = optimize.minimize(
            objective,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-20.0, 20.0)] * len(start),
            options={"maxiter": 2000, "gtol": 1e-8, "ftol": 1e-14},
        )
    # L-BFGS-B may end "abnormally" in its line search when it cannot improve any further at
    # the maximum: a gradient that is flat there is a maximum all the same.
    flat = np.all(np.isfinite(result.jac)) and np.max(np.abs(result.jac)) < FLAT_GRADIENT
    if not (result.success or flat) or not np.isfinite(result.fun):
        raise FitFailed(f"{model}: the optimiser stopped without a maximum ({result.message})")
    params = dict(zip(names, (float(v) for v in np.exp(result.x)), strict=True))
    return Fit(
        model=model,
        params=params,
        log_likelihood=float(-result.fun * customers),
        customers=int(customers),
        iterations=int(result.nit),
        extra=extra or {},
    )


# --- BG/NBD --------------------------------------------------------------------------------


def _bgnbd_terms(r, alpha, a, b, x, t_x, T):
    """The likelihood's pieces: the shared part, and the logs of its two alternatives."""
    shared = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    still = -(r + x) * np.log(alpha + T)  # alive at T
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        gone = np.where(
            repeat,
            np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )  # dropped out right after the last purchase
    return shared, still, gone


def bgnbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood.

    Parameters
    ----------
    params : mapping with r, alpha, a, b
    x, t_x, T : array-like, the customers' summaries
    """
    x, t_x, T = _arrays(x, t_x, T)
    shared, still, gone = _bgnbd_terms(
        params["r"], params["alpha"], params["a"], params["b"], x, t_x, T
    )
    return shared + np.logaddexp(still, gone)


def fit_bgnbd(x, t_x, T) -> Fit:
    """Fit BG/NBD by maximum likelihood (analytic gradient).

    Raises
    ------
    ValueError
        when a summary is impossible (named in the message).
    FitFailed
        when the optimiser does not converge.
    """
    (x, t_x, T), weights, total = _distinct_summaries(x, t_x, T)

    def objective(theta):
        r, alpha, a, b = np.exp(theta)
        shared, still, gone = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
        both = np.logaddexp(still, gone)
        value = -np.dot(weights, shared + both) / total
        w_still = np.exp(still - both)
        w_gone = 1.0 - w_still
        repeat = x > 0
        ln_still, ln_gone = np.log(alpha + T), np.log(alpha + t_x)
        d_r = (
            special.digamma(r + x)
            - special.digamma(r)
            + np.log(alpha)
            - w_still * ln_still
            - w_gone * ln_gone
        )
        d_alpha = r / alpha - (r + x) * (w_still / (alpha + T) + w_gone / (alpha + t_x))
        d_a = (
            special.digamma(a + b) - special.digamma(a + b + x) + np.where(repeat, w_gone / a, 0.0)
        )
        d_b = (
            special.digamma(a + b)
            + special.digamma(b + x)
            - special.digamma(b)
            - special.digamma(a + b + x)
            - np.where(repeat, w_gone / np.where(repeat, b + x - 1, 1.0), 0.0)
        )
        gradient = np.array([np.dot(weights, d) for d in (d_r, d_alpha, d_a, d_b)])
        return value, -gradient * np.array([r, alpha, a, b]) / total

    return _maximise("bgnbd", objective, [1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0], total)


def bgnbd_p_alive(params, x, t_x, T) -> np.ndarray:
    """P(the customer is still a customer at T), BG/NBD."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(
            repeat,
            np.exp(
                np.log(a)
                - np.log(np.where(repeat, b + x - 1, 1.0))
                + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            ),
            0.0,
        )
    return 1.0 / (1.0 + odds)


def bgnbd_expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """Expected purchases in the next `t` after T, BG/NBD (eq. 10 of the paper); `t` is one
    horizon or one a customer (none below 0)."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    t = np.maximum(np.asarray(t, dtype=float), 0.0)  # the formula gives 0 at 0
    z = t / (alpha + T + t)
    hyper = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    share = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyper
    return (a + b + x - 1) / (a - 1) * share * bgnbd_p_alive(params, x, t_x, T)


# --- Pareto/NBD ----------------------------------------------------------------------------


def _log_hyp2f1(a, b, c, z) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(special.hyp2f1(a, b, c, z))


def _pareto_a0_terms(r, alpha, s, beta, x, t_x, T):
    """log of the two terms whose difference is A0 (Fader and Hardie's note, eq. 19-20)."""
    power = r + s + x
    if alpha >= beta:
        first = _log_hyp2f1(power, s + 1, power + 1, (alpha - beta) / (alpha + t_x))
        first -= power * np.log(alpha + t_x)
        second = _log_hyp2f1(power, s + 1, power + 1, (alpha - beta) / (alpha + T))
        second -= power * np.log(alpha + T)
    else:
        first = _log_hyp2f1(power, r + x, power + 1, (beta - alpha) / (beta + t_x))
        first -= power * np.log(beta + t_x)
        second = _log_hyp2f1(power, r + x, power + 1, (beta - alpha) / (beta + T))
        second -= power * np.log(beta + T)
    return first, second


def _log_difference(first, second) -> np.ndarray:
    """log(exp(first) - exp(second)), first >= second (equal gives -inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return first + np.log1p(-np.exp(np.minimum(second - first, 0.0)))


def pareto_nbd_log_likelihood(params, x, t_x, T) -> np.ndarray:
    """Each customer's Pareto/NBD log-likelihood."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    return _pareto_ll(r, alpha, s, beta, x, t_x, T)


def _pareto_ll(r, alpha, s, beta, x, t_x, T) -> np.ndarray:
    first, second = _pareto_a0_terms(r, alpha, s, beta, x, t_x, T)
    log_a0 = _log_difference(first, second)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + log_a0
    return (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
        + np.logaddexp(alive, died)
    )


def fit_pareto_nbd(x, t_x, T) -> Fit:
    """Fit Pareto/NBD by maximum likelihood (numerical gradient)."""
    (x, t_x, T), weights, total = _distinct_summaries(x, t_x, T)

    def value(theta):
        r, alpha, s, beta = np.exp(theta)
        ll = _pareto_ll(r, alpha, s, beta, x, t_x, T)
        result = -np.dot(weights, ll) / total
        return result if np.isfinite(result) else 1e300

    def objective(theta):
        step = 1e-6
        center = value(theta)
        gradient = np.empty_like(theta)
        for i in range(len(theta)):
            shifted = theta.copy()
            shifted[i] += step
            ahead = value(shifted)
            shifted[i] -= 2 * step
            gradient[i] = (ahead - value(shifted)) / (2 * step)
        return center, gradient

    scale = max(float(np.mean(T)), 1e-3)
    return _maximise("pareto_nbd", objective, [1.0, scale, 1.0, scale], total)


def pareto_nbd_p_alive(params, x, t_x, T) -> np.ndarray:
    """P(the customer is still a customer at T), Pareto/NBD."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    first, second = _pareto_a0_terms(r, alpha, s, beta, x, t_x, T)
    log_odds = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + T)
        + s * np.log(beta + T)
        + _log_difference(first, second)
    )
    return 1.0 / (1.0 + np.exp(log_odds))


def pareto_nbd_expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """Expected purchases in the next `t` after T, Pareto/NBD; `t` as for BG/NBD."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    t = np.maximum(np.asarray(t, dtype=float), 0.0)  # the formula gives 0 at 0
    alive = pareto_nbd_p_alive(params, x, t_x, T)
    if abs(s - 1.0) < 1e-9:  # the limit s -> 1
        share = (r + x) / (alpha + T) * (beta + T) * np.log((beta + T + t) / (beta + T))
    else:
        share = (
            (r + x)
            * (beta + T)
            / ((alpha + T) * (s - 1))
            * (1.0 - np.exp((s - 1) * (np.log(beta + T) - np.log(beta + T + t))))
        )
    return alive * share


# --- either frequency model ----------------------------------------------------------------


def fit_frequency(model: str, x, t_x, T) -> Fit:
    """Fit the named frequency model ("bgnbd" or "pareto_nbd")."""
    if model == "bgnbd":
        return fit_bgnbd(x, t_x, T)
    if model == "pareto_nbd":
        return fit_pareto_nbd(x, t_x, T)
    raise ValueError(f"unknown model '{model}': use one of {', '.join(FREQUENCY_MODELS)}")


def p_alive(fit: Fit, x, t_x, T) -> np.ndarray:
    """P(alive) under the fit's model."""
    if fit.model == "bgnbd":
        return bgnbd_p_alive(fit.params, x, t_x, T)
    return pareto_nbd_p_alive(fit.params, x, t_x, T)


def expected_purchases(fit: Fit, t, x, t_x, T) -> np.ndarray:
    """Expected purchases in the next `t` (one horizon, or one a customer) under the fit's model."""
    if fit.model == "bgnbd":
        return bgnbd_expected_purchases(fit.params, t, x, t_x, T)
    return pareto_nbd_expected_purchases(fit.params, t, x, t_x, T)


# --- Gamma-Gamma ---------------------------------------------------------------------------


def _gg_terms(p, q, gamma, x, m):
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + m * x)
    )


def gamma_gamma_log_likelihood(params, x, m) -> np.ndarray:
    """Each repeat customer's Gamma-Gamma log-likelihood of their average spend `m` over `x`
    repeat purchases (the density of the average, as in the paper)."""
    x, m = _arrays(x, m)
    return _gg_terms(params["p"], params["q"], params["gamma"], x, m)


def fit_gamma_gamma(x, m) -> Fit:
    """Fit Gamma-Gamma to the customers with repeat purchases (x > 0, m > 0).

    Raises ValueError when a customer has no repeat purchase or a spend of 0 or less: the
    model is of repeat spend, and the caller chooses who enters.
    """
    x, m = _arrays(x, m)
    if len(x) == 0:
        raise ValueError("no repeat customers to fit spend on")
    if np.any(x <= 0) or np.any(m <= 0):
        raise ValueError("every customer needs x > 0 repeat purchases and an average spend m > 0")
    (x, m), weights = _unique(x, m)
    total = weights.sum()

    def objective(theta):
        p, q, gamma = np.exp(theta)
        value = -np.dot(weights, _gg_terms(p, q, gamma, x, m)) / total
        px = p * x
        d_p = x * (
            special.digamma(px + q)
            - special.digamma(px)
            + np.log(m)
            + np.log(x)
            - np.log(gamma + m * x)
        )
        d_q = special.digamma(px + q) - special.digamma(q) + np.log(gamma) - np.log(gamma + m * x)
        d_gamma = q / gamma - (px + q) / (gamma + m * x)
        gradient = np.array([np.dot(weights, d) for d in (d_p, d_q, d_gamma)])
        return value, -gradient * np.array([p, q, gamma]) / total

    return _maximise("gamma_gamma", objective, [1.0, 1.0, max(float(np.mean(m)), 1e-3)], total)


def gamma_gamma_expected_value(params, x, m) -> np.ndarray:
    """Expected average purchase value; a customer with no repeat purchase gets the
    population mean p * gamma / (q - 1) (infinite when q <= 1)."""
    x, m = _arrays(x, m)
    p, q, gamma = params["p"], params["q"], params["gamma"]
    population = p * gamma / (q - 1) if q > 1 else np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        individual = p * (gamma + x * m) / (p * x + q - 1)
    return np.where(x > 0, individual, population)

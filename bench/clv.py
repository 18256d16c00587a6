"""The lifetime models at a million customers: BG/NBD + Gamma-Gamma fit and scoring, against the
lifetimes package's BG/NBD fit of the same data in the same run (the ratio's anchor).

The customers' summaries (x, t_x, T in days, m) are drawn from BG/NBD and Gamma-Gamma with a
fixed seed (as a store's 10M orders summarise: about 1M customers over three years), so the
figures cover the models alone; reading the ledger is the refit's other part. Each step runs in
this process; peak memory is the process's maximum resident size after each step.

    .venv/bin/python bench/clv.py [--customers 1000000] [--seed 11] [--no-anchor]

Prints one line per step; the figures of the last run are in bench/README.md.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from saleor_crm_plugin.analytics import clv

DAYS = 3 * 365


def draw(customers: int, seed: int) -> dict[str, np.ndarray]:
    """Summaries drawn from the models (r 0.25, alpha 20 days, a 0.8, b 2.5; spend p 6, q 4,
    gamma 150), each customer's first order uniform over the three years."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.25, 1 / 20.0, customers)
    drop = rng.beta(0.8, 2.5, customers)
    T = np.round(rng.uniform(1, DAYS, customers))
    x = np.zeros(customers)
    t_x = np.zeros(customers)
    alive = np.ones(customers, dtype=bool)
    clock = np.zeros(customers)
    for _ in range(200):  # purchases one at a time, for every customer still buying
        clock = clock + rng.exponential(1 / np.maximum(rate, 1e-12))
        buying = alive & (clock < T)
        x[buying] += 1
        t_x[buying] = np.round(clock[buying])
        alive = buying & (rng.random(customers) >= drop)
        if not alive.any():
            break
    t_x = np.minimum(t_x, T)
    x[t_x <= 0] = 0
    t_x[x == 0] = 0
    value = rng.gamma(4.0, 1 / 150.0, customers)  # nu ~ Gamma(q, gamma)
    m = np.where(x > 0, rng.gamma(6.0 * np.maximum(x, 1), 1 / (value * np.maximum(x, 1))), 0.0)
    return {"x": x, "t_x": t_x, "T": T, "m": m}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, step):
    started = time.perf_counter()
    result = step()
    print(
        f"{label}: {time.perf_counter() - started:.2f} s (peak RSS {peak_mb():,.0f} MB)", flush=True
    )
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-anchor", action="store_true", help="skip the lifetimes fit")
    args = parser.parse_args()
    data, _ = timed(f"draw {args.customers:,} customers", lambda: draw(args.customers, args.seed))
    x, t_x, T, m = data["x"], data["t_x"], data["T"], data["m"]
    repeat = x > 0
    print(f"  {int(repeat.sum()):,} with a repeat purchase; {int(x.sum()):,} repeat purchases")
    fit, ours = timed("BG/NBD fit (ours)", lambda: clv.fit_bgnbd(x, t_x, T))
    print(f"  {fit.params}, LL {fit.log_likelihood:,.1f}, {fit.iterations} iterations")
    spend, spend_seconds = timed(
        "Gamma-Gamma fit (ours)", lambda: clv.fit_gamma_gamma(x[repeat], m[repeat])
    )
    print(f"  {spend.params}")
    _, scoring = timed(
        "scoring: P(alive), expected orders in 30/90/365 days, expected value",
        lambda: (
            clv.bgnbd_p_alive(fit.params, x, t_x, T),
            [clv.bgnbd_expected_purchases(fit.params, t, x, t_x, T) for t in (30, 90, 365)],
            clv.gamma_gamma_expected_value(spend.params, x, m),
        ),
    )
    print(f"fit + scoring (ours): {ours + spend_seconds + scoring:.2f} s")
    if args.no_anchor:
        return
    from lifetimes import BetaGeoFitter

    anchor = BetaGeoFitter()
    _, theirs = timed("BG/NBD fit (lifetimes 0.11.3, the anchor)", lambda: anchor.fit(x, t_x, T))
    print(f"  {dict(anchor.params_)}")
    print(f"ratio ours/lifetimes (BG/NBD fit): {ours / theirs:.2f}")


if __name__ == "__main__":
    main()

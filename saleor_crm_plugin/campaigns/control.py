"""Control groups and measured lift of a campaign flow. Pure (standard library and scipy).

A flow holds back a share of the customers who enter it: they get no message, and the report
compares the messaged customers with them over the same window. Who is held back is fixed per
customer and flow (a hash, not a random draw), so a customer entering a flow again, on another
worker or after a restart, lands in the same group, and two flows hold back different customers.

The lift is the difference between the two groups, with its 95% interval:

- conversion (the share who ordered): Newcombe's hybrid score interval for a difference of two
  proportions (Newcombe 1998, method 10), which behaves at 0 and 100% and with small groups,
  where the plain Wald interval does not;
- revenue per customer: Welch's interval for a difference of two means (unequal variances),
  from each group's count, sum and sum of squares, so the report never holds every order.
"""

import hashlib
import math
from dataclasses import dataclass

from scipy import stats

__all__ = ["Arm", "Lift", "held_back", "lift", "wilson"]

CONFIDENCE = 0.95


def held_back(customer: str, flow: str, share: float) -> bool:
    """Whether `customer` is in `flow`'s control group when the flow holds back `share` (0 to
    less than 1) of its customers: the same answer every time, for every worker."""
    if not 0 <= share < 1:
        raise ValueError(f"share: {share!r} is not from 0 to less than 1")
    digest = hashlib.sha256(f"{flow}\x00{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


@dataclass(frozen=True)
class Arm:
    """One group of a flow over the report's window: its customers, those who ordered, and the
    revenue (a number in the currency) with its sum of squares over customers."""

    customers: int
    converted: int
    revenue: float = 0.0
    revenue_squares: float = 0.0

    def __post_init__(self):
        if self.customers < 0 or not 0 <= self.converted <= self.customers:
            raise ValueError(
                f"converted: {self.converted} of {self.customers} customers is not a count"
            )


@dataclass(frozen=True)
class Lift:
    """Messaged minus control: conversion (shares 0-1) and revenue per customer, each with its
    95% interval (None where a group is too small to say)."""

    messaged_rate: float | None
    control_rate: float | None
    conversion: float | None
    conversion_low: float | None
    conversion_high: float | None
    messaged_revenue: float | None
    control_revenue: float | None
    revenue: float | None
    revenue_low: float | None
    revenue_high: float | None


def wilson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval for a proportion."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / trials
    centre = (successes + z * z / 2) / (trials + z * z)
    half = z * math.sqrt(trials * p * (1 - p) + z * z / 4) / (trials + z * z)
    return centre - half, centre + half


def _conversion(messaged: Arm, control: Arm) -> tuple:
    if not messaged.customers or not control.customers:
        return None, None, None
    p1, p2 = messaged.converted / messaged.customers, control.converted / control.customers
    l1, u1 = wilson(messaged.converted, messaged.customers)
    l2, u2 = wilson(control.converted, control.customers)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, low, high


def _mean_and_variance(arm: Arm) -> tuple[float, float]:
    mean = arm.revenue / arm.customers
    variance = max(0.0, (arm.revenue_squares - arm.customers * mean * mean)) / (arm.customers - 1)
    return mean, variance


def _revenue(messaged: Arm, control: Arm) -> tuple:
    if messaged.customers < 2 or control.customers < 2:
        return None, None, None
    m1, v1 = _mean_and_variance(messaged)
    m2, v2 = _mean_and_variance(control)
    a, b = v1 / messaged.customers, v2 / control.customers
    difference = m1 - m2
    if a + b == 0:  # every customer spent alike in both groups
        return difference, difference, difference
    freedom = (a + b) ** 2 / (a * a / (messaged.customers - 1) + b * b / (control.customers - 1))
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, freedom) * math.sqrt(a + b)
    return difference, difference - half, difference + half


def lift(messaged: Arm, control: Arm) -> Lift:
    """What messaging did, against the held-back group over the same window."""
    conversion, conversion_low, conversion_high = _conversion(messaged, control)
    revenue, revenue_low, revenue_high = _revenue(messaged, control)
    return Lift(
        messaged_rate=messaged.converted / messaged.customers if messaged.customers else None,
        control_rate=control.converted / control.customers if control.customers else None,
        conversion=conversion,
        conversion_low=conversion_low,
        conversion_high=conversion_high,
        messaged_revenue=messaged.revenue / messaged.customers if messaged.customers else None,
        control_revenue=control.revenue / control.customers if control.customers else None,
        revenue=revenue,
        revenue_low=revenue_low,
        revenue_high=revenue_high,
    )

"""A store's own RFM bins (the `rfm-fixed-bins` setting), read from their text. Pure, and
light enough for the plugin's configuration to import (no pandas)."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise

from ..money import validate_currency

__all__ = ["DEFAULT_FIXED_BINS_TEXT", "FIXED", "QUINTILES", "FixedBins", "parse_fixed_bins"]

QUINTILES = "quintiles"
FIXED = "fixed"
DEFAULT_FIXED_BINS_TEXT = """R 30 60 90 180
F 2 3 5 10
M JPY 5000 10000 30000 100000
M USD 50 100 300 1000
M EUR 50 100 300 1000"""


@dataclass(frozen=True)
class FixedBins:
    """A store's own RFM bins: four ascending boundaries a metric, each the least value of the
    next score up.

    recency: days since the last order within which a customer scores 5, 4, 3 and 2 (so
    (30, 60, 90, 180): R 5 within 30 days, ... R 1 after 180); frequency: the order counts
    from which F is 2, 3, 4 and 5 ((2, 3, 5, 10): one order F 1, 10 or more F 5); monetary:
    per currency, the spend from which M is 2, 3, 4 and 5.
    """

    recency: tuple[int, int, int, int]
    frequency: tuple[int, int, int, int]
    monetary: Mapping[str, tuple[Decimal, Decimal, Decimal, Decimal]]

    def as_text(self) -> str:
        """The setting's text for these bins (`parse_fixed_bins` reads it back)."""
        lines = [
            "R " + " ".join(map(str, self.recency)),
            "F " + " ".join(map(str, self.frequency)),
        ]
        lines += [
            f"M {currency} " + " ".join(map(str, bounds))
            for currency, bounds in sorted(self.monetary.items())
        ]
        return "\n".join(lines)


def _bounds(line: str, words: list[str], parse) -> tuple:
    if len(words) != 4:
        raise ValueError(f"{line!r}: give four boundaries (scores 2 to 5), not {len(words)}")
    values = []
    for word in words:
        try:
            value = parse(word.rstrip(","))
        except (ValueError, InvalidOperation):
            raise ValueError(f"{line!r}: {word!r} is not a number") from None
        if value < 0:
            raise ValueError(f"{line!r}: {word!r} is negative")
        values.append(value)
    if any(low >= high for low, high in pairwise(values)):
        raise ValueError(f"{line!r}: the boundaries must rise, each above the one before")
    return tuple(values)


def parse_fixed_bins(text: str) -> FixedBins:
    """Read bins written one metric a line, e.g.::

        R 30 60 90 180
        F 2 3 5 10
        M JPY 5000 10000 30000 100000
        M USD 50 100 300 1000

    Raises ValueError naming the line at fault. R and F are required; M lines are per
    currency (a currency without one is scored by quintiles).
    """
    recency = frequency = None
    monetary: dict[str, tuple] = {}
    for raw in str(text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        metric, *words = line.replace(",", " ").split()
        metric = metric.upper()
        if metric in ("R", "F"):
            if (recency if metric == "R" else frequency) is not None:
                raise ValueError(f"{line!r}: {metric} is given twice")
            bounds = _bounds(line, words, int)
            if metric == "R":
                recency = bounds
            else:
                frequency = bounds
        elif metric == "M":
            if not words:
                raise ValueError(f"{line!r}: name the currency (M JPY 5000 10000 30000 100000)")
            try:
                currency = validate_currency(words[0])
            except ValueError as error:
                raise ValueError(f"{line!r}: {error}") from None
            if currency in monetary:
                raise ValueError(f"{line!r}: M {currency} is given twice")
            monetary[currency] = _bounds(line, words[1:], Decimal)
        else:
            raise ValueError(f"{line!r}: a line starts with R, F or M")
    if recency is None or frequency is None:
        raise ValueError(f"{'R' if recency is None else 'F'} bins are missing")
    return FixedBins(recency, frequency, monetary)

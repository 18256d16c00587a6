"""Package inserts (同梱物): which insert codes a paid order gets. Pure (standard library only).

The store writes its rules in the plugin setting *Package inserts*, one a line, `CODE: condition`:

    WELCOME-LEAFLET: first order
    THANKS3: order 3
    SUB3-SAMPLE: subscription delivery 3
    WINBACK-CARD: segment At Risk
    GOLD-GIFT: rank GOLD
    TEA-GUIDE: bought TEA-100G

Conditions: `first order` (the customer's first paid order, the same as `order 1`), `order N`
(their Nth), `subscription delivery N` (the Nth order of a subscription, the one that started it
being the 1st), `segment NAME` (an RFM segment or a built-in or saved rule segment), `rank CODE`
(the rank held), `bought X` (a line of the order has the product ID, variant ID or SKU X).
A code may stand on several lines: the order gets it when any of them holds. `decide_inserts`
answers the codes of one order from its `OrderFacts`, in the order of their first lines.
"""

import re
from dataclasses import dataclass, field

from ..errors import FieldError

__all__ = [
    "KINDS",
    "METADATA_KEY",
    "InsertRule",
    "InsertRuleError",
    "OrderFacts",
    "decide_inserts",
    "parse_insert_rules",
    "segments_named",
]

# The order's private metadata key holding its codes, comma-separated.
METADATA_KEY = "crm.inserts"
# A code: what the warehouse reads on the picking list (no commas: the metadata joins them).
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
KINDS = ("first_order", "order", "subscription_delivery", "segment", "rank", "bought")
EXAMPLE = "WELCOME-LEAFLET: first order"
_CONDITIONS = (
    "'first order', 'order N', 'subscription delivery N', 'segment NAME', 'rank CODE' or "
    "'bought PRODUCT-ID-OR-SKU'"
)
_WORDED = (  # (kind, the words it starts with, whether a whole number follows)
    ("subscription_delivery", "subscription delivery", True),
    ("order", "order", True),
    ("segment", "segment", False),
    ("rank", "rank", False),
    ("bought", "bought", False),
)
MAX_NUMBER = 1000


class InsertRuleError(FieldError):
    """A line of the insert rules is wrong: `field` is "line N"."""


@dataclass(frozen=True)
class InsertRule:
    code: str
    kind: str  # one of KINDS
    value: int | str | None = None  # N, the segment's name, the rank's code or the product
    line: int = 0  # where the store wrote it


@dataclass(frozen=True)
class OrderFacts:
    """What the rules test about one paid order.

    `sequence`: the order's place among the customer's paid orders (1: their first);
    `subscription_delivery`: which delivery of a subscription the order is (1: the order that
    started it), None when it is none; `segments`: the RFM and rule segments the customer is
    in; `rank`: the code of the rank they hold (None: no rank, e.g. a guest); `products`: the
    product IDs, variant IDs and SKUs of the order's lines.
    """

    sequence: int
    subscription_delivery: int | None = None
    segments: frozenset[str] = field(default_factory=frozenset)
    rank: str | None = None
    products: frozenset[str] = field(default_factory=frozenset)


def _number(text: str, where: str, what: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_NUMBER:
        raise InsertRuleError(where, f"'{text}' is not {what} from 1 to {MAX_NUMBER}")
    return int(text)


def _condition(code: str, text: str, number: int) -> InsertRule:
    where = f"line {number}"
    words = " ".join(text.split())
    lowered = words.lower()
    if lowered == "first order":
        return InsertRule(code, "first_order", None, number)
    for kind, start, numbered in _WORDED:
        if lowered != start and not lowered.startswith(start + " "):
            continue
        rest = words[len(start) :].strip()
        if not rest:
            raise InsertRuleError(where, f"'{start}' needs what follows it, e.g. {_CONDITIONS}")
        if numbered:
            what = "a delivery number" if kind == "subscription_delivery" else "an order number"
            return InsertRule(code, kind, _number(rest, where, what), number)
        if len(rest) > 128:
            raise InsertRuleError(where, f"'{rest[:20]}…' is longer than 128 characters")
        return InsertRule(code, kind, rest, number)
    raise InsertRuleError(where, f"'{words}' is not a condition; write {_CONDITIONS}")


def parse_insert_rules(text: str) -> tuple[InsertRule, ...]:
    """Read the setting: one rule a line (`CODE: condition`); blank lines and lines starting
    with # are skipped. Raises `InsertRuleError` naming the line and what is wrong.

    Parameters
    ----------
    text : str
        The setting's value.

    Returns
    -------
    tuple of InsertRule
        In the order written (an exact repeat of a line is an error).
    """
    rules: list[InsertRule] = []
    for number, raw in enumerate(str(text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        code, colon, rest = line.partition(":")
        code = code.strip()
        if not colon or not code or not rest.strip():
            raise InsertRuleError(f"line {number}", f"write it as '{EXAMPLE}', not '{line}'")
        if not CODE.fullmatch(code):
            raise InsertRuleError(
                f"line {number}",
                f"'{code}' is not an insert code (letters, digits, '-', '_' or '.', at most 64, "
                "no spaces or commas)",
            )
        rule = _condition(code, rest, number)
        for earlier in rules:
            if (earlier.code, earlier.kind, earlier.value) == (rule.code, rule.kind, rule.value):
                raise InsertRuleError(
                    f"line {number}", f"repeats line {earlier.line} ({code}: {rest.strip()})"
                )
        rules.append(rule)
    return tuple(rules)


def _holds(rule: InsertRule, facts: OrderFacts) -> bool:
    if rule.kind == "first_order":
        return facts.sequence == 1
    if rule.kind == "order":
        return facts.sequence == rule.value
    if rule.kind == "subscription_delivery":
        return facts.subscription_delivery == rule.value
    if rule.kind == "segment":
        return rule.value in facts.segments
    if rule.kind == "rank":
        return facts.rank == rule.value
    return rule.value in facts.products  # bought


def decide_inserts(rules: tuple[InsertRule, ...], facts: OrderFacts) -> tuple[str, ...]:
    """The insert codes an order gets: each code once, in the order of its first line.

    Parameters
    ----------
    rules : tuple of InsertRule
        `parse_insert_rules` of the setting.
    facts : OrderFacts
        The order's facts.

    Returns
    -------
    tuple of str
        The codes (empty when no rule holds).
    """
    codes: list[str] = []
    for rule in rules:
        if rule.code not in codes and _holds(rule, facts):
            codes.append(rule.code)
    return tuple(codes)


def segments_named(rules: tuple[InsertRule, ...]) -> tuple[str, ...]:
    """The segment names the rules test, each once, in order (what the caller must look up)."""
    return tuple(dict.fromkeys(str(r.value) for r in rules if r.kind == "segment"))

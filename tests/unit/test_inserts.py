"""Package insert rules (campaigns/inserts.py): the setting's lines and the codes an order gets."""

import pytest

from saleor_crm_plugin.campaigns.inserts import (
    InsertRule,
    InsertRuleError,
    OrderFacts,
    decide_inserts,
    parse_insert_rules,
    segments_named,
)
from saleor_crm_plugin.conf import ConfigError, parse_config

RULES_TEXT = """
# inserts for the warehouse
WELCOME-LEAFLET: first order
THANKS3: order 3
SUB3-SAMPLE: subscription delivery 3
WINBACK-CARD: segment At Risk
GOLD-GIFT: rank GOLD
TEA-GUIDE: bought TEA-100G
TEA-GUIDE: bought UHJvZHVjdDo3Mg==
WINBACK-CARD: segment Dormant
"""
RULES = parse_insert_rules(RULES_TEXT)


def test_every_kind_of_line_is_read():
    # then: line numbers count the blank and comment lines too
    assert RULES == (
        InsertRule("WELCOME-LEAFLET", "first_order", None, 3),
        InsertRule("THANKS3", "order", 3, 4),
        InsertRule("SUB3-SAMPLE", "subscription_delivery", 3, 5),
        InsertRule("WINBACK-CARD", "segment", "At Risk", 6),
        InsertRule("GOLD-GIFT", "rank", "GOLD", 7),
        InsertRule("TEA-GUIDE", "bought", "TEA-100G", 8),
        InsertRule("TEA-GUIDE", "bought", "UHJvZHVjdDo3Mg==", 9),
        InsertRule("WINBACK-CARD", "segment", "Dormant", 10),
    )
    assert segments_named(RULES) == ("At Risk", "Dormant")


def test_words_are_read_whatever_their_case_and_spacing():
    # when
    rules = parse_insert_rules(
        "A:  First   Order\nB: SUBSCRIPTION  delivery 2\nC: segment  Can't Lose"
    )

    # then: the segment's name keeps its case, its inner spaces are single
    assert rules == (
        InsertRule("A", "first_order", None, 1),
        InsertRule("B", "subscription_delivery", 2, 2),
        InsertRule("C", "segment", "Can't Lose", 3),
    )


def test_an_empty_setting_has_no_rules():
    assert parse_insert_rules("") == ()
    assert parse_insert_rules("\n  \n# none yet\n") == ()


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "WELCOME first order",
            "line 1",
            "write it as 'WELCOME-LEAFLET: first order', not 'WELCOME first order'",
        ),
        ("A: first order\nB:", "line 2", "write it as 'WELCOME-LEAFLET: first order', not 'B:'"),
        (
            "A,B: first order",
            "line 1",
            "'A,B' is not an insert code (letters, digits, '-', '_' "
            "or '.', at most 64, no spaces or commas)",
        ),
        (
            "GIFT CARD: first order",
            "line 1",
            "'GIFT CARD' is not an insert code (letters, "
            "digits, '-', '_' or '.', at most 64, no spaces or commas)",
        ),
        ("A: order three", "line 1", "'three' is not an order number from 1 to 1000"),
        ("A: order 0", "line 1", "'0' is not an order number from 1 to 1000"),
        (
            "\nA: subscription delivery 1001",
            "line 2",
            "'1001' is not a delivery number from 1 to 1000",
        ),
        (
            "A: segment",
            "line 1",
            "'segment' needs what follows it, e.g. 'first order', 'order "
            "N', 'subscription delivery N', 'segment NAME', 'rank CODE' or 'bought "
            "PRODUCT-ID-OR-SKU'",
        ),
        (
            "A: last order",
            "line 1",
            "'last order' is not a condition; write 'first order', "
            "'order N', 'subscription delivery N', 'segment NAME', 'rank CODE' or 'bought "
            "PRODUCT-ID-OR-SKU'",
        ),
        ("A: order 2\nB: rank GOLD\nA: order  2", "line 3", "repeats line 1 (A: order  2)"),
    ],
    ids=[
        "no colon",
        "no condition",
        "comma",
        "space",
        "word",
        "zero",
        "too many",
        "bare word",
        "unknown",
        "repeat",
    ],
)
def test_a_wrong_line_is_named_with_its_problem(text, field, message):
    # when
    with pytest.raises(InsertRuleError) as raised:
        parse_insert_rules(text)

    # then
    assert raised.value.field == field
    assert raised.value.message == message


def test_the_setting_names_itself_the_line_and_the_problem():
    # when
    with pytest.raises(ConfigError) as raised:
        parse_config({"insert-rules": "A: first order\nB: order x"})

    # then
    assert raised.value.field == "insert-rules"
    assert raised.value.message == "line 2: 'x' is not an order number from 1 to 1000"


def test_a_rank_must_be_in_the_rank_table():
    # when
    with pytest.raises(ConfigError) as raised:
        parse_config({"insert-rules": "A: first order\n\nGIFT: rank DIAMOND"})

    # then: the default table's codes
    assert raised.value.field == "insert-rules"
    assert raised.value.message == (
        "line 3: 'DIAMOND' is not a rank code (REGULAR, SILVER, GOLD, PLATINUM)"
    )


def test_the_setting_is_parsed_into_the_config():
    # when
    config = parse_config({"insert-rules": "GOLD-GIFT: rank GOLD"})

    # then: and none by default
    assert config.insert_rules == (InsertRule("GOLD-GIFT", "rank", "GOLD", 1),)
    assert parse_config({}).insert_rules == ()


@pytest.mark.parametrize(
    ("facts", "codes"),
    [
        (OrderFacts(sequence=1), ("WELCOME-LEAFLET",)),
        (OrderFacts(sequence=2), ()),
        (OrderFacts(sequence=3), ("THANKS3",)),
        (OrderFacts(sequence=4, subscription_delivery=3), ("SUB3-SAMPLE",)),
        (OrderFacts(sequence=4, subscription_delivery=2), ()),
        (
            OrderFacts(sequence=5, segments=frozenset({"At Risk", "Big spenders"})),
            ("WINBACK-CARD",),
        ),
        (OrderFacts(sequence=5, segments=frozenset({"Dormant"})), ("WINBACK-CARD",)),
        (OrderFacts(sequence=5, segments=frozenset({"at risk"})), ()),
        (OrderFacts(sequence=5, rank="GOLD"), ("GOLD-GIFT",)),
        (OrderFacts(sequence=5, rank="SILVER"), ()),
        (
            OrderFacts(sequence=2, products=frozenset({"UHJvZHVjdDo3Mg==", "COFFEE"})),
            ("TEA-GUIDE",),
        ),
        (OrderFacts(sequence=2, products=frozenset({"TEA-100G"})), ("TEA-GUIDE",)),
        (
            OrderFacts(
                sequence=1,
                subscription_delivery=1,
                segments=frozenset({"Dormant", "At Risk"}),
                rank="GOLD",
                products=frozenset({"TEA-100G", "UHJvZHVjdDo3Mg=="}),
            ),
            ("WELCOME-LEAFLET", "WINBACK-CARD", "GOLD-GIFT", "TEA-GUIDE"),
        ),
    ],
    ids=[
        "first order",
        "second order",
        "third order",
        "third delivery",
        "second delivery",
        "segment At Risk",
        "segment Dormant",
        "segment names are exact",
        "rank",
        "other rank",
        "bought by product id",
        "bought by SKU",
        "several, each once, in the order of the first line",
    ],
)
def test_the_codes_an_order_gets(facts, codes):
    assert decide_inserts(RULES, facts) == codes


def test_no_rules_no_codes():
    assert decide_inserts((), OrderFacts(sequence=1, rank="GOLD")) == ()

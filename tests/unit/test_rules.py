from decimal import Decimal

import pytest

from saleor_crm_plugin.segments.rules import RuleError, validate_rule


def test_valid_rule_is_parsed():
    # when
    rule = validate_rule(
        {
            "all": [
                {"field": "order_count", "op": "gte", "value": 2},
                {
                    "field": "total_spent",
                    "op": "between",
                    "value": ["1000", 5000],
                    "currency": "jpy",
                },
                {"not": {"field": "segment", "op": "in", "value": ["Lost"], "group": "JPY"}},
                {
                    "any": [
                        {"field": "bought_sku", "op": "eq", "value": "TEA-1", "within_days": 90},
                        {"field": "account", "op": "eq", "value": "registered"},
                    ]
                },
            ]
        }
    )

    # then
    assert rule["all"][1] == {
        "field": "total_spent",
        "op": "between",
        "currency": "JPY",
        "value": (Decimal(1000), Decimal(5000)),
    }
    assert rule["all"][3]["any"][0]["within_days"] == 90


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        ({"field": "shoe_size", "op": "eq", "value": 1}, "$.field", "'shoe_size' is not a field"),
        ({"field": "order_count", "op": "in", "value": 1}, "$.op", "'in' does not fit order_count"),
        (
            {"field": "order_count", "op": "gte", "value": "3"},
            "$.value",
            "'3' is not a whole number",
        ),
        ({"all": [{"field": "r", "op": "gte", "value": 4}]}, "$.all[0].group", "is required for r"),
        (
            {"all": [{"any": [{"field": "r", "op": "gte", "value": 9, "group": "JPY"}]}]},
            "$.all[0].any[0].value",
            "scores are 1 to 5, not 9",
        ),
        (
            {"field": "total_spent", "op": "gte", "value": 1},
            "$.currency",
            "is required for total_spent",
        ),
        (
            {"field": "last_order_at", "op": "before", "value": "2025-01-01"},
            "$.value",
            "needs a time zone",
        ),
        (
            {"field": "order_count", "op": "between", "value": [5, 2]},
            "$.value",
            "the low end 5 is above",
        ),
        (
            {"field": "segment", "op": "in", "value": ["Whales"], "group": "JPY"},
            "$.value[0]",
            "'Whales' is not a segment",
        ),
        (
            {"field": "account", "op": "eq", "value": "vip"},
            "$.value",
            "'vip' is not one of registered, guest, active, inactive",
        ),
        (
            {"field": "country", "op": "in", "value": ["JP", "Japan"]},
            "$.value[1]",
            "'Japan' is not a two-letter country code",
        ),
        ({"field": "city", "op": "in", "value": "Tokyo"}, "$.value", "non-empty list of names"),
        (
            {"any": [{"field": "country_area", "op": "in", "value": ["東京都", " "]}]},
            "$.any[0].value[1]",
            "is not a name",
        ),
        (
            {"field": "marketing_consent", "op": "eq", "value": "yes"},
            "$.value",
            "'yes' is not true or false",
        ),
        (
            {"field": "bought_product", "op": "eq", "value": ""},
            "$.value",
            "takes a product ID",
        ),
        (
            {"field": "bought_category", "op": "eq", "value": "c", "within_days": -1},
            "$.within_days",
            "-1 is negative",
        ),
        (
            {"field": "points_balance", "op": "in", "value": [1]},
            "$.op",
            "'in' does not fit points_balance",
        ),
        (
            {"field": "active_subscription", "op": "eq", "value": 1},
            "$.value",
            "1 is not true or false",
        ),
        ({"all": []}, "$.all", "takes a non-empty list of rules"),
        (
            {"all": [{"field": "order_count", "op": "eq", "value": 1}], "any": []},
            "$",
            "exactly one of",
        ),
        (
            {"field": "order_count", "op": "eq", "value": 1, "currency": "JPY"},
            "$.currency",
            "does not apply to order_count",
        ),
        (
            {"field": "order_count", "op": "eq", "value": 1, "colour": "red"},
            "$.colour",
            "is not a key of a condition",
        ),
        ("order_count > 2", "$", "a rule is an object"),
    ],
    ids=[
        "unknown-field",
        "wrong-op",
        "wrong-type",
        "missing-group",
        "nested-score-range",
        "missing-currency",
        "naive-time",
        "reversed-between",
        "unknown-segment",
        "bad-account",
        "bad-country",
        "place-not-a-list",
        "blank-prefecture",
        "consent-not-bool",
        "empty-product",
        "negative-window",
        "points-op",
        "subscription-not-bool",
        "empty-all",
        "two-kinds",
        "extra-key",
        "unknown-key",
        "not-an-object",
    ],
)
def test_bad_rule_names_the_node(rule, path, message):
    # when
    with pytest.raises(RuleError) as error:
        validate_rule(rule)

    # then
    assert error.value.field == path
    assert message in error.value.message


def test_depth_is_limited():
    # given
    rule = {"field": "order_count", "op": "eq", "value": 1}
    for _ in range(13):
        rule = {"not": rule}

    # when
    with pytest.raises(RuleError) as error:
        validate_rule(rule)

    # then
    assert "nest at most 12 levels" in error.value.message

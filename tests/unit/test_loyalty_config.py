"""The loyalty settings as typed in Dashboard: parsed, or refused naming the setting and rank."""

from decimal import Decimal

import pytest

from saleor_crm_plugin.conf import ConfigError, parse_config
from saleor_crm_plugin.loyalty.config import ExpiryKind, ladder_version, parse_window
from saleor_crm_plugin.loyalty.points import OrderAmounts, Rounding, earn_points
from saleor_crm_plugin.loyalty.ranks import WindowKind


def test_defaults_give_a_four_rank_ladder_and_working_rates():
    config = parse_config({}).loyalty
    assert [rank.code for rank in config.ladder.ranks] == ["REGULAR", "SILVER", "GOLD", "PLATINUM"]
    # by order counts alone: no currency a store may not sell in
    assert [(rank.min_orders, rank.min_spend) for rank in config.ladder.ranks] == [
        (None, {}),
        (3, {}),
        (5, {}),
        (10, {}),
    ]
    assert config.enabled
    assert config.allow_negative
    assert not config.points_on_renewals
    assert config.ladder.window.kind is WindowKind.ROLLING
    assert config.ladder.window.months == 12
    assert config.expiry.kind is ExpiryKind.LOT
    assert config.expiry.months == 12
    assert config.return_window_days == 14
    assert config.earn.rounding is Rounding.FLOOR
    order = OrderAmounts("JPY", Decimal(26828), Decimal(24389))
    assert earn_points(order, config.earn).points == 268
    assert config.redemption["JPY"].amount_for(150) == Decimal(150)
    assert config.redemption["USD"].amount_for(550) == Decimal("5.50")
    assert config.redemption["USD"].amount_for(555) == Decimal("5.55")
    assert config.redemption["USD"].amount_for(501) == Decimal("5.01")


def test_every_setting_is_read():
    config = parse_config(
        {
            "ranks": "Member (M)\nVIP (VIP): spend 200 USD and orders 3; points x1.5",
            "rank-window": "yearly from 04-01",
            "rank-down-after-inactive-months": "6",
            "points-earn-rates": "USD: 2 per 1; minimum 10\nJPY: 1 per 100",
            "points-include-tax": "false",
            "points-include-shipping": "true",
            "points-rounding": "half up",
            "points-bonuses": "first order +50\nbirthday month x3\nlinked line_user_id +300",
            "points-return-window-days": "0",
            "points-allow-negative": "off",
            "points-expiry": "6 months without activity",
            "points-redemption": "USD: 100 points = 1 USD; min 500; max 10000",
            "points-on-renewals": "yes",
            "rank-customer-types": "on",
        }
    ).loyalty
    assert config.ladder.window.kind is WindowKind.YEARLY
    assert (config.ladder.window.month, config.ladder.window.day) == (4, 1)
    assert config.ladder.inactive_months == 6
    vip = config.ladder.by_code("VIP")
    assert vip.combine == "all"
    assert vip.min_spend == {"USD": Decimal(200)}
    assert config.earn.minimum_order == {"USD": Decimal(10)}
    assert not config.earn.include_tax
    assert config.earn.include_shipping
    assert config.earn.rounding is Rounding.HALF_UP
    assert config.bonuses.first_order == 50
    assert config.earn.first_order_bonus == 50
    assert config.earn.birthday_multiplier == 3
    assert (config.bonuses.link_key, config.bonuses.link_points) == ("line_user_id", 300)
    assert config.return_window_days == 0
    assert not config.allow_negative
    assert config.expiry.kind is ExpiryKind.INACTIVITY
    assert config.expiry.months == 6
    assert config.redemption["USD"].max_points == 10000
    assert config.points_on_renewals
    assert config.customer_types


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("ranks", "", "ranks: is empty"),
        ("ranks", "Regular (R)\nGold (G): orders 5\nSilver (S): orders 3", "Silver.min_orders"),
        ("ranks", "Regular (R)\nGold (G): spend 100 XYZ", "Gold.min_spend: 'XYZ'"),
        ("ranks", "Regular (R)\nGold (G): orders -1", "Gold.min_orders: must be"),
        ("ranks", "Regular (R)\nGold (G): orders 5\nPlatinum (P): orders 5", "Platinum.thresholds"),
        ("ranks", "Regular (R)\nGold (G): orders five", "line 2 (Gold): 'orders five'"),
        ("ranks", "Regular (R)\nGold (G): orders 5; discount 120%", "Gold.discount_percent"),
        ("ranks", "Regular (R): orders 1", "Regular.thresholds"),
        ("rank-window", "weekly", "rank-window: 'weekly'"),
        ("rank-window", "rolling 12 months, on day 31", "the day of the month"),
        ("rank-down-after-inactive-months", "-3", "rank-down-after-inactive-months"),
        ("points-earn-rates", "JPY 1 per 100", "points-earn-rates: line 1"),
        ("points-earn-rates", "JPX: 1 per 100", "'JPX' is not an ISO 4217"),
        ("points-earn-rates", "JPY: -1 per 100", "JPY"),
        ("points-earn-rates", "JPY: 1 per 100; minimum -5", "the minimum is negative"),
        ("points-earn-rates", "JPY: 1 per 100\nJPY: 2 per 100", "earlier line"),
        ("points-rounding", "down", "points-rounding: 'down'"),
        ("points-bonuses", "birthday month x0.5", "birthday multiplier"),
        ("points-bonuses", "anniversary +5", "points-bonuses: line 1"),
        ("points-return-window-days", "-1", "points-return-window-days"),
        ("points-expiry", "soon", "points-expiry: 'soon'"),
        ("points-redemption", "JPY: 1 point = 1 JPY; min 0", "JPY min points"),
        ("points-redemption", "JPY: 1 point = 1 JPY; min 500; max 100", "max 100 is below min 500"),
        ("points-redemption", "USD: 1000 points = 1 USD; min 1", "less than one USD unit"),
        ("points-redemption", "USD: 1 point = 1 JPY", "the rate is in JPY"),
        ("points-allow-negative", "maybe", "points-allow-negative"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(setting, value, message):
    with pytest.raises(ConfigError) as caught:
        parse_config({setting: value})
    assert caught.value.field == setting
    assert message in str(caught.value)


def test_the_ladder_version_follows_the_rules_not_the_spacing():
    text = "Regular (R)\nGold (G): orders 5"
    window = parse_window("lifetime")
    assert ladder_version(text, window, None) == ladder_version(f"  {text}\n\n", window, None)
    assert ladder_version(text, window, None) != ladder_version(text, window, 6)
    assert ladder_version(text, window, None) != ladder_version(
        text.replace("5", "6"), window, None
    )

from decimal import Decimal

import pytest

from saleor_crm_plugin.conf import ConfigError, CRMConfig, parse_config
from saleor_crm_plugin.money import minor_unit, parse_amount, quantize_amount, validate_currency


@pytest.mark.parametrize(("currency", "digits"), [("JPY", 0), ("USD", 2), ("KWD", 3)])
def test_minor_unit(currency, digits):
    assert minor_unit(currency) == digits


def test_jpy_rounds_to_whole_yen():
    assert quantize_amount(Decimal("1234.5"), "JPY") == Decimal(1235)


def test_parse_amount_refuses_fractions_of_a_yen():
    with pytest.raises(ValueError, match="has more decimals than JPY allows"):
        parse_amount("10.5", "JPY")


@pytest.mark.parametrize("text", ["abc", "-1", "NaN", "Infinity"])
def test_parse_amount_refuses_non_amounts(text):
    with pytest.raises(ValueError, match=f"'{text}'"):
        parse_amount(text, "USD")


def test_currency_code_is_three_letters():
    assert validate_currency(" usd ") == "USD"
    with pytest.raises(ValueError, match="'US' is not an ISO 4217 currency code"):
        validate_currency("US")


def test_an_unknown_currency_code_is_refused():
    assert validate_currency("kwd") == "KWD"
    with pytest.raises(ValueError, match="'YEN' is not an ISO 4217 currency code in use"):
        validate_currency("YEN")
    with pytest.raises(ValueError, match="'XXX' is not an ISO 4217 currency code in use"):
        validate_currency("XXX")


def test_dashboard_configuration_is_parsed():
    # given
    raw = [
        {"name": "store-time-zone", "value": "Asia/Tokyo"},
        {"name": "ingestion-enabled", "value": False},
    ]

    # when
    config = parse_config(raw)

    # then
    assert config == CRMConfig(
        ingestion_enabled=False, store_time_zone="Asia/Tokyo", dormant_days=90
    )


def test_defaults_apply_when_nothing_is_set():
    assert parse_config(None) == CRMConfig(
        ingestion_enabled=True, store_time_zone="UTC", dormant_days=90
    )


@pytest.mark.parametrize("value", ["0", "abc", "-5", "4000", "1.5"])
def test_dormant_days_must_be_a_sensible_number(value):
    with pytest.raises(ConfigError) as error:
        parse_config({"dormant-days": value})
    assert (
        str(error.value) == f"dormant-days: '{value}' is not a whole number of days from 1 to 3650"
    )


def test_dormant_days_from_dashboard_text():
    assert parse_config([{"name": "dormant-days", "value": "120"}]).dormant_days == 120


def test_wrong_time_zone_names_the_field():
    with pytest.raises(ConfigError) as error:
        parse_config({"store-time-zone": "Tokyo"})
    assert error.value.field == "store-time-zone"
    assert "'Tokyo' is not an IANA time zone" in str(error.value)


def test_wrong_boolean_names_the_field():
    with pytest.raises(ConfigError) as error:
        parse_config({"ingestion-enabled": "maybe"})
    assert str(error.value) == "ingestion-enabled: 'maybe' is not true or false"


def test_unknown_setting_is_refused():
    with pytest.raises(ConfigError) as error:
        parse_config({"store-timezone": "UTC"})
    assert error.value.field == "store-timezone"


def test_metadata_keys_have_defaults_and_can_be_set():
    # when
    config = parse_config({"marketing-consent-key": " newsletter ", "gender-key": "sex"})

    # then
    assert config.consent_key == "newsletter"
    assert config.gender_key == "sex"
    assert config.birth_date_key == "birth_date"


@pytest.mark.parametrize("value", ["", "  ", "two words", "x" * 129])
def test_metadata_key_must_be_a_key(value):
    # when
    with pytest.raises(ConfigError) as error:
        parse_config({"birth-date-key": value})

    # then
    assert error.value.field == "birth-date-key"


def test_segment_map_setting_is_read():
    # given
    text = "Best: R 4-5; F 3-5\nRising: R 4-5; F 1-2\nSlipping: R 1-3; F 1-5"

    # when
    config = parse_config({"rfm-segments": text})

    # then
    assert config.segment_names == ("Best", "Rising", "Slipping")
    assert config.segment_map["Slipping"] == ((1, 2, 3), (1, 2, 3, 4, 5))
    assert parse_config(None).segment_names[0] == "Champions"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "rfm-segments: is empty"),
        ("Best: R 1-5; F 1-4", "rfm-segments: no segment for R 1, F 5"),
        ("Best: R 1-5; F 1-5\nAgain: R 5; F 5", "rfm-segments: line 2: R 5, F 5 already belongs"),
        ("Best R 1-5 F 1-5", "rfm-segments: line 1: write it as 'Name: R 4-5; F 1-2'"),
        ("B" * 65 + ": R 1-5; F 1-5", "is longer than 64 characters"),
    ],
    ids=["empty", "gap", "overlap", "malformed", "long-name"],
)
def test_bad_segment_map_names_the_setting_and_line(text, message):
    # when
    with pytest.raises(ConfigError) as error:
        parse_config({"rfm-segments": text})

    # then
    assert error.value.field == "rfm-segments"
    assert message in str(error.value)


def test_subscription_notification_and_retry_settings_are_read():
    config = parse_config(
        {
            "subscription-retry-hours": "2, 12",
            "subscription-spread-hours": "6",
            "subscription-reminder-days": "0",
            "subscription-send-window": "8:30-21:00",
            "subscription-staff-emails": "ops@example.com; ceo@example.com",
        }
    )
    assert config.subscription_retry_hours == (2, 12)
    assert config.subscription_spread_hours == 6
    assert config.subscription_reminder_days == 0
    assert config.subscription_send_window == (8 * 60 + 30, 21 * 60)
    assert config.subscription_staff_emails == ("ops@example.com", "ceo@example.com")
    assert parse_config({"subscription-retry-hours": ""}).subscription_retry_hours == ()
    defaults = parse_config({})
    assert (defaults.subscription_retry_hours, defaults.subscription_reminder_days) == (
        (1, 6, 24),
        3,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("subscription-retry-hours", "1, soon", "'soon' is not a number of hours from 1 to 720"),
        ("subscription-retry-hours", "0", "'0' is not a number of hours from 1 to 720"),
        ("subscription-spread-hours", "30", "'30' is not a whole number of hours from 0 to 23"),
        ("subscription-send-window", "evenings", "'evenings' is not hours such as 09:00-20:00"),
        ("subscription-send-window", "20:00-09:00", "the window must end after it starts"),
        ("subscription-staff-emails", "ops@example.com, ops", "'ops' is not an email address"),
    ],
)
def test_bad_subscription_settings_name_the_setting(name, value, message):
    with pytest.raises(ConfigError) as refused:
        parse_config({name: value})
    assert refused.value.field == name
    assert message in str(refused.value)


def test_basket_settings_are_read():
    config = parse_config(
        [
            {"name": "basket-min-count", "value": "5"},
            {"name": "basket-min-share", "value": "0.5%"},
            {"name": "basket-window-days", "value": "60"},
        ]
    )

    assert (config.basket_min_count, config.basket_min_share, config.basket_window_days) == (
        5,
        0.005,
        60,
    )
    assert (parse_config({}).basket_min_count, parse_config({}).basket_min_share) == (3, 0.0)
    assert parse_config({}).basket_window_days == 30


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("basket-min-count", "0", "basket-min-count: '0' is not a whole number from 1 to 1000000"),
        ("basket-min-share", "101", "basket-min-share: '101' is not a percentage from 0 to 100"),
        (
            "basket-min-share",
            "a lot",
            "basket-min-share: 'a lot' is not a percentage from 0 to 100",
        ),
        (
            "basket-window-days",
            "731",
            "basket-window-days: '731' is not a whole number of days from 1 to 730",
        ),
    ],
)
def test_bad_basket_settings_name_the_setting(name, value, message):
    with pytest.raises(ConfigError) as error:
        parse_config({name: value})

    assert str(error.value) == message


def test_guest_retention_is_off_when_empty_and_counted_in_years():
    # when
    configs = [parse_config({"guest-retention-years": value}) for value in ("", "  ", "3")]

    # then
    assert [c.guest_retention_years for c in configs] == [None, None, 3]
    assert parse_config(None).guest_retention_years is None


@pytest.mark.parametrize("value", ["0", "101", "two", "1.5", "-1"])
def test_guest_retention_must_be_1_to_100_years(value):
    with pytest.raises(ConfigError) as error:
        parse_config({"guest-retention-years": value})
    assert error.value.field == "guest-retention-years"
    assert str(error.value) == (
        f"guest-retention-years: '{value}' is not a whole number of years from 1 to 100"
    )

"""The campaign channels' settings: SMTP, LINE and webhooks (conf.py)."""

import pytest

from saleor_crm_plugin.conf import ConfigError, parse_config

SECRET = "whsec-0123456789abcdef"


def test_channel_defaults():
    # when
    config = parse_config(None)

    # then: Django's email settings, LINE off without a token, no webhooks
    assert (config.smtp_host, config.smtp_port, config.smtp_security) == ("", 587, "starttls")
    assert (config.smtp_username, config.smtp_password, config.campaign_from_email) == ("", "", "")
    assert (config.line_channel_access_token, config.line_api_base_url) == (
        "",
        "https://api.line.me",
    )
    assert config.line_user_id_key == "line_user_id"
    assert (config.webhook_url, config.webhook_secret) == ("", "")


def test_channel_settings_are_read_from_dashboard_values():
    # given: what Saleor hands the plugin (the real secret values, not the masked ones)
    raw = [
        {"name": "smtp-host", "value": " smtp.example.com "},
        {"name": "smtp-port", "value": "465"},
        {"name": "smtp-username", "value": "shop"},
        {"name": "smtp-password", "value": " pass word "},
        {"name": "smtp-security", "value": "SSL"},
        {"name": "campaign-from-email", "value": "Shop <news@example.com>"},
        {"name": "line-channel-access-token", "value": "abc/DEF+123=\n"},
        {"name": "line-api-base-url", "value": "http://127.0.0.1:8080/"},
        {"name": "line-user-id-key", "value": "line_id"},
        {"name": "webhook-url", "value": "https://hooks.example.com/crm"},
        {"name": "webhook-secret", "value": SECRET},
    ]

    # when
    config = parse_config(raw)

    # then
    assert (config.smtp_host, config.smtp_port, config.smtp_username) == (
        "smtp.example.com",
        465,
        "shop",
    )
    assert (config.smtp_password, config.smtp_security) == (" pass word ", "ssl")
    assert config.campaign_from_email == "Shop <news@example.com>"
    assert config.line_channel_access_token == "abc/DEF+123="
    assert config.line_api_base_url == "http://127.0.0.1:8080"
    assert config.line_user_id_key == "line_id"
    assert (config.webhook_url, config.webhook_secret) == ("https://hooks.example.com/crm", SECRET)


def test_secrets_stay_out_of_the_configurations_repr():
    config = parse_config(
        {
            "smtp-password": "hunter2-password",
            "line-channel-access-token": "line-token-value",
            "webhook-secret": SECRET,
        }
    )

    text = repr(config)

    assert "hunter2-password" not in text
    assert "line-token-value" not in text
    assert SECRET not in text


def test_a_bare_sender_address_is_kept_bare():
    assert parse_config({"campaign-from-email": "<news@example.com>"}).campaign_from_email == (
        "news@example.com"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "smtp-host",
            "smtp://mail.example.com",
            "smtp-host: 'smtp://mail.example.com' is not a host name such as smtp.example.com "
            "(no scheme or port)",
        ),
        (
            "smtp-host",
            "mail.example.com:587",
            "smtp-host: 'mail.example.com:587' is not a host name such as smtp.example.com "
            "(no scheme or port)",
        ),
        ("smtp-port", "0", "smtp-port: '0' is not a whole number from 1 to 65535"),
        ("smtp-port", "65536", "smtp-port: '65536' is not a whole number from 1 to 65535"),
        ("smtp-security", "tls", "smtp-security: 'tls' is not none, starttls or ssl"),
        (
            "campaign-from-email",
            "news",
            "campaign-from-email: 'news' is not an email address (e.g. 'Shop <news@example.com>')",
        ),
        (
            "campaign-from-email",
            "Shop news@example.com",
            "campaign-from-email: 'Shop news@example.com' is not an email address "
            "(e.g. 'Shop <news@example.com>')",
        ),
        (
            "line-api-base-url",
            "api.line.me",
            "line-api-base-url: 'api.line.me' is not an http(s) URL such as https://api.line.me",
        ),
        (
            "line-api-base-url",
            "ftp://api.line.me",
            "line-api-base-url: 'ftp://api.line.me' is not an http(s) URL such as "
            "https://api.line.me",
        ),
        ("line-api-base-url", "", "line-api-base-url: is empty; give https://api.line.me"),
        (
            "line-channel-access-token",
            "abc def",
            "line-channel-access-token: contains a space or a line break; paste the value alone",
        ),
        (
            "line-user-id-key",
            "line user",
            "line-user-id-key: 'line user' is not a metadata key (no spaces, at most 128 "
            "characters)",
        ),
        (
            "webhook-url",
            "https://hooks.example.com:99999/crm",
            "webhook-url: 'https://hooks.example.com:99999/crm' is not an http(s) URL such as "
            "https://hooks.example.com/crm",
        ),
        ("webhook-secret", "short", "webhook-secret: is 5 characters long; give at least 16"),
    ],
)
def test_a_wrong_channel_setting_names_the_setting(name, value, message):
    with pytest.raises(ConfigError) as error:
        parse_config({name: value})

    assert error.value.field == name
    assert str(error.value) == message


def test_a_webhook_url_needs_a_secret_to_sign_with():
    with pytest.raises(ConfigError) as error:
        parse_config({"webhook-url": "https://hooks.example.com/crm"})

    assert str(error.value) == (
        "webhook-url: needs a webhook secret to sign the events: set webhook-secret first"
    )
    assert parse_config(
        {"webhook-url": "https://hooks.example.com/crm", "webhook-secret": SECRET}
    ).webhook_url == ("https://hooks.example.com/crm")


def test_an_ip_address_is_a_host():
    assert parse_config({"smtp-host": "127.0.0.1"}).smtp_host == "127.0.0.1"
    assert parse_config({"smtp-host": "[::1]"}).smtp_host == "::1"

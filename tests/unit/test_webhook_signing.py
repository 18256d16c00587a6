"""Webhook signatures (campaigns/signing.py), against HMACs computed by OpenSSL:
printf '1700000000.<body>' | openssl dgst -sha256 -hmac 'whsec-0123456789abcdef'."""

from datetime import UTC, datetime

import pytest

from saleor_crm_plugin.campaigns.signing import sign, signature_headers, verify_signature

SECRET = "whsec-0123456789abcdef"
BODY = b'{"event":"segment.entered","data":{"name":"Hanako"}}'
SIGNATURE = "sha256=40de9e211c9d1fe054f246550f8a3fc4fe31a596cf638130fcdd36f1d74560fb"
SENT = 1_700_000_000


def test_the_signature_is_the_hmac_of_timestamp_dot_body():
    assert sign(SECRET, SENT, BODY) == SIGNATURE
    assert sign(SECRET, str(SENT), BODY.decode()) == SIGNATURE


def test_a_body_is_signed_as_its_utf8_bytes():
    expected = "sha256=3d7d43325ef0956ce3bca588bb602d9d5c717ff4674a909cfcd86da04609f524"

    assert sign(SECRET, SENT, '{"name":"花子"}') == expected
    assert sign(SECRET, SENT, '{"name":"花子"}'.encode()) == expected


def test_the_headers_of_an_attempt():
    assert signature_headers(SECRET, SENT, BODY, "segment.entered", "segment:7:entered:42") == {
        "X-CRM-Timestamp": "1700000000",
        "X-CRM-Signature": SIGNATURE,
        "X-CRM-Event": "segment.entered",
        "X-CRM-Delivery": "segment:7:entered:42",
    }


@pytest.mark.parametrize(
    "now",
    [SENT, SENT + 300, SENT - 300, datetime.fromtimestamp(SENT + 120, UTC)],
    ids=["same second", "5 minutes late", "5 minutes early", "aware datetime"],
)
def test_a_genuine_webhook_is_accepted(now):
    assert verify_signature(SECRET, "1700000000", BODY, SIGNATURE, now) is True


def test_upper_case_hex_is_accepted():
    assert verify_signature(SECRET, SENT, BODY, SIGNATURE.upper().replace("SHA256", "sha256"), SENT)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "header", "now"),
    [
        ("another-secret-value", SENT, BODY, SIGNATURE, SENT),
        (SECRET, SENT, BODY + b" ", SIGNATURE, SENT),
        (SECRET, SENT + 1, BODY, SIGNATURE, SENT),
        (SECRET, SENT, BODY, SIGNATURE, SENT + 301),
        (SECRET, SENT, BODY, SIGNATURE, SENT - 301),
        (SECRET, SENT, BODY, SIGNATURE.removeprefix("sha256="), SENT),
        (SECRET, SENT, BODY, SIGNATURE.replace("sha256", "sha1"), SENT),
        (SECRET, SENT, BODY, "sha256=", SENT),
        (SECRET, SENT, BODY, None, SENT),
        (SECRET, "", BODY, SIGNATURE, SENT),
        (SECRET, "1700000000.5", BODY, SIGNATURE, SENT),
        (SECRET, "-1", BODY, SIGNATURE, SENT),
    ],
    ids=[
        "wrong secret",
        "body changed",
        "timestamp changed",
        "too late",
        "too early",
        "no scheme",
        "other scheme",
        "empty digest",
        "no header",
        "no timestamp",
        "fractional timestamp",
        "negative timestamp",
    ],
)
def test_anything_else_is_refused(secret, timestamp, body, header, now):
    assert verify_signature(secret, timestamp, body, header, now) is False


def test_a_tolerance_of_zero_skips_the_clock_check():
    assert verify_signature(SECRET, SENT, BODY, SIGNATURE, SENT + 86_400, tolerance=0) is True
    assert verify_signature(SECRET, SENT, BODY, SIGNATURE, SENT + 61, tolerance=60) is False

"""Signing the CRM's outbound webhooks, and checking a signature on the receiving side. Pure.

Every webhook the CRM sends carries:

- `X-CRM-Timestamp`: when this attempt was sent, in whole Unix seconds;
- `X-CRM-Signature`: `sha256=` and the hexadecimal HMAC-SHA256 of `"{timestamp}.{body}"`
  (the timestamp header's text, a dot, then the raw request body bytes) keyed with the
  store's webhook secret;
- `X-CRM-Event`: the event's name, and `X-CRM-Delivery`: its delivery key, the same on every
  retry of one event (a receiver that has seen the key has handled the event).

A receiver recomputes the HMAC over the body exactly as received (before parsing the JSON),
compares in constant time, and refuses a timestamp too far from its own clock (a replayed
request): `verify_signature` does all three.
"""

import hashlib
import hmac
from datetime import datetime

__all__ = ["SCHEME", "sign", "signature_headers", "verify_signature"]

SCHEME = "sha256"


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Return the `X-CRM-Signature` value of `body` sent at `timestamp`.

    Parameters
    ----------
    secret : the store's webhook secret.
    timestamp : the `X-CRM-Timestamp` value (Unix seconds).
    body : the request body, exactly as sent (a str is encoded as UTF-8).

    Returns
    -------
    str
        ``"sha256=<64 hexadecimal digits>"``.
    """
    message = f"{timestamp}.".encode() + _bytes(body)
    digest = hmac.new(_bytes(secret), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def signature_headers(
    secret: str, timestamp: int, body: bytes, event: str, key: str
) -> dict[str, str]:
    """Return the headers that sign one webhook attempt."""
    return {
        "X-CRM-Timestamp": str(timestamp),
        "X-CRM-Signature": sign(secret, timestamp, body),
        "X-CRM-Event": event,
        "X-CRM-Delivery": key,
    }


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    header: str,
    now: datetime | float,
    tolerance: int = 300,
) -> bool:
    """Check a webhook from the CRM: signed with `secret`, and sent within `tolerance`.

    Use it in the receiver before trusting (or even parsing) the body::

        ok = verify_signature(
            secret,
            request.headers["X-CRM-Timestamp"],
            request.body,  # the raw bytes, not re-serialized JSON
            request.headers["X-CRM-Signature"],
            now=time.time(),
        )

    Parameters
    ----------
    secret : the webhook secret set in the CRM plugin's settings.
    timestamp : the `X-CRM-Timestamp` header (Unix seconds, as text or a number).
    body : the raw request body.
    header : the `X-CRM-Signature` header (``sha256=<hex>``).
    now : the receiver's current time: an aware datetime or Unix seconds.
    tolerance : the most seconds the timestamp may differ from `now`, either way
        (a larger gap is refused as a possible replay; 0 disables the check).

    Returns
    -------
    bool
        True when the signature matches and the timestamp is within the tolerance; False
        for anything else (a missing or malformed header included): never raises.
    """
    text = str(timestamp).strip()
    if not text.isdigit() or not isinstance(header, str):
        return False
    now_seconds = now.timestamp() if isinstance(now, datetime) else float(now)
    if tolerance and abs(now_seconds - int(text)) > tolerance:
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme != SCHEME or not digest:
        return False
    expected = sign(secret, text, body)
    return hmac.compare_digest(expected.encode(), f"{SCHEME}={digest.lower()}".encode())

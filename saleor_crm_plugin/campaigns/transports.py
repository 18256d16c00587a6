"""The campaign channels: email over SMTP, LINE push messages, signed outbound webhooks.

The send engine calls these and records each `Outcome` in its send log; nothing here
decides who gets what.

- Email: `email_connection(config)` is the store's SMTP server when `smtp-host` is set, else
  Django's email settings (Saleor's `EMAIL_URL`). Take one per batch, as
  `with contextlib.closing(email_connection(config)) as connection:` (not the backend's own
  `with`, which opens it and raises when the server refuses), and send each message with
  `send_email`: it opens the connection once and turns what the SMTP server answers into an
  `Outcome` (`smtp:550`; retryable for 4xx, timeouts and connection errors).
- LINE: `line_push` posts to the Messaging API's push endpoint with an `X-Line-Retry-Key`
  derived from the caller's idempotency key (uuid5), so a retried push is delivered once:
  LINE answers 409 to a retry key it already accepted (kept by LINE for 24 hours), which is
  success here. LINE's errors (`{"message", "details": [{"message", "property"}]}`) become
  `line:<status>` with LINE's own words.
- Webhooks: `enqueue_webhook` writes a `WebhookDelivery` in the caller's transaction; the task
  `saleor_crm.deliver_webhook` posts it after the commit, signed (`signing.py`), and
  `saleor_crm.retry_webhooks` (beat, every minute) retries failures after 1 min, 5 min,
  30 min, 2 h and 12 h, then marks them failed. Any answer but 2xx (and a timeout, or a
  connection error) is retried: a receiver's 4xx is often a misconfiguration staff can fix.

HTTP is plain `urllib` from the standard library. `requests` is not a dependency of ours
(only of Saleor), and the official `line-bot-sdk` (3.x, generated OpenAPI code: about 500
modules, 4 MB) requires aiohttp, aenum and future, which Saleor does not install; one POST
with three headers does not need it. Redirects are not followed (a POST must not turn into
a GET elsewhere): a 3xx is a failure that names the new location.
"""

import http.client
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from ..conf import CRMConfig
from ..task_options import enqueue
from .signing import signature_headers, verify_signature
from .webhooks import WebhookDelivery

logger = logging.getLogger(__name__)

__all__ = [
    "BACKOFF",
    "Outcome",
    "deliver_due_webhooks",
    "deliver_webhook",
    "email_connection",
    "enqueue_webhook",
    "from_email",
    "line_push",
    "line_retry_key",
    "send_email",
    "verify_signature",
]

# Seconds a request to LINE, a webhook receiver or the SMTP server may take.
TIMEOUT_SECONDS = 10
# How much of an answer's body is read (an error page can be large).
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "saleor-crm-plugin"
# The namespace of LINE retry keys: uuid5(namespace, the caller's key).
LINE_RETRY_NAMESPACE = uuid.UUID("5f0b7a52-4c61-4f54-9d0e-3c1a2b7d8e90")
LINE_MAX_MESSAGES = 5  # LINE's limit for one push
# After the n-th failed attempt of a webhook, the next one waits BACKOFF[n - 1]; after the
# last, the delivery is failed (6 attempts over about 15 hours).
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# How long a worker holds a webhook it is posting: another takes it after this (a worker
# that died), so it is far longer than the timeout.
LEASE = timedelta(minutes=5)
# A run of `deliver_due_webhooks` stops taking new deliveries after this many seconds, so a
# backlog behind a slow receiver does not pile runs of the every-minute task on each other.
DUE_RUN_BUDGET_SECONDS = 50


@dataclass(frozen=True)
class Outcome:
    """What one send attempt came to, for the send log."""

    ok: bool
    # Human readable reason: LINE's own message and details, the SMTP reply, the HTTP status.
    error: str = ""
    # Machine code: "line:400", "smtp:550", "http:503", "timeout", "connection", "tls", ...
    code: str = ""
    # A later attempt may succeed (5xx, 429, 4xx SMTP replies, timeouts, connection errors).
    retryable: bool = False


# --- HTTP -------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx reaches the caller as an HTTPError


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    headers: Message


def _post(url: str, body: bytes, headers: dict[str, str]) -> _Answer | Outcome:
    """POST `body`; return the answer whatever its status, or an `Outcome` when there was
    none (a timeout, a refused connection, a TLS failure)."""
    request = urllib.request.Request(  # noqa: S310 (http(s) only: conf checks the URLs)
        url,
        data=body,
        method="POST",
        headers={"User-Agent": USER_AGENT, **headers},
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return _Answer(response.status, response.read(MAX_ANSWER_BYTES), response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return _Answer(error.code, error.read(MAX_ANSWER_BYTES), error.headers)
    except (urllib.error.URLError, OSError, ValueError) as error:
        return _no_answer(error)
    except http.client.HTTPException as error:  # a malformed answer
        return Outcome(False, f"no valid HTTP answer: {error!r}", "connection", retryable=True)


def _no_answer(error: Exception) -> Outcome:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError):
        return Outcome(
            False, f"no answer within {TIMEOUT_SECONDS} seconds", "timeout", retryable=True
        )
    if isinstance(reason, ssl.SSLCertVerificationError):
        return Outcome(False, f"TLS certificate refused: {reason}", "tls")
    return Outcome(False, f"connection failed: {reason}", "connection", retryable=True)


def _text(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


# --- email ------------------------------------------------------------------------------


def email_connection(config: CRMConfig):
    """Return an unopened email connection: the store's SMTP server when `smtp-host` is set,
    else Django's email backend. One per batch, closed after it (`contextlib.closing`);
    `send_email` opens it."""
    if not config.smtp_host:
        return get_connection(fail_silently=False)
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        fail_silently=False,
        host=config.smtp_host,
        port=config.smtp_port,
        # Strings, never None: None would fall back to Django's EMAIL_HOST_USER/PASSWORD.
        username=config.smtp_username,
        password=config.smtp_password,
        use_tls=config.smtp_security == "starttls",
        use_ssl=config.smtp_security == "ssl",
        timeout=TIMEOUT_SECONDS,
    )


def from_email(config: CRMConfig) -> str:
    """The From address of campaign emails."""
    return config.campaign_from_email or settings.DEFAULT_FROM_EMAIL


def send_email(connection, message: EmailMessage) -> Outcome:
    """Send one message on a connection of `email_connection`, opening it first if needed.
    What the server or the network does is an `Outcome`, never an exception.

    A connection that could not be opened (refused, wrong login, untrusted certificate) is
    not tried again: every later message on it gets the same `Outcome`, so a batch with a
    wrong password does not knock on the server once per customer. After an error that may
    have broken an open connection it is closed, and the next message opens it again.
    """
    failed = getattr(connection, "crm_open_failure", None)
    if failed is not None:
        return failed
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        _close(connection)
        outcome = _smtp_error(error)
        connection.crm_open_failure = outcome
        return outcome
    try:
        sent = connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as error:
        address, (code, reply) = next(iter(error.recipients.items()))
        return _smtp_outcome(code, reply, f" ({address})")
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        return _smtp_outcome(error.smtp_code, error.smtp_error)
    except (smtplib.SMTPException, OSError) as error:
        _close(connection)
        return _smtp_error(error)
    if not sent:
        return Outcome(False, "not sent: the message has no recipient", "smtp:no_recipient")
    return Outcome(True)


def _smtp_error(error: smtplib.SMTPException | OSError) -> Outcome:
    if isinstance(error, smtplib.SMTPResponseException):  # HELO, AUTH, a reply at connect
        return _smtp_outcome(error.smtp_code, error.smtp_error)
    if isinstance(error, smtplib.SMTPNotSupportedError):  # e.g. no STARTTLS or AUTH offered
        return Outcome(False, f"the SMTP server does not support it: {error}", "smtp:unsupported")
    return _no_answer(error)  # disconnected, refused, timed out, TLS


def _smtp_outcome(code: int, reply: bytes | str, suffix: str = "") -> Outcome:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return Outcome(
        False,
        f"SMTP {code}: {' '.join(text.split())}{suffix}",
        f"smtp:{code}",
        retryable=400 <= code < 500,
    )


def _close(connection) -> None:
    try:
        connection.close()  # Django's SMTP backend forgets the connection even when this fails
    except Exception:
        logger.debug("CRM: closing a broken SMTP connection failed", exc_info=True)


# --- LINE -------------------------------------------------------------------------------


def line_retry_key(key: str) -> str:
    """The `X-Line-Retry-Key` of a push: the same for every retry of one send."""
    return str(uuid.uuid5(LINE_RETRY_NAMESPACE, key))


def line_push(config: CRMConfig, line_user_id: str, messages: list[dict], key: str) -> Outcome:
    """Push `messages` (LINE message objects, 1 to 5) to one LINE user; never raise for what
    LINE or the network answers. `key` is the caller's idempotency key of this send."""
    if not 1 <= len(messages) <= LINE_MAX_MESSAGES:
        raise ValueError(
            f"a LINE push takes 1 to {LINE_MAX_MESSAGES} messages, not {len(messages)}"
        )
    if not config.line_channel_access_token:
        return Outcome(
            False, "no LINE channel access token is set (line-channel-access-token)", "line:token"
        )
    body = json.dumps({"to": line_user_id, "messages": messages}, ensure_ascii=False).encode()
    answer = _post(
        f"{config.line_api_base_url}/v2/bot/message/push",
        body,
        {
            "Authorization": f"Bearer {config.line_channel_access_token}",
            "Content-Type": "application/json",
            "X-Line-Retry-Key": line_retry_key(key),
        },
    )
    if isinstance(answer, Outcome):
        return answer
    if 200 <= answer.status < 300:
        return Outcome(True, code=f"line:{answer.status}")
    if answer.status == 409:  # this retry key was accepted before: delivered once already
        return Outcome(True, code="line:409")
    return _line_error(answer)


def _line_error(answer: _Answer) -> Outcome:
    try:
        data = json.loads(answer.body)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("message"):
        message = str(data["message"])
        details = [
            f"{detail.get('property', '')}: {detail.get('message', '')}".strip(": ")
            for detail in data.get("details") or []
            if isinstance(detail, dict)
        ]
        if details:
            message += f" ({'; '.join(details)})"
    else:
        message = _text(answer.body) or "no reason given"
    request_id = answer.headers.get("X-Line-Request-Id")
    if request_id:
        message += f" [request {request_id}]"
    # 429 is a rate limit (retry later) except the month's message quota, spent until the
    # month ends or the plan changes.
    retryable = answer.status >= 500 or (
        answer.status == 429 and "monthly limit" not in message.lower()
    )
    return Outcome(False, f"LINE {answer.status}: {message}", f"line:{answer.status}", retryable)


# --- webhooks ---------------------------------------------------------------------------


def enqueue_webhook(config: CRMConfig, event: str, payload: dict, key: str) -> None:
    """Queue one webhook event, inside the caller's transaction: it is posted after the
    commit. Nothing happens when no webhook URL is set, or when `key` was queued before (the
    first payload stays). `payload` is JSON with Django's encoder (Decimal, dates, UUIDs)."""
    if not event or len(event) > 64:
        raise ValueError(f"a webhook event name has 1 to 64 characters: {event!r}")
    if not key or len(key) > 255:
        raise ValueError(f"a webhook key has 1 to 255 characters: {key!r}")
    if not config.webhook_url:
        return
    now = timezone.now()
    _row, created = WebhookDelivery.objects.get_or_create(
        key=key,
        defaults={"event": event, "payload": payload, "created_at": now, "next_attempt_at": now},
    )
    if created:
        from .tasks import deliver_webhook_task  # the task module imports this one

        enqueue(deliver_webhook_task, key)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The JSON body of a delivery: the same bytes on every attempt."""
    envelope = {
        "event": delivery.event,
        "delivery": delivery.key,
        "created_at": delivery.created_at,
        "data": delivery.payload,
    }
    return json.dumps(
        envelope, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def post_webhook(config: CRMConfig, delivery: WebhookDelivery, now: datetime) -> Outcome:
    """Post one attempt of a delivery, signed at `now`."""
    if not config.webhook_url or not config.webhook_secret:
        return Outcome(False, "no webhook URL and secret are set (webhook-url)", "webhook:off")
    body = webhook_body(delivery)
    headers = signature_headers(
        config.webhook_secret, int(now.timestamp()), body, delivery.event, delivery.key
    )
    answer = _post(
        config.webhook_url, body, {"Content-Type": "application/json; charset=utf-8", **headers}
    )
    if isinstance(answer, Outcome):
        return answer
    if 200 <= answer.status < 300:
        return Outcome(True, code=f"http:{answer.status}")
    reason = _text(answer.body)
    if 300 <= answer.status < 400:
        reason = f"redirected to {answer.headers.get('Location', '?')}: set that URL instead"
    return Outcome(
        False,
        f"HTTP {answer.status}" + (f": {reason}" if reason else ""),
        f"http:{answer.status}",
        retryable=True,
    )


def _claim(key: str | None, now: datetime) -> WebhookDelivery | None:
    """Take one due delivery (this key, or the oldest due) for a lease; None if there is none
    free. The attempt is counted here, so a worker that dies mid-post uses one up."""
    while True:
        with transaction.atomic():
            due = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
            )
            if key is not None:
                due = due.filter(key=key)
            delivery = due.order_by("next_attempt_at", "pk").first()
            if delivery is None:
                return None
            if delivery.attempts < MAX_ATTEMPTS:
                delivery.attempts += 1
                delivery.next_attempt_at = now + LEASE
                delivery.save(update_fields=["attempts", "next_attempt_at"])
                return delivery
            # The worker of the last attempt died before recording it.
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
            delivery.save(update_fields=["status", "next_attempt_at"])
            if key is not None:
                return None


def _record(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> None:
    """Write an attempt's outcome, unless another worker took the delivery since (its
    lease ran out)."""
    fields = {"last_code": outcome.code, "last_error": outcome.error}
    if outcome.ok:
        fields |= {
            "status": WebhookDelivery.Status.DELIVERED,
            "delivered_at": now,
            "next_attempt_at": None,
        }
    elif outcome.retryable and delivery.attempts < MAX_ATTEMPTS:
        fields["next_attempt_at"] = now + BACKOFF[delivery.attempts - 1]
    else:
        fields |= {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)


def _attempt(config: CRMConfig, key: str | None) -> WebhookDelivery | None:
    delivery = _claim(key, timezone.now())
    if delivery is None:
        return None
    outcome = post_webhook(config, delivery, timezone.now())
    _record(delivery, outcome, timezone.now())
    if not outcome.ok:
        logger.warning(
            "CRM webhook %s (%s), attempt %d: %s",
            delivery.key,
            delivery.event,
            delivery.attempts,
            outcome.error,
        )
    return delivery


def deliver_webhook(config: CRMConfig, key: str) -> WebhookDelivery | None:
    """Post this delivery if it is due and no other worker holds it; return it as it then
    stands (None: not due, held, or already delivered or failed)."""
    return _attempt(config, key)


def deliver_due_webhooks(config: CRMConfig, budget: float = DUE_RUN_BUDGET_SECONDS) -> dict:
    """Post the due deliveries, oldest first, one at a time, for at most `budget` seconds of
    starting new ones; return how many came to each status."""
    started, counts = timezone.now(), {"delivered": 0, "pending": 0, "failed": 0}
    while (timezone.now() - started).total_seconds() < budget:
        delivery = _attempt(config, None)
        if delivery is None:
            break
        counts[delivery.status] += 1
    return counts

"""Signed webhooks on real PostgreSQL, posted to a local HTTP server that checks each
signature as a receiver would (`verify_signature`)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django_celery_beat.models import PeriodicTask
from freezegun import freeze_time

from saleor_crm_plugin.campaigns import transports
from saleor_crm_plugin.campaigns.signing import verify_signature
from saleor_crm_plugin.campaigns.tasks import deliver_webhook_task, retry_webhooks_task
from saleor_crm_plugin.campaigns.transports import enqueue_webhook
from saleor_crm_plugin.campaigns.webhooks import WebhookDelivery
from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.host import reset_host

pytestmark = pytest.mark.django_db

SECRET = "whsec-0123456789abcdef"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = "segment:dormant:entered:42:2025-03-01"
PAYLOAD = {"customer": "VXNlcjo0Mg==", "segment": "Dormant", "spend": Decimal(12800)}


@pytest.fixture
def webhook_config(settings, http_server):
    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "webhook-url": f"{http_server.url}/hooks/crm",
        "webhook-secret": SECRET,
    }
    reset_host()
    yield parse_config(settings.CRM_CONFIG)
    reset_host()


def _enqueue(config, capture, key=KEY, payload=PAYLOAD, event="segment.entered"):
    """Enqueue in a transaction of the caller's and commit it (the task runs eagerly)."""
    with capture(execute=True), transaction.atomic():
        enqueue_webhook(config, event, payload, key)


def _genuine(request, now: datetime) -> bool:
    return verify_signature(
        SECRET,
        request.headers["X-CRM-Timestamp"],
        request.body,
        request.headers["X-CRM-Signature"],
        now,
    )


def _log():
    return list(
        WebhookDelivery.objects.values_list(
            "key", "status", "attempts", "next_attempt_at", "last_code", "delivered_at"
        )
    )


@freeze_time(T0)
def test_an_event_is_posted_signed_after_the_commit(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    # given / when: queued in the caller's transaction
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_webhook(webhook_config, "segment.entered", PAYLOAD, KEY)
        posted_before_commit = len(http_server.requests)

    # then: nothing left before the commit; then one signed POST
    assert posted_before_commit == 0
    [request] = http_server.requests
    assert (request.method, request.path) == ("POST", "/hooks/crm")
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-CRM-Event"] == "segment.entered"
    assert request.headers["X-CRM-Delivery"] == KEY
    assert request.headers["X-CRM-Timestamp"] == str(int(T0.timestamp()))
    assert _genuine(request, T0)
    assert request.json() == {
        "event": "segment.entered",
        "delivery": KEY,
        "created_at": "2025-03-01T09:00:00Z",
        "data": {"customer": "VXNlcjo0Mg==", "segment": "Dormant", "spend": "12800"},
    }
    assert _log() == [(KEY, "delivered", 1, None, "http:200", T0)]


def test_the_same_key_twice_is_delivered_once(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    # when
    _enqueue(webhook_config, django_capture_on_commit_callbacks)
    _enqueue(webhook_config, django_capture_on_commit_callbacks, payload={"other": "payload"})
    again = deliver_webhook_task.delay(KEY).get()

    # then
    assert len(http_server.requests) == 1
    assert again == {"key": KEY, "attempted": False}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert delivery.payload["segment"] == "Dormant"


def test_a_503_is_retried_after_the_backoff_with_a_fresh_signature(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    # given: the receiver is down for the first attempt
    http_server.answer(503, "Service Unavailable")
    with freeze_time(T0):
        _enqueue(webhook_config, django_capture_on_commit_callbacks)

    # then: logged, due again in a minute
    assert _log() == [(KEY, "pending", 1, T0 + timedelta(minutes=1), "http:503", None)]
    assert WebhookDelivery.objects.get().last_error == "HTTP 503: Service Unavailable"

    # when: the every-minute task runs before and when it is due
    with freeze_time(T0 + timedelta(seconds=59)):
        early = retry_webhooks_task.delay().get()
    later = T0 + timedelta(minutes=1)
    with freeze_time(later):
        due = retry_webhooks_task.delay().get()

    # then
    assert early == {"delivered": 0, "pending": 0, "failed": 0}
    assert due == {"delivered": 1, "pending": 0, "failed": 0}
    first, second = http_server.requests
    assert second.body == first.body
    assert second.headers["X-CRM-Timestamp"] == str(int(later.timestamp()))
    assert _genuine(second, later)
    assert not _genuine(second, T0 - timedelta(minutes=5))  # too old a clock: a replay
    assert _log() == [(KEY, "delivered", 2, None, "http:200", later)]


def test_after_the_last_backoff_the_delivery_fails(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    # given: a receiver that always fails
    for _ in range(7):
        http_server.answer(500, {"error": "boom"})
    with freeze_time(T0):
        _enqueue(webhook_config, django_capture_on_commit_callbacks)

    # when: the retries run when each is due
    now, waits = T0, []
    for _ in range(5):
        delivery = WebhookDelivery.objects.get()
        waits.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
        with freeze_time(now):
            retry_webhooks_task.delay().get()
    with freeze_time(now + timedelta(days=7)):
        after = retry_webhooks_task.delay().get()

    # then: 1 min, 5 min, 30 min, 2 h, 12 h, then failed
    assert waits == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
    ]
    assert len(http_server.requests) == 6
    assert after == {"delivered": 0, "pending": 0, "failed": 0}
    assert _log() == [(KEY, "failed", 6, None, "http:500", None)]
    assert WebhookDelivery.objects.get().last_error == 'HTTP 500: {"error": "boom"}'


def test_a_task_lost_before_the_worker_got_it_is_posted_by_the_retries(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    # given: queued, but the task never ran (the broker was down at the commit)
    with freeze_time(T0):
        with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
            enqueue_webhook(webhook_config, "segment.entered", PAYLOAD, KEY)

    # when
    with freeze_time(T0 + timedelta(minutes=1)):
        retried = retry_webhooks_task.delay().get()

    # then
    assert retried == {"delivered": 1, "pending": 0, "failed": 0}
    assert len(http_server.requests) == 1


def test_a_worker_that_died_mid_post_leaves_it_to_another_after_the_lease(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    # given: a worker took the delivery and died before recording anything
    with freeze_time(T0):
        with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
            enqueue_webhook(webhook_config, "segment.entered", PAYLOAD, KEY)
        transports._claim(KEY, T0)

    # when: the retries run during and after its lease (5 minutes)
    with freeze_time(T0 + timedelta(minutes=4)):
        during = retry_webhooks_task.delay().get()
    with freeze_time(T0 + timedelta(minutes=5)):
        after = retry_webhooks_task.delay().get()

    # then
    assert during == {"delivered": 0, "pending": 0, "failed": 0}
    assert after == {"delivered": 1, "pending": 0, "failed": 0}
    assert len(http_server.requests) == 1
    assert _log() == [(KEY, "delivered", 2, None, "http:200", T0 + timedelta(minutes=5))]


def test_a_redirect_is_not_followed_and_names_the_new_url(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    http_server.answer(308, b"", {"Location": "https://new.example.com/crm"})

    with freeze_time(T0):
        _enqueue(webhook_config, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_code) == ("pending", "http:308")
    assert delivery.last_error == (
        "HTTP 308: redirected to https://new.example.com/crm: set that URL instead"
    )
    assert len(http_server.requests) == 1


def test_without_a_webhook_url_nothing_is_queued(http_server, django_capture_on_commit_callbacks):
    _enqueue(parse_config({}), django_capture_on_commit_callbacks)

    assert not WebhookDelivery.objects.exists()
    assert http_server.requests == []


def test_a_url_removed_since_fails_the_delivery(
    settings, webhook_config, http_server, django_capture_on_commit_callbacks
):
    # given: queued, then the store switched webhooks off
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        enqueue_webhook(webhook_config, "segment.entered", PAYLOAD, KEY)
    settings.CRM_CONFIG = {**settings.CRM_CONFIG, "webhook-url": ""}

    # when
    result = deliver_webhook_task.delay(KEY).get()

    # then
    assert result == {
        "key": KEY,
        "attempted": True,
        "status": "failed",
        "attempts": 1,
        "code": "webhook:off",
    }
    assert http_server.requests == []


def test_a_payload_keeps_unicode_and_decimal_and_dates(
    webhook_config, http_server, django_capture_on_commit_callbacks
):
    payload = {
        "name": "山田花子",
        "points": Decimal("1.50"),
        "on": datetime(2025, 3, 1, tzinfo=UTC),
    }

    _enqueue(webhook_config, django_capture_on_commit_callbacks, payload=payload)

    [request] = http_server.requests
    assert json.loads(request.body)["data"] == {
        "name": "山田花子",
        "on": "2025-03-01T00:00:00Z",
        "points": "1.50",
    }
    assert "山田花子".encode() in request.body


@pytest.mark.parametrize(
    ("event", "key", "message"),
    [
        ("", KEY, "a webhook event name has 1 to 64 characters: ''"),
        ("x" * 65, KEY, "a webhook event name has 1 to 64 characters"),
        ("segment.entered", "", "a webhook key has 1 to 255 characters: ''"),
        ("segment.entered", "k" * 256, "a webhook key has 1 to 255 characters"),
    ],
)
def test_an_event_name_and_key_are_checked_even_without_a_url(webhook_config, event, key, message):
    for config in (webhook_config, parse_config({})):
        with pytest.raises(ValueError, match=message):
            enqueue_webhook(config, event, PAYLOAD, key)

    assert not WebhookDelivery.objects.exists()


def test_the_retries_run_every_minute_from_beat():
    # the migrations registered it
    row = PeriodicTask.objects.get(name="saleor-crm: retry webhooks")

    assert (row.task, row.interval.every, row.interval.period) == (
        "saleor_crm.retry_webhooks",
        1,
        "minutes",
    )
    assert (row.enabled, row.expire_seconds) == (True, 60)

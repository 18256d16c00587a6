"""Celery tasks of campaigns: deciding who enters (hourly), enqueueing the due sends (every
minute, in batches), sending one batch, and posting the webhooks (arguments are strings)."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..task_options import RETRY
from .services import decide, dispatch, send_batch
from .transports import deliver_due_webhooks, deliver_webhook


@shared_task(name="saleor_crm.decide_campaigns", **RETRY)
def decide_campaigns_task(at: str | None = None) -> dict:
    """Enter the customers of every switched-on flow for the store's recent days (hourly,
    through beat; deciding again enters nobody twice)."""
    host = get_host()
    now = datetime.fromisoformat(at) if at else timezone.now()
    with host.database_access():
        return decide(now, host.config(), host)


@shared_task(name="saleor_crm.dispatch_campaigns", **RETRY)
def dispatch_campaigns_task(at: str | None = None) -> int:
    """Enqueue the sends due now, one `send_campaign_batch` task per batch of ids."""
    host = get_host()
    now = datetime.fromisoformat(at) if at else timezone.now()
    with host.database_access():
        return dispatch(
            now,
            host.config(),
            lambda ids: send_campaign_batch_task.delay(list(ids), at),
        )


@shared_task(name="saleor_crm.send_campaign_batch", **RETRY)
def send_campaign_batch_task(ids: list[int], at: str | None = None) -> dict:
    """Send one batch of due sends (each row once: claimed, sent, marked)."""
    host = get_host()
    now = datetime.fromisoformat(at) if at else timezone.now()
    with host.database_access():
        return dict(send_batch(ids, now, host.config(), host))


@shared_task(name="saleor_crm.deliver_webhook", **RETRY)
def deliver_webhook_task(key: str) -> dict:
    """Post one webhook right after it was queued (idempotent: a delivery that is not due,
    is held by another worker, or is done is left alone)."""
    host = get_host()
    with host.database_access():
        delivery = deliver_webhook(host.config(), key)
    if delivery is None:
        return {"key": key, "attempted": False}
    return {
        "key": key,
        "attempted": True,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "code": delivery.last_code,
    }


@shared_task(name="saleor_crm.retry_webhooks", **RETRY)
def retry_webhooks_task() -> dict:
    """Post the webhooks that are due again (beat, every minute): failures after their
    backoff, and any whose first task was lost (a broker that was down) or whose worker died."""
    host = get_host()
    with host.database_access():
        if not host.plugin_active():
            return {"skipped": "the plugin is off"}
        return deliver_due_webhooks(host.config())

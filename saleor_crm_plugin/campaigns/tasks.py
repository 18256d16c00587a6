"""Celery tasks of the campaign channels: posting the webhooks (arguments are strings)."""

from celery import shared_task

from ..host import get_host
from ..task_options import RETRY
from .transports import deliver_due_webhooks, deliver_webhook


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

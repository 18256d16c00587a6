"""Celery tasks of campaigns: deciding who enters (hourly), enqueueing the due sends (every
minute, in batches) and sending one batch."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..task_options import RETRY
from .services import decide, dispatch, send_batch


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

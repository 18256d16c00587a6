"""Celery task of subscriptions: the renewal run and the reminders (hourly from the beat)."""

from celery import shared_task
from django.utils import timezone

from ..analytics.figures import refresh
from ..host import get_host
from ..task_options import RETRY
from .notify import send_reminders
from .renewals import run_renewals
from .services import rules_for


@shared_task(name="saleor_crm.renew_subscriptions", **RETRY)
def renew_subscriptions_task() -> dict:
    """Create the renewal orders that are due (each cycle once, whatever runs at the same time),
    then remind the customers of the coming ones."""
    host = get_host()
    with host.database_access():
        config = host.config()
        now = timezone.now()
        report = run_renewals(host, now, rules_for(config), config.zone)
        reminded = send_reminders(host, now, config)
        refresh("subscriptions", now)
    return {
        "reminded": reminded,
        "claimed": report.claimed,
        "ordered": report.ordered,
        "found": report.found,
        "failed": report.failed,
        "attention": report.attention,
    }

"""Celery tasks of privacy: retention (daily, through beat)."""

from celery import shared_task
from django.utils import timezone

from ..host import get_host
from ..task_options import RETRY
from .retention import erase_old_guests


@shared_task(name="saleor_crm.erase_old_guests", **RETRY)
def erase_old_guests_task() -> dict:
    """Erase the guest profiles with no order for `guest-retention-years` (empty: nothing).
    Running it again erases nothing more."""
    host = get_host()
    with host.database_access():
        years = host.config().guest_retention_years
        erased = erase_old_guests(years, timezone.now())
    return {"years": years, "erased": erased}

"""Celery task of the imports: check or import one uploaded file (an `ImportRun`)."""

from celery import shared_task

from ..host import get_host
from .services import execute_run


@shared_task(name="saleor_crm.run_import")
def run_import_task(run_id: int) -> None:
    """Run a pending import; a run already taken or finished is left alone (idempotent)."""
    host = get_host()
    with host.database_access():
        execute_run(run_id, host)

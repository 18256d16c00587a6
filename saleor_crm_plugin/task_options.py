"""Celery options every task of the plugin shares."""

import functools
import logging

from django.conf import settings
from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)

# Retry only what can clear up by itself (a lost connection, a lock timeout), with backoff.
RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 30,
    "retry_kwargs": {"max_retries": 5},
}

# Profile ids per chunk task of a run over every customer (the RFM recompute, the rank
# reviews), so that every worker takes a part: Django setting CRM_RECOMPUTE_CHUNK_SIZE.
DEFAULT_CHUNK_SIZE = 100_000


def chunk_size() -> int:
    """The profile ids one chunk task covers."""
    return int(getattr(settings, "CRM_RECOMPUTE_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


def _send(task, args) -> None:
    try:
        task.delay(*args)
    except Exception:
        logger.exception("CRM: could not enqueue %s%r", task.name, args)


def enqueue(task, *args) -> None:
    """Send the task once the current transaction commits (at once outside one); never raise:
    a broker that is down is logged, and the work it would have done waits for the next run."""
    transaction.on_commit(functools.partial(_send, task, args))

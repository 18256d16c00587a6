"""Celery options every task of the plugin shares."""

from django.db import OperationalError

# Retry only what can clear up by itself (a lost connection, a lock timeout), with backoff.
RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 30,
    "retry_kwargs": {"max_retries": 5},
}

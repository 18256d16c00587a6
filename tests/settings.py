"""The sandbox settings on PostgreSQL: what CI runs (scripts/test.sh starts the server)."""

import os

from saleor_crm_plugin.sandbox.settings import *  # noqa: F403
from saleor_crm_plugin.sandbox.settings import database_from_url

DATABASES = {
    "default": database_from_url(
        os.environ.get("CRM_TEST_DATABASE_URL", "postgres://crm@127.0.0.1:54329/crm")
    )
}
SECRET_KEY = "tests-secret"
# Tasks run eagerly, except in a worker started by a test, which gets a broker URL.
CELERY_BROKER_URL = os.environ.get("CRM_TEST_CELERY_BROKER_URL", "memory://")
CELERY_TASK_ALWAYS_EAGER = "CRM_TEST_CELERY_BROKER_URL" not in os.environ
CRM_CONFIG = {"store-time-zone": "Asia/Tokyo"}
# Small chunks, so a recompute in the worker test spreads over several chunk tasks.
CRM_RECOMPUTE_CHUNK_SIZE = int(os.environ.get("CRM_TEST_RECOMPUTE_CHUNK_SIZE", "100000"))
# The drain's batches and lease, small in the fault tests (a killed worker's rows come back).
CRM_DRAIN_BATCH_SIZE = int(os.environ.get("CRM_TEST_DRAIN_BATCH_SIZE", "100"))
CRM_DRAIN_LEASE_SECONDS = int(os.environ.get("CRM_TEST_DRAIN_LEASE_SECONDS", "120"))

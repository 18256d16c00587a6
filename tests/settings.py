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
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
CRM_CONFIG = {"store-time-zone": "Asia/Tokyo"}

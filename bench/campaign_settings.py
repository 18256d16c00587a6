"""Django settings of bench/campaign_send.py (the bench process and its Celery workers): the
sandbox's, with Django's SMTP backend pointed at the bench's sink, a send window of the whole
day (the bench runs at any hour), and the claim staleness from the environment.

The SMTP server is Django's EMAIL_* settings (what the plugin uses when the store gives none).
"""

import os

from saleor_crm_plugin.sandbox.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("CRM_BENCH_SMTP_PORT", "54444"))
EMAIL_TIMEOUT = 30
CRM_CONFIG = {"store-time-zone": "Asia/Tokyo", "campaign-send-window": "00:00-24:00"}
if os.environ.get("CRM_CAMPAIGN_STALE_SECONDS"):
    CRM_CAMPAIGN_STALE_SECONDS = int(os.environ["CRM_CAMPAIGN_STALE_SECONDS"])

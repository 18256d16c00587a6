"""Django settings of the sandbox: the plugin without Saleor.

SQLite under `./.saleor-crm/` unless `DATABASE_URL` names another database
(`postgres://user:password@host:port/name` or `sqlite:///path`).
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

DATA_DIR = Path(os.environ.get("SALEOR_CRM_HOME", ".saleor-crm")).resolve()


def database_from_url(url: str) -> dict:
    """Return a Django DATABASES entry for a `postgres://` or `sqlite:///` URL."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "127.0.0.1",
            "PORT": str(parsed.port or 5432),
        }
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parsed.path) or ":memory:"}
    raise ValueError(f"DATABASE_URL: '{parsed.scheme}' is not postgres:// or sqlite:///")


def _default_database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        return database_from_url(url)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "sandbox.sqlite3"),
        # Write-ahead log: the demo's server reads while a command writes, and a commit costs
        # no sync of the whole file (NORMAL: a power cut may lose the last commits, never
        # corrupt; every write of ours can be repeated).
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
        },
    }


SECRET_KEY = os.environ.get("SECRET_KEY", "saleor-crm-sandbox-not-a-secret")
DEBUG = os.environ.get("DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django_celery_beat", "saleor_crm_plugin", "saleor_crm_plugin.sandbox"]
DATABASES = {"default": _default_database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "saleor_crm_plugin.sandbox.urls"
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
# Our email templates (saleor_crm/email/*.txt) come from the app folder, as inside Saleor.
STATIC_URL = "/static/"  # (no static files; Django's live test server wants the setting)
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
# The demo's emails land as files in .saleor-crm/mail/ (Saleor uses its EMAIL_URL).
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("CRM_EMAIL_DIR", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = "shop@example.com"

CRM_HOST = "saleor_crm_plugin.host.sandbox.SandboxHost"
CRM_CONFIG = {"store-time-zone": os.environ.get("CRM_STORE_TIME_ZONE", "Asia/Tokyo")}

# Without a broker the sandbox runs tasks in-process; with one, a real worker takes them.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_TASK_ALWAYS_EAGER = "CELERY_BROKER_URL" not in os.environ
CELERY_TASK_EAGER_PROPAGATES = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    # As in Saleor's settings: graphql-core logs every error a resolver raises, a refused
    # permission too; our GraphQL view logs the unexpected ones with their traceback.
    "loggers": {
        "graphql.execution.utils": {"propagate": False, "handlers": ["null"]},
        "graphql.execution.executor": {"propagate": False, "handlers": ["null"]},
    },
}

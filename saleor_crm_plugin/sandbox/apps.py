from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The embedded default store: the host's side of the sandbox (never installed in Saleor)."""

    name = "saleor_crm_plugin.sandbox"
    label = "saleor_crm_sandbox"
    verbose_name = "CRM sandbox store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The sandbox's Celery app becomes the current app, so `.delay()` uses its settings.
        from . import celery  # noqa: F401

"""CRMPlugin: Saleor's door to the CRM. Hooks only record what changed; they never raise.

Saleor calls these hooks in the shopper's request. Each writes one row to our outbox on the
request's own database connection (no broker, no network) and returns; the drain task on beat
does the work (`intake/`). An exception here would fail a request whose order is already saved
and paid, and skip later hooks and the confirmation email, so every hook is wrapped: it logs
and returns `previous_value`, and the catch-up sweep records the change later.
"""

import functools
import logging

from django.core.exceptions import ValidationError
from django.http import HttpResponseNotFound
from django.utils import timezone
from saleor.core.db.connection import allow_writer
from saleor.plugins.base_plugin import BasePlugin, ConfigurationTypeField

from . import conf
from .conf import ConfigError, parse_config
from .host.saleor import PLUGIN_ID
from .intake.models import PendingChange
from .intake.outbox import record_changes
from .task_options import enqueue

logger = logging.getLogger(__name__)


def _never_raises(hook):
    """Run a hook body; on any error log it and hand Saleor back `previous_value`."""

    @functools.wraps(hook)
    def wrapper(self, *args, **kwargs):
        previous_value = kwargs.get("previous_value", args[-1] if args else None)
        try:
            if self.active and self.crm_config is not None and self.crm_config.ingestion_enabled:
                hook(self, *args, **kwargs)
        except Exception:
            logger.exception(
                "CRM: the %s hook failed; the catch-up sweep will record the change",
                hook.__name__,
            )
        return previous_value

    return wrapper


class CRMPlugin(BasePlugin):
    PLUGIN_ID = PLUGIN_ID
    PLUGIN_NAME = "CRM"
    PLUGIN_DESCRIPTION = (
        "Customer profiles for every customer and guest: first and last order, order count, "
        "spend per currency, kept current from order and customer events."
    )
    CONFIGURATION_PER_CHANNEL = False
    DEFAULT_ACTIVE = False
    DEFAULT_CONFIGURATION = [{"name": name, "value": conf.DEFAULTS[name]} for name in conf.FIELDS]
    # SECRET: Saleor's API shows only the last 4 characters (`hide_private_configuration_fields`)
    # while the stored configuration keeps the real value. That function masks the
    # `configuration` of the request's plugin instances in place, so the real values are read
    # in `__init__` (`crm_config`) and by `Host.config()` (from the database), never from
    # `self.configuration` later in a request.
    CONFIG_STRUCTURE = {
        name: {
            "type": {
                "boolean": ConfigurationTypeField.BOOLEAN,
                "multiline": ConfigurationTypeField.MULTILINE,
                "secret": ConfigurationTypeField.SECRET,
            }.get(kind, ConfigurationTypeField.STRING),
            "label": label,
            "help_text": help_text,
        }
        for name, (label, help_text, kind) in conf.FIELDS.items()
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            self.crm_config = parse_config(self.configuration)
        except ConfigError:
            logger.exception("CRM: the saved configuration is invalid; events are not recorded")
            self.crm_config = None

    @classmethod
    def validate_plugin_configuration(cls, plugin_configuration, **kwargs):
        try:
            parse_config(plugin_configuration.configuration)
        except ConfigError as error:
            # Dashboard shows only the bare message in a pop-up: it names the field.
            raise ValidationError({error.field: ValidationError(str(error), code="invalid")})

    @classmethod
    def pre_save_plugin_configuration(cls, plugin_configuration):
        """Re-time the intake's periodic tasks to the settings being saved; on activation,
        score everyone once (so segments show now, not after the hourly recompute)."""
        from .intake.schedule import register_periodic_tasks
        from .tasks import recompute_rfm_task

        config = parse_config(plugin_configuration.configuration)
        register_periodic_tasks(config)
        was_active = (
            type(plugin_configuration)
            .objects.filter(pk=plugin_configuration.pk)
            .values_list("active", flat=True)
            .first()
        )
        if plugin_configuration.active and not was_active:
            enqueue(recompute_rfm_task)

    # --- orders and customers: one outbox row each, on the request's own connection -------

    def _changed(self, kind, ids, noticed_at=None):
        with allow_writer():
            record_changes(kind, ids, noticed_at)

    @_never_raises
    def order_created(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_confirmed(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_paid(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_fully_paid(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_updated(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_cancelled(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_expired(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_refunded(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_fully_refunded(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_fulfilled(self, order, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk])

    @_never_raises
    def order_bulk_created(self, orders, previous_value, **kwargs):
        self._changed(PendingChange.ORDER, [order.pk for order in orders])

    @_never_raises
    def customer_created(self, customer, previous_value, **kwargs):
        self._changed(PendingChange.CUSTOMER, [customer.pk])

    @_never_raises
    def customer_updated(self, customer, previous_value, **kwargs):
        self._changed(PendingChange.CUSTOMER, [customer.pk])

    @_never_raises
    def account_confirmed(self, user, previous_value, **kwargs):
        # Confirming the email is what lets the account adopt its guest history.
        self._changed(PendingChange.CUSTOMER, [user.pk])

    @_never_raises
    def customer_deleted(self, customer, previous_value, **kwargs):
        self._changed(PendingChange.CUSTOMER_DELETED, [customer.pk], timezone.now())

    @_never_raises
    def account_deleted(self, user, previous_value, **kwargs):
        self._changed(PendingChange.CUSTOMER_DELETED, [user.pk], timezone.now())

    # --- HTTP -----------------------------------------------------------------------------

    def webhook(self, request, path, previous_value):
        """Serve `/plugins/global/saleor.crm/<path>`: `graphql/` is our GraphQL API."""
        if not self.active:
            return previous_value
        route = path.strip("/")
        if route == "graphql":
            from .graphql.view import graphql_view

            return graphql_view(request)
        if route == "dashboard" or route.startswith("dashboard/"):
            from .dashboard.views import dashboard_view

            return dashboard_view(request, route.removeprefix("dashboard"))
        if route == "export/customers.csv":
            from .graphql.export_view import export_customers_view

            return export_customers_view(request)
        if route == "export/analytics.csv":
            from .graphql.export_view import export_analytics_view

            return export_analytics_view(request)
        if route.startswith("campaigns/unsubscribe/"):
            from .campaigns.views import unsubscribe_view

            return unsubscribe_view(request, route.removeprefix("campaigns/unsubscribe/"))
        if route in ("export/customer-data.json", "export/customer-data.csv"):
            from .graphql.export_view import export_customer_data_view

            return export_customer_data_view(request, route.rsplit(".", 1)[1])
        if route == "export/picking.csv":
            from .graphql.export_view import export_picking_view

            return export_picking_view(request)
        return HttpResponseNotFound(f"The CRM plugin has no page at '{path}'.")

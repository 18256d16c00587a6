"""Fixtures for the tests that run inside a real Saleor 3.23 (see README, "Against Saleor")."""

import pytest

try:
    import django.test
    from django.conf import settings as django_settings
    from saleor.tests.utils import prepare_test_db_connections
except ImportError:  # no Saleor: every module here skips itself with the reason
    prepare_test_db_connections = None

if prepare_test_db_connections is not None:
    # Saleor's own fixture modules, as its root conftest lists them. Allowed here because this
    # directory is passed to pytest directly (scripts/test-saleor.sh): its conftest is initial.
    pytest_plugins = [
        "saleor.tests.fixtures",
        "saleor.app.tests.fixtures",
        "saleor.plugins.tests.fixtures",
        "saleor.graphql.tests.fixtures",
        "saleor.webhook.tests.fixtures",
        "saleor.tax.tests.fixtures",
        "saleor.channel.tests.fixtures",
        "saleor.page.tests.fixtures",
        "saleor.menu.tests.fixtures",
        "saleor.warehouse.tests.fixtures",
        "saleor.thumbnail.tests.fixtures",
        "saleor.order.tests.fixtures",
        "saleor.product.tests.fixtures",
        "saleor.site.tests.fixtures",
        "saleor.shipping.tests.fixtures",
        "saleor.permission.tests.fixtures",
        "saleor.giftcard.tests.fixtures",
        "saleor.discount.tests.fixtures",
        "saleor.checkout.tests.fixtures",
        "saleor.attribute.tests.fixtures",
        "saleor.account.tests.fixtures",
        "saleor.graphql.account.tests.fixtures",
        "saleor.payment.tests.fixtures",
        "saleor.webhook.tests.circuit_breaker.fixtures",
    ]
    # As Saleor's own conftest does: tests use the default and the replica connection.
    databases = {
        django_settings.DATABASE_CONNECTION_DEFAULT_NAME,
        django_settings.DATABASE_CONNECTION_REPLICA_NAME,
    }
    django.test.TransactionTestCase.databases = databases
    django.test.TestCase.databases = databases
    prepare_test_db_connections()


@pytest.fixture(scope="session", autouse=True)
def periodic_tasks_made_again(django_db_setup, django_db_blocker):
    """After the session, make the periodic tasks the migrations made again: a test on committed
    data empties the (reused) test database when it ends."""
    yield
    from saleor_crm_plugin.conf import parse_config
    from saleor_crm_plugin.intake.schedule import register_periodic_tasks

    with django_db_blocker.unblock():
        register_periodic_tasks(parse_config(None))


@pytest.fixture
def crm_plugin(settings):
    """Install and activate the CRM plugin in Saleor's plugin manager."""
    from saleor.plugins.manager import get_plugins_manager

    settings.PLUGINS = ["saleor_crm_plugin.plugin.CRMPlugin"]
    manager = get_plugins_manager(allow_replica=False)
    manager.save_plugin_configuration(
        "saleor.crm",
        None,
        {
            "active": True,
            "configuration": [
                {"name": "store-time-zone", "value": "Asia/Tokyo"},
                {"name": "ingestion-enabled", "value": True},
            ],
        },
    )
    return get_plugins_manager(allow_replica=False)


@pytest.fixture
def recorded(django_capture_on_commit_callbacks):
    """A block whose hooks' changes are recorded when it ends: its on-commit callbacks run,
    then the drain (what beat starts every few seconds in a store)."""
    from contextlib import contextmanager

    @contextmanager
    def record():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        from saleor_crm_plugin.tasks import drain_changes_task

        drain_changes_task.apply().get()

    return record

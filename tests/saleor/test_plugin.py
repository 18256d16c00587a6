"""The plugin inside a real Saleor 3.23: discovery, hooks, the Saleor adapter and GraphQL."""

import json
from decimal import Decimal
from io import StringIO

import graphene
import pytest

pytest.importorskip("saleor", reason="needs a real Saleor 3.23 importable as `saleor`")

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from saleor.core.jwt import create_access_token
from saleor.order import OrderStatus
from saleor.payment import TransactionKind

from saleor_crm_plugin.customers.models import (
    BackfillCheckpoint,
    CustomerProfile,
    OrderLineRecord,
    OrderRecord,
)
from saleor_crm_plugin.host.saleor import SaleorHost

pytestmark = [pytest.mark.saleor, pytest.mark.django_db]

GRAPHQL_URL = "/plugins/global/saleor.crm/graphql/"


def test_entry_point_adds_the_app_and_the_plugin(settings):
    # then: Saleor's settings read the `saleor.plugins` entry point
    from saleor import settings as saleor_settings

    assert "saleor_crm_plugin" in settings.INSTALLED_APPS
    assert "saleor_crm_plugin.plugin.CRMPlugin" in saleor_settings.EXTERNAL_PLUGINS


def test_every_periodic_task_is_a_row_saleors_beat_scheduler_reads():
    """Saleor's beat (saleor.schedulers.schedulers.DatabaseScheduler) reads CustomPeriodicTask
    rows only; its schedulers.0001 empties the table, and ours are registered after it."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from saleor.schedulers.models import CustomPeriodicTask
    from saleor.schedulers.schedulers import DatabaseScheduler

    plan = MigrationLoader(connection).graph.forwards_plan(
        ("saleor_crm", "0029_periodic_tasks_saleor_reads")
    )
    assert ("schedulers", "0001_initial") in plan
    ours = CustomPeriodicTask.objects.filter(name__startswith="saleor-crm:")
    assert set(ours.values_list("task", flat=True)) == {
        "saleor_crm.recompute_rfm",
        "saleor_crm.evaluate_segments",
        "saleor_crm.expire_points",
        "saleor_crm.review_ranks",
        "saleor_crm.renew_subscriptions",
        "saleor_crm.drain_changes",
        "saleor_crm.refit_predictions",
        "saleor_crm.compute_baskets",
        "saleor_crm.compute_reports",
        "saleor_crm.erase_old_guests",
        "saleor_crm.find_duplicates",
        "saleor_crm.compute_free_points_months",
        "saleor_crm.sweep_changes",
        "saleor_crm.retry_webhooks",
        "saleor_crm.decide_campaigns",
        "saleor_crm.dispatch_campaigns",
    }
    assert DatabaseScheduler.Model is CustomPeriodicTask
    drain = ours.get(task="saleor_crm.drain_changes")
    assert (drain.interval.every, drain.interval.period, drain.expire_seconds) == (3, "seconds", 3)


def test_a_plain_row_of_an_earlier_version_becomes_one_saleors_scheduler_reads():
    # given: what 0026 wrote, re-timed and disabled by staff
    from django_celery_beat.models import IntervalSchedule, PeriodicTask
    from saleor.schedulers.models import CustomPeriodicTask

    from saleor_crm_plugin.conf import parse_config
    from saleor_crm_plugin.intake.schedule import register_periodic_tasks

    name = "saleor-crm: expire points"
    CustomPeriodicTask.objects.filter(name=name).delete()
    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.create(
        name=name, task="saleor_crm.expire_points", interval=every_day, enabled=False
    )

    # when
    changed = register_periodic_tasks(parse_config(None))
    again = register_periodic_tasks(parse_config(None))

    # then
    row = CustomPeriodicTask.objects.get(name=name)
    assert (changed, again) == (1, 0)
    assert (row.interval_id, row.enabled) == (every_day.pk, False)
    assert PeriodicTask.objects.filter(name=name).count() == 1


def test_saving_the_settings_retimes_the_drain_and_activation_scores_everyone(
    settings, django_capture_on_commit_callbacks, monkeypatch
):
    # given
    from saleor.plugins.manager import get_plugins_manager
    from saleor.schedulers.models import CustomPeriodicTask

    from saleor_crm_plugin import tasks

    started = []
    monkeypatch.setattr(tasks.recompute_rfm_task, "delay", lambda: started.append(1))
    settings.PLUGINS = ["saleor_crm_plugin.plugin.CRMPlugin"]
    manager = get_plugins_manager(allow_replica=False)

    # when: activated with a drain every 10 seconds, then saved again
    with django_capture_on_commit_callbacks(execute=True):
        manager.save_plugin_configuration(
            "saleor.crm",
            None,
            {"active": True, "configuration": [{"name": "event-drain-seconds", "value": "10"}]},
        )
    with django_capture_on_commit_callbacks(execute=True):
        get_plugins_manager(allow_replica=False).save_plugin_configuration(
            "saleor.crm",
            None,
            {"active": True, "configuration": [{"name": "catch-up-sweep-minutes", "value": "5"}]},
        )

    # then: one first scoring (on activation only), the tasks re-timed for beat
    assert started == [1]
    drain = CustomPeriodicTask.objects.get(task="saleor_crm.drain_changes")
    sweep = CustomPeriodicTask.objects.get(task="saleor_crm.sweep_changes")
    assert (drain.interval.every, drain.interval.period) == (10, "seconds")
    assert (sweep.interval.every, sweep.interval.period) == (5, "minutes")


def test_manager_loads_the_plugin_globally(crm_plugin):
    # when
    plugin = crm_plugin.get_plugin("saleor.crm")

    # then
    assert plugin is not None
    assert plugin.active is True
    assert plugin.crm_config.store_time_zone == "Asia/Tokyo"
    assert plugin.CONFIGURATION_PER_CHANNEL is False


def test_order_created_records_the_order(crm_plugin, order_with_lines, recorded):
    # given
    order = order_with_lines

    # when
    with recorded():
        crm_plugin.order_created(order)

    # then
    record = OrderRecord.objects.get(order_id=str(order.pk))
    assert record.number == str(order.number)
    assert record.currency == order.currency
    assert record.total_gross_amount == order.total_gross_amount
    assert record.user_id == str(order.user_id)
    assert OrderLineRecord.objects.filter(order=record).count() == order.lines.count()
    profile = CustomerProfile.objects.get(user_id=str(order.user_id))
    assert profile.order_count == 1


def test_cancelled_order_stops_counting(crm_plugin, order_with_lines, recorded):
    # given
    order = order_with_lines
    with recorded():
        crm_plugin.order_created(order)

    # when
    order.status = OrderStatus.CANCELED
    order.save(update_fields=["status", "updated_at"])
    with recorded():
        crm_plugin.order_cancelled(order)

    # then
    record = OrderRecord.objects.get(order_id=str(order.pk))
    assert record.status == "canceled"
    assert record.counts is False
    assert CustomerProfile.objects.get(user_id=str(order.user_id)).order_count == 0


def test_refund_through_a_payment_reduces_spend(
    crm_plugin, order_with_lines, payment_dummy, recorded
):
    # given: the order was recorded, then refunded without the order row itself changing
    order = order_with_lines
    payment_dummy.order = order
    payment_dummy.save()
    with recorded():
        crm_plugin.order_created(order)
    payment_dummy.transactions.create(
        amount=Decimal(5),
        currency=order.currency,
        kind=TransactionKind.REFUND,
        gateway_response={},
        is_success=True,
    )

    # when
    with recorded():
        crm_plugin.order_refunded(order)

    # then
    record = OrderRecord.objects.get(order_id=str(order.pk))
    assert record.refunded_amount == Decimal(5)
    assert record.net_spend_amount == order.total_gross_amount - Decimal(5)


def test_refund_through_a_transaction_is_read(order_with_lines, transaction_item_generator):
    # given
    order = order_with_lines
    transaction_item_generator(
        order_id=order.pk,
        charged_value=Decimal(10),
        refunded_value=Decimal(3),
        currency=order.currency,
    )

    # when
    host = SaleorHost()
    with host.database_access():
        snapshot = host.order_snapshots([str(order.pk)])[str(order.pk)]

    # then
    assert snapshot.refunded_amount == Decimal(3)


def test_orders_are_read_with_their_lines_in_a_fixed_number_of_queries(
    order_list, order_with_lines
):
    # given
    host = SaleorHost()
    ids = [str(order.pk) for order in [*order_list, order_with_lines]]

    # when
    with host.database_access():
        with CaptureQueriesContext(connection) as one:
            host.order_snapshots(ids[-1:])
        with CaptureQueriesContext(connection) as all_of_them:
            snapshots = host.order_snapshots(ids)

    # then
    assert len(all_of_them.captured_queries) == len(one.captured_queries)
    assert sorted(snapshots) == sorted(ids)
    order = order_with_lines
    snapshot = snapshots[str(order.pk)]
    assert snapshot.number == str(order.number)
    assert snapshot.channel == order.channel.slug
    assert snapshot.email == order.user_email
    assert snapshot.total_gross == order.total_gross_amount
    lines = list(order.lines.all())
    assert [line.line_id for line in snapshot.lines] == [str(line.pk) for line in lines]
    assert [line.quantity for line in snapshot.lines] == [line.quantity for line in lines]
    assert [line.product_id for line in snapshot.lines] == [
        graphene.Node.to_global_id("Product", line.variant.product_id) for line in lines
    ]
    assert [line.category_id for line in snapshot.lines] == [
        graphene.Node.to_global_id("Category", line.variant.product.category_id) for line in lines
    ]


def test_the_hooks_of_a_paid_checkout_write_one_outbox_row_and_reach_no_broker(
    crm_plugin, order_with_lines, monkeypatch, recorded
):
    # given: the broker is down (any publish raises)
    from celery.app.task import Task

    from saleor_crm_plugin.intake.models import PendingChange

    def broken(*args, **kwargs):
        raise RuntimeError("broker down")

    monkeypatch.setattr(Task, "apply_async", broken)
    order = order_with_lines

    # when: the hooks a paid checkout fires, in the shopper's request
    for hook in ("order_created", "order_paid", "order_fully_paid", "order_updated"):
        assert getattr(crm_plugin, hook)(order) is None
    crm_plugin.order_confirmed(order)

    # then: one row waits for the drain; nothing was recorded in the request
    rows = list(PendingChange.objects.values_list("kind", "object_id", "version"))
    assert rows == [("order", str(order.pk), 0)]
    assert not OrderRecord.objects.exists()
    monkeypatch.undo()
    with recorded():
        pass
    assert OrderRecord.objects.get().order_id == str(order.pk)
    assert not PendingChange.objects.exists()


def test_while_the_plugin_is_off_the_drain_and_the_sweep_wait(settings, order_with_lines):
    # given: a change waits; the plugin is switched off in Dashboard
    from saleor.plugins.manager import get_plugins_manager

    from saleor_crm_plugin.intake.models import PendingChange
    from saleor_crm_plugin.intake.outbox import record_changes
    from saleor_crm_plugin.tasks import drain_changes_task, sweep_changes_task

    settings.PLUGINS = ["saleor_crm_plugin.plugin.CRMPlugin"]
    get_plugins_manager(allow_replica=False).save_plugin_configuration(
        "saleor.crm", None, {"active": False}
    )
    record_changes(PendingChange.ORDER, [order_with_lines.pk])

    # when
    drained = drain_changes_task.apply().get()
    swept = sweep_changes_task.apply().get()

    # then
    assert drained == swept == {"skipped": "the plugin is off, or recording is"}
    assert PendingChange.objects.count() == 1
    assert not OrderRecord.objects.exists()


def test_the_sweep_records_an_order_whose_hook_never_ran(crm_plugin, order_with_lines):
    # given: an order Saleor saved with no hook reported to the CRM
    from django.utils import timezone

    from saleor_crm_plugin.tasks import drain_changes_task, sweep_changes_task

    order_with_lines.save(update_fields=["updated_at"])

    # when
    swept = sweep_changes_task.apply().get()
    drain_changes_task.apply().get()

    # then
    assert swept["orders_queued"] == 1
    assert swept["since"] < timezone.now().isoformat()
    assert OrderRecord.objects.filter(order_id=str(order_with_lines.pk)).exists()


def test_a_staff_account_updated_in_dashboard_is_not_recorded_as_a_customer(
    crm_plugin, staff_user, recorded
):
    # when: Dashboard writes a staff user's metadata, and Saleor calls customer_updated
    with recorded():
        crm_plugin.customer_updated(staff_user)

    # then
    assert not CustomerProfile.objects.filter(user_id=str(staff_user.pk)).exists()


def test_customer_deleted_removes_personal_data(
    crm_plugin, customer_user, order_with_lines, recorded
):
    # given
    with recorded():
        crm_plugin.order_created(order_with_lines)
        crm_plugin.customer_updated(customer_user)
    assert CustomerProfile.objects.get(user_id=str(customer_user.pk)).email_digest

    # when
    with recorded():
        crm_plugin.customer_deleted(customer_user)

    # then
    profile = CustomerProfile.objects.get(user_id=str(customer_user.pk))
    assert profile.email_digest is None
    assert profile.anonymized_at is not None
    assert profile.order_count == 1


def test_backfill_loads_existing_orders_once(crm_plugin, order_list):
    # when
    first, second = StringIO(), StringIO()
    call_command("crm_backfill", stdout=first, stderr=StringIO())
    call_command("crm_backfill", stdout=second, stderr=StringIO())

    # then
    assert OrderRecord.objects.count() == len(order_list)
    assert f"{len(order_list)} orders ({len(order_list)} new" in first.getvalue()
    assert (
        f"{len(order_list)} orders (0 new, 0 updated, {len(order_list)} unchanged)"
        in second.getvalue()
    )


# Committed: the worker processes read what the command wrote (the database is emptied after;
# `conftest.periodic_tasks_made_again` makes the migrations' rows again for the next run).
@pytest.mark.django_db(transaction=True)
def test_backfill_in_two_processes_loads_every_order_once(crm_plugin, order_list):
    # when
    out = StringIO()
    call_command(
        "crm_backfill", "--workers", "2", "--batch-size", "1", stdout=out, stderr=StringIO()
    )

    # then
    ids = sorted(str(order.pk) for order in order_list)
    assert sorted(OrderRecord.objects.values_list("order_id", flat=True)) == ids
    assert f"{len(ids)} orders ({len(ids)} new, 0 updated, 0 unchanged)" in out.getvalue()
    parts = BackfillCheckpoint.objects.filter(name__startswith="orders.")
    assert parts.count() == 2
    assert all(part.finished_at is not None for part in parts)


def test_invalid_time_zone_is_refused_with_the_field_name(crm_plugin):
    # when
    with pytest.raises(ValidationError) as error:
        crm_plugin.save_plugin_configuration(
            "saleor.crm",
            None,
            {"configuration": [{"name": "store-time-zone", "value": "Tokyo"}]},
        )

    # then
    assert "store-time-zone: 'Tokyo' is not an IANA time zone" in str(error.value)


def _post(client, query, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = client.post(
        GRAPHQL_URL, data=json.dumps({"query": query}), content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    return response.json()


CUSTOMERS = "{ crmCustomers(first: 5) { totalCount edges { node { email orderCount } } } }"


def test_staff_with_manage_users_lists_customers(
    crm_plugin,
    client,
    staff_user,
    permission_manage_users,
    order_with_lines,
    recorded,
):
    # given
    staff_user.user_permissions.add(permission_manage_users)
    with recorded():
        crm_plugin.order_created(order_with_lines)

    # when
    response = _post(client, CUSTOMERS, create_access_token(staff_user))

    # then
    assert "errors" not in response
    assert response["data"]["crmCustomers"]["totalCount"] == 1
    assert response["data"]["crmCustomers"]["edges"][0]["node"] == {
        "email": order_with_lines.user.email,
        "orderCount": 1,
    }


def test_staff_without_permission_and_anonymous_are_refused(crm_plugin, client, staff_user):
    # when
    as_staff = _post(client, CUSTOMERS, create_access_token(staff_user))
    anonymous = _post(client, CUSTOMERS)

    # then
    for response in (as_staff, anonymous):
        assert response["data"]["crmCustomers"] is None
        assert response["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_customer_reads_own_profile(crm_plugin, client, order_with_lines, recorded):
    # given
    with recorded():
        crm_plugin.order_created(order_with_lines)

    # when
    response = _post(
        client, "{ me { crmProfile { orderCount } } }", create_access_token(order_with_lines.user)
    )

    # then
    assert response == {"data": {"me": {"crmProfile": {"orderCount": 1}}}}


def test_inactive_plugin_serves_nothing(settings, client):
    # given
    settings.PLUGINS = ["saleor_crm_plugin.plugin.CRMPlugin"]

    # when
    response = client.post(GRAPHQL_URL, data="{}", content_type="application/json")

    # then
    assert response.status_code == 404


def test_private_metadata_is_merged_without_touching_the_user(customer_user):
    # given
    customer_user.store_value_in_private_metadata({"staff.note": "vip"})
    customer_user.save(update_fields=["private_metadata"])
    before = dict(customer_user.private_metadata)
    updated_at = customer_user.updated_at
    host = SaleorHost()

    # when
    with host.database_access():
        first = host.write_private_metadata({str(customer_user.pk): {"crm.order_count": "3"}})
        again = host.write_private_metadata({str(customer_user.pk): {"crm.order_count": "3"}})

    # then
    customer_user.refresh_from_db()
    assert (first, again) == (1, 0)
    assert customer_user.private_metadata == {**before, "crm.order_count": "3"}
    assert customer_user.private_metadata["staff.note"] == "vip"
    assert customer_user.updated_at == updated_at


def test_order_event_writes_the_customer_summary(crm_plugin, order_with_lines, recorded):
    # when
    with recorded():
        crm_plugin.order_created(order_with_lines)

    # then
    user = order_with_lines.user
    user.refresh_from_db()
    total = f"{order_with_lines.currency} {order_with_lines.total_gross_amount.quantize(Decimal('0.01'))}"
    assert user.get_value_from_private_metadata("crm.order_count") == "1"
    assert user.get_value_from_private_metadata("crm.total_spent") == total


def test_bulk_created_orders_are_recorded(crm_plugin, order_list, recorded):
    # given: Saleor's fixture orders have no currency; the adapter falls back to the channel's
    orders = list(order_list)

    # when
    with recorded():
        crm_plugin.order_bulk_created(orders)

    # then
    assert sorted(OrderRecord.objects.values_list("order_id", flat=True)) == sorted(
        str(order.pk) for order in orders
    )
    assert set(OrderRecord.objects.values_list("currency", flat=True)) == {"USD"}


def test_registration_adopts_the_guest_profile(
    crm_plugin, order_with_lines, customer_user, recorded
):
    # given: a guest order placed with the email the customer registers with
    order = order_with_lines
    order.user = None
    order.user_email = customer_user.email.upper()
    order.save(update_fields=["user", "user_email", "updated_at"])
    with recorded():
        crm_plugin.order_created(order)
    guest = CustomerProfile.objects.get()
    assert guest.user_id is None

    # when
    with recorded():
        crm_plugin.customer_created(customer_user)

    # then
    profile = CustomerProfile.objects.get()
    assert profile.pk == guest.pk
    assert profile.user_id == str(customer_user.pk)
    assert profile.order_count == 1


def test_self_deleted_account_is_anonymized(crm_plugin, order_with_lines, recorded):
    # given
    user = order_with_lines.user
    with recorded():
        crm_plugin.order_created(order_with_lines)

    # when: Saleor calls account_deleted after the row is gone
    user_id = user.pk
    user.delete()
    user.pk = user_id
    with recorded():
        crm_plugin.account_deleted(user)

    # then
    profile = CustomerProfile.objects.get(user_id=str(user_id))
    assert profile.anonymized_at is not None
    assert profile.email_digest is None
    assert profile.order_count == 1


def test_disabled_ingestion_records_nothing(settings, order_with_lines, recorded):
    # given
    from saleor.plugins.manager import get_plugins_manager

    settings.PLUGINS = ["saleor_crm_plugin.plugin.CRMPlugin"]
    manager = get_plugins_manager(allow_replica=False)
    manager.save_plugin_configuration(
        "saleor.crm",
        None,
        {"active": True, "configuration": [{"name": "ingestion-enabled", "value": False}]},
    )
    manager = get_plugins_manager(allow_replica=False)

    # when
    with recorded():
        manager.order_created(order_with_lines)

    # then
    assert not OrderRecord.objects.exists()


def test_staff_exports_a_segment_as_csv(
    crm_plugin,
    client,
    staff_user,
    permission_manage_users,
    order_with_lines,
    recorded,
):
    # given
    staff_user.user_permissions.add(permission_manage_users)
    with recorded():
        crm_plugin.order_created(order_with_lines)

    # when
    response = client.post(
        "/plugins/global/saleor.crm/export/customers.csv",
        data=json.dumps({"segment": "First-time buyers"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {create_access_token(staff_user)}",
    )

    # then
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("profile_id,user_id,email,guest,name,country,country_area,city")
    assert len(lines) == 2
    assert order_with_lines.user.email in lines[1]


def test_staff_searches_customers_by_name_and_email(
    crm_plugin,
    client,
    staff_user,
    permission_manage_users,
    order_with_lines,
    recorded,
):
    # given
    staff_user.user_permissions.add(permission_manage_users)
    with recorded():
        crm_plugin.order_created(order_with_lines)
    user = order_with_lines.user
    query = "query($s: String) { crmCustomers(first: 5, filter: {search: $s}) { totalCount } }"
    token = create_access_token(staff_user)

    # when
    def count(text):
        response = client.post(
            GRAPHQL_URL,
            data=json.dumps({"query": query, "variables": {"s": text}}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        return response.json()["data"]["crmCustomers"]["totalCount"]

    # then
    assert count(user.email.split("@")[0].upper()) == 1
    assert count(user.last_name[:4]) == 1
    assert count("no-such-customer") == 0


def test_rules_and_list_columns_read_what_saleor_keeps(
    crm_plugin,
    client,
    staff_user,
    permission_manage_users,
    order_with_lines,
    recorded,
):
    # given: the customer's address is Saleor's fixture address (Wrocław, PL)
    staff_user.user_permissions.add(permission_manage_users)
    user = order_with_lines.user
    user.store_value_in_metadata({"marketing_consent": "yes", "gender": "female"})
    user.store_value_in_private_metadata({"birth_date": "1990-05-01"})
    user.save(update_fields=["metadata", "private_metadata"])
    with recorded():
        crm_plugin.order_created(order_with_lines)
    first_line = order_with_lines.lines.first()
    product = first_line.variant.product
    product_id = graphene.Node.to_global_id("Product", product.pk)
    category_id = graphene.Node.to_global_id("Category", product.category_id)
    query = """query($f: CRMCustomerFilterInput) {
      crmCustomers(first: 5, filter: $f, sortBy: {field: CITY, direction: ASC}) {
        totalCount edges { node { email name country city age gender } } } }"""
    token = create_access_token(staff_user)

    def select(rule):
        response = client.post(
            GRAPHQL_URL,
            data=json.dumps({"query": query, "variables": {"f": {"rule": rule}}}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        return response.json()

    # when
    matching = select(
        {
            "all": [
                {"field": "country", "op": "in", "value": ["PL"]},
                {"field": "city", "op": "in", "value": ["Wrocław"]},
                {"field": "marketing_consent", "op": "eq", "value": True},
                {"field": "account", "op": "eq", "value": "active"},
                {"field": "bought_product", "op": "eq", "value": product_id},
                {"field": "bought_category", "op": "eq", "value": category_id},
            ]
        }
    )
    elsewhere = select({"field": "country_area", "op": "in", "value": ["東京都"]})

    # then
    assert "errors" not in matching, matching
    (edge,) = matching["data"]["crmCustomers"]["edges"]
    assert edge["node"]["email"] == user.email
    assert edge["node"]["name"] == f"{user.first_name} {user.last_name}"
    assert (edge["node"]["country"], edge["node"]["city"]) == ("PL", "WROCŁAW")
    assert edge["node"]["gender"] == "female"
    assert edge["node"]["age"] >= 36
    assert elsewhere["data"]["crmCustomers"]["totalCount"] == 0
    line = OrderLineRecord.objects.get(line_id=str(first_line.pk))
    assert (line.product_id, line.category_id) == (product_id, category_id)


def test_recompute_writes_segments_staff_read_through_saleor_graphql(
    crm_plugin, staff_api_client, permission_manage_users, settings
):
    # given: six Saleor customers with 1..6 orders in the ledger, a recompute in chunks of 2
    from datetime import UTC, datetime, timedelta

    from saleor.account.models import User

    from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
    from saleor_crm_plugin.segments.models import RecomputeRun
    from saleor_crm_plugin.tasks import recompute_rfm_task
    from tests.factories import customer, order

    settings.CRM_RECOMPUTE_CHUNK_SIZE = 2
    users = [User.objects.create(email=f"rfm{i}@example.com") for i in range(6)]
    ingest_customers([customer(str(u.pk), email=u.email) for u in users])
    recent = datetime.now(UTC) - timedelta(days=1)
    ingest_orders(
        [
            order(
                f"rfm-{i}-{n}",
                user_id=str(u.pk),
                email=u.email,
                total=str(1000 * (i + 1)),
                placed_at=recent - timedelta(days=60 * (5 - i) + n),
            )
            for i, u in enumerate(users)
            for n in range(i + 1)
        ]
    )

    # when
    started = recompute_rfm_task.delay().get()

    # then: Saleor's own API shows the keys on the best customer
    run = RecomputeRun.objects.get(pk=started["run"])
    assert (run.scored, run.finished_at is not None) == (6, True)
    assert started["chunks"] >= 3
    staff_api_client.user.user_permissions.add(permission_manage_users)
    response = staff_api_client.post_graphql(
        "query($id: ID!) { user(id: $id) { privateMetadata { key value } } }",
        {"id": graphene.Node.to_global_id("User", users[5].pk)},
    )
    content = json.loads(response.content.decode())
    metadata = {i["key"]: i["value"] for i in content["data"]["user"]["privateMetadata"]}
    assert metadata["crm.segment"] == "JPY Champions"
    assert metadata["crm.rfm"] == "JPY R5 F5 M5"
    assert metadata["crm.order_count"] == "6"

import pytest

from saleor_crm_plugin.customers.models import CustomerProfile, OrderRecord
from saleor_crm_plugin.host import reset_host
from saleor_crm_plugin.sandbox.cli import main

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _host():
    reset_host()


def test_demo_generates_fills_the_ledger_and_prints_a_summary(capsys):
    # when
    code = main(["demo", "--no-serve", "--customers", "150", "--seed", "9"])

    # then
    out = capsys.readouterr().out
    assert code == 0
    profiles = CustomerProfile.objects.filter(anonymized_at__isnull=True)
    assert f"Customers: {profiles.count():,} (" in out
    # the summary counts the store's history; the renewal run then adds its orders
    renewals = OrderRecord.objects.filter(order_id__startswith="crm-subscription-")
    assert f"Orders: {OrderRecord.objects.count() - renewals.count():,} recorded" in out
    assert f"renewal run: {renewals.count():,} orders created, 0 failed" in out
    assert "Staff token (MANAGE_USERS, MANAGE_ORDERS):" in out
    assert "Package inserts: no rules (setting insert-rules)" in out
    assert "RFM segments (" in out
    assert "  Champions " in out
    assert "Basket pairs (the nightly computation, run now; pairs of at least 3" in out
    assert "  channel-jpy, also bought within 30 days, " in out
    assert "Cohort retention (share of each first-order month's customers ordering again" in out
    assert "curl -s -X POST http://127.0.0.1:8765/graphql/" in out
    assert profiles.filter(user_id__isnull=True).exists()


def test_second_demo_run_changes_nothing(capsys):
    # given
    main(["demo", "--no-serve", "--customers", "40"])
    orders = OrderRecord.objects.count()
    capsys.readouterr()

    # when
    main(["demo", "--no-serve", "--customers", "40"])

    # then
    assert f"Ledger: 0 orders new, 0 updated, {orders:,} unchanged" in capsys.readouterr().out


def test_a_reset_demo_starts_a_new_store_over_one_with_subscriptions_and_points():
    # given: a demo store with subscriptions, points, predictions, pairs and reports
    from saleor_crm_plugin.sandbox.models import SandboxSettings, SandboxUser
    from saleor_crm_plugin.subscriptions.models import Subscription

    main(["demo", "--no-serve", "--customers", "60", "--seed", "3"])
    assert Subscription.objects.exists()
    settings = SandboxSettings.objects.count()

    # when
    code = main(["demo", "--no-serve", "--customers", "40", "--seed", "4", "--reset"])

    # then: the new store alone, the settings kept
    assert code == 0
    assert CustomerProfile.objects.count() == 40  # every customer of the new store ordered
    assert not SandboxUser.objects.filter(email="customer00041@example.com").exists()
    assert SandboxSettings.objects.count() == settings


def test_import_of_a_bad_file_exits_1_and_names_the_line(tmp_path, capsys):
    # given
    path = tmp_path / "orders.csv"
    path.write_text("order_id,email,date,total,currency\n1,a@example.com,2025-01-01,x,JPY\n")

    # when
    code = main(["import", str(path)])

    # then
    assert code == 1
    assert "line 2, total: 'x' is not a number" in capsys.readouterr().err
    assert not OrderRecord.objects.exists()


def test_import_of_a_file_that_is_not_utf8_exits_1_and_names_the_lines(tmp_path, capsys):
    # given: Latin-1 bytes (é, ü) on lines 3 and 4
    path = tmp_path / "orders.csv"
    path.write_bytes(
        b"order_id,email,date,total,currency,product_name\n"
        b"1,a@example.com,2025-01-01,1200,JPY,Tea\n"
        b"2,b@example.com,2025-01-01,1200,JPY,Caf\xe9\n"
        b"3,c@example.com,2025-01-01,1200,JPY,M\xfcsli\n"
    )

    # when
    code = main(["import", str(path)])

    # then
    assert code == 1
    assert capsys.readouterr().err == (
        f"{path}: 2 problem(s); nothing was imported:\n"
        "line 3: byte 0xE9 is not UTF-8; save the file as UTF-8\n"
        "line 4: byte 0xFC is not UTF-8; save the file as UTF-8\n"
    )
    assert not OrderRecord.objects.exists()


def test_import_of_a_missing_file_exits_2(tmp_path, capsys):
    # when
    code = main(["import", str(tmp_path / "nope.csv")])

    # then
    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_import_of_a_good_file(tmp_path, capsys):
    # given
    path = tmp_path / "orders.csv"
    path.write_text("order_id,email,date,total,currency\n1,a@example.com,2025-01-01,1200,JPY\n")

    # when
    code = main(["import", str(path)])

    # then
    assert code == 0
    assert capsys.readouterr().out.strip() == (
        "Imported 1 orders (0 lines, 0 customers): 1 new, 0 updated, 0 unchanged"
    )


def test_schema_prints_the_committed_sdl(capsys):
    # when
    main(["schema"])

    # then
    assert "crmCustomers(" in capsys.readouterr().out

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.ingest import digest_for
from saleor_crm_plugin.customers.models import (
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from saleor_crm_plugin.sandbox import importer
from saleor_crm_plugin.sandbox.importer import ImportFailed, import_orders_csv
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
HEADER = (
    "Order ID,Customer ID,Email,Date,Total,Currency,Status,SKU,Quantity,Unit Price,Product Name\n"
)
GOOD = HEADER + (
    "1001,C1,ann@example.com,2025-03-01 10:00,3000,JPY,fulfilled,TEA-1,2,1000,Sencha\n"
    "1001,C1,ann@example.com,2025-03-01 10:00,3000,JPY,fulfilled,CUP-1,1,1000,Cup\n"
    "1002,,guest@example.com,2025-03-02T09:30:00+00:00,12.50,USD,partially fulfilled,TEA-2,1,12.50,Matcha\n"
    "1003,C1,ann@example.com,2025-04-01,5000,JPY,canceled,,,,\n"
)


def _write(tmp_path, text, name="orders.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _nothing_written():
    return (
        not SandboxOrder.objects.exists()
        and not SandboxUser.objects.exists()
        and not OrderRecord.objects.exists()
        and not CustomerProfile.objects.exists()
    )


def test_good_file_lands_in_the_ledger(tmp_path):
    # when
    report = import_orders_csv(_write(tmp_path, GOOD), TOKYO)

    # then
    assert (report.orders, report.lines, report.customers) == (3, 3, 1)
    assert report.result.created == 3
    order = OrderRecord.objects.get(order_id="1001")
    assert order.placed_at == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert order.total_gross_amount == Decimal(3000)
    assert order.channel == "channel-jpy"
    assert sorted(
        OrderLineRecord.objects.filter(order=order).values_list(
            "sku", "quantity", "unit_price_gross_amount"
        )
    ) == [
        ("CUP-1", 1, Decimal(1000)),
        ("TEA-1", 2, Decimal(1000)),
    ]
    assert OrderRecord.objects.get(order_id="1002").status == "partially_fulfilled"
    assert OrderRecord.objects.get(order_id="1003").counts is False
    ann = CustomerProfile.objects.get(
        user_id=str(SandboxUser.objects.get(email="ann@example.com").pk)
    )
    assert ann.order_count == 1
    assert ann.email_digest == digest_for("ann@example.com")
    guest = CustomerProfile.objects.get(user_id__isnull=True)
    assert CustomerSpend.objects.get(profile=guest).total_spent_amount == Decimal("12.50")


def test_importing_the_same_file_again_changes_nothing(tmp_path):
    # given
    path = _write(tmp_path, GOOD)
    import_orders_csv(path, TOKYO)
    before = list(OrderRecord.objects.order_by("order_id").values())

    # when
    report = import_orders_csv(path, TOKYO)

    # then
    assert (report.result.created, report.result.updated, report.result.unchanged) == (0, 0, 3)
    assert list(OrderRecord.objects.order_by("order_id").values()) == before
    assert SandboxUser.objects.count() == 1


def test_written_one_order_per_batch_the_ledger_is_the_same(tmp_path, monkeypatch):
    # given: ann's guest order comes before her orders as a customer, in other batches
    monkeypatch.setattr(importer, "_batch_size", lambda: 1)
    path = _write(tmp_path, GOOD + "0999,,ann@example.com,2025-02-01 09:00,1000,JPY,,,,,\n")

    # when
    report = import_orders_csv(path, TOKYO)

    # then
    assert (report.orders, report.lines, report.customers) == (4, 3, 1)
    assert (report.result.created, report.result.updated, report.result.unchanged) == (4, 0, 0)
    user = SandboxUser.objects.get()
    assert user.date_joined == datetime(2025, 2, 1, 0, 0, tzinfo=UTC)  # her first order, as a guest
    ann = CustomerProfile.objects.get(user_id=str(user.pk))
    assert (ann.order_count, ann.first_order_at) == (2, datetime(2025, 2, 1, 0, 0, tzinfo=UTC))
    assert CustomerSpend.objects.get(profile=ann).total_spent_amount == Decimal(4000)
    assert set(OrderRecord.objects.filter(profile=ann).values_list("order_id", flat=True)) == {
        "0999",
        "1001",
        "1003",
    }
    assert CustomerProfile.objects.count() == 2  # ann and the USD guest


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1001,,a@example.com,2025-03-01,abc,JPY,,,,,\n", "line 2, total: 'abc' is not a number"),
        (
            "1001,,a@example.com,2025-03-01,10.5,JPY,,,,,\n",
            "line 2, total: '10.5' has more decimals than JPY allows (0)",
        ),
        (
            "1001,,a@example.com,2025-03-01,100,JPY,shipped,,,,\n",
            "line 2, status: 'shipped' is not an order status",
        ),
        ("1001,,,2025-03-01,100,JPY,,,,,\n", "line 2, email: is empty"),
        (
            "1001,,a@example.com,03/01/2025,100,JPY,,,,,\n",
            "line 2, date: '03/01/2025' is not an ISO 8601 date",
        ),
        (
            "1001,,a@example.com,2025-03-01,100,YEN1,,,,,\n",
            "line 2, currency: 'YEN1' is not an ISO 4217 currency code",
        ),
        (
            "1001,,a@example.com,2025-03-01,100,JPY,,A,-1,100,\n",
            "line 2, quantity: '-1' is not a whole number of 0 or more",
        ),
        (
            "1001,,a@example.com,2025-03-01,100,JPY,,A,1,100,\n1001,,a@example.com,2025-03-01,200,JPY,,B,1,100,\n",
            "line 3, total: differs from line 2 of the same order 1001",
        ),
        (
            "1001,C1,a@example.com,2025-03-01,100,JPY,,,,,\n1002,C1,b@example.com,2025-03-02,100,JPY,,,,,\n",
            "line 3, customer_id: customer C1 has email a@example.com on line 2, not b@example.com",
        ),
    ],
    ids=[
        "not-a-number",
        "fraction-of-yen",
        "unknown-status",
        "missing-email",
        "bad-date",
        "bad-currency",
        "negative-quantity",
        "lines-disagree",
        "customer-two-emails",
    ],
)
def test_bad_row_is_reported_and_nothing_is_written(tmp_path, rows, message):
    # when
    with pytest.raises(ImportFailed) as error:
        import_orders_csv(_write(tmp_path, HEADER + rows), TOKYO)

    # then
    assert message in str(error.value)
    assert len(error.value.problems) == 1
    assert _nothing_written()


def test_good_rows_before_a_bad_one_are_not_written(tmp_path):
    # given
    text = GOOD + "1004,,b@example.com,2025-05-01,oops,USD,,,,,\n"

    # when
    with pytest.raises(ImportFailed) as error:
        import_orders_csv(_write(tmp_path, text), TOKYO)

    # then
    assert (
        str(error.value)
        == "1 problem(s); nothing was imported:\nline 6, total: 'oops' is not a number"
    )
    assert _nothing_written()


def test_every_problem_is_listed(tmp_path):
    # given
    text = HEADER + "1,,x,2025-01-01,1,JPY,,,,,\n2,,y@example.com,2025-01-01,1.234,USD,,,,,\n"

    # when
    with pytest.raises(ImportFailed) as error:
        import_orders_csv(_write(tmp_path, text), TOKYO)

    # then
    assert [str(p) for p in error.value.problems] == [
        "line 2, email: 'x' is not an email address",
        "line 3, total: '1.234' has more decimals than USD allows (2)",
    ]


def test_missing_columns_are_named(tmp_path):
    # when
    with pytest.raises(ImportFailed) as error:
        import_orders_csv(_write(tmp_path, "order_id,email,total\n1,a@example.com,100\n"), TOKYO)

    # then
    assert str(error.value.problems[0]) == "line 1: missing required column(s): date, currency"
    assert _nothing_written()


def test_empty_file_is_refused(tmp_path):
    # when
    with pytest.raises(ImportFailed) as error:
        import_orders_csv(_write(tmp_path, ""), TOKYO)

    # then
    assert (
        str(error.value.problems[0])
        == "line 1: the file is empty; the first line must name the columns"
    )


def test_refund_larger_than_total_is_refused(tmp_path):
    # when
    with pytest.raises(ImportFailed) as error:
        import_orders_csv(
            _write(
                tmp_path,
                "order_id,email,date,total,currency,refunded\n"
                "1,a@example.com,2025-01-01,100,JPY,150\n",
            ),
            TOKYO,
        )

    # then
    assert str(error.value.problems[0]) == "line 2, refunded: 150 is more than the total 100"

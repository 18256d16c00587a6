from datetime import UTC, datetime
from decimal import Decimal

from saleor_crm_plugin.customers.summary import summary_metadata


def test_summary_keeps_each_currency_apart():
    # when
    metadata = summary_metadata(
        3,
        datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
        datetime(2025, 6, 1, tzinfo=UTC),
        [
            ("USD", Decimal("19.750"), Decimal("9.875")),
            ("JPY", Decimal("12000.000"), Decimal(6000)),
        ],
        [("USD", 1, 2, 3, "Lost"), ("JPY", 5, 4, 5, "Champions")],
    )

    # then
    assert metadata == {
        "crm.order_count": "3",
        "crm.first_order_at": "2025-01-02T03:04:00+00:00",
        "crm.last_order_at": "2025-06-01T00:00:00+00:00",
        "crm.total_spent": "JPY 12000; USD 19.75",
        "crm.average_order": "JPY 6000; USD 9.88",
        "crm.segment": "JPY Champions; USD Lost",
        "crm.rfm": "JPY R5 F4 M5; USD R1 F2 M3",
    }


def test_summary_of_a_customer_without_counted_orders():
    # when
    metadata = summary_metadata(0, None, None, [])

    # then
    assert metadata == {
        "crm.order_count": "0",
        "crm.first_order_at": "",
        "crm.last_order_at": "",
        "crm.total_spent": "",
        "crm.average_order": "",
        "crm.segment": "",
        "crm.rfm": "",
    }


def test_age_counts_whole_years():
    from datetime import date

    from saleor_crm_plugin.host.attributes import age_on

    assert age_on(date(1990, 5, 1), date(2026, 4, 30)) == 35
    assert age_on(date(1990, 5, 1), date(2026, 5, 1)) == 36
    assert age_on(date(2000, 2, 29), date(2025, 2, 28)) == 24
    assert age_on(date(2030, 1, 1), date(2026, 1, 1)) is None
    assert age_on(None, date(2026, 1, 1)) is None


def test_predictions_are_written_per_currency_leaving_out_what_a_currency_lacks():
    from decimal import Decimal

    # when: a JPY prediction with every figure, a USD one without spend fit or next order
    metadata = summary_metadata(
        4,
        datetime(2025, 1, 2, tzinfo=UTC),
        datetime(2025, 6, 1, tzinfo=UTC),
        [],
        predictions=[
            ("USD", 0.104, None, None, None),
            ("JPY", 0.4249, Decimal("23400.000"), datetime(2027, 1, 15, 20, tzinfo=UTC), 1.84),
        ],
    )

    # then
    assert {key: value for key, value in metadata.items() if key not in BASE} == {
        "crm.p_alive": "JPY 0.42; USD 0.10",
        "crm.predicted_clv": "JPY 23400",
        "crm.next_order_on": "JPY 2027-01-15",
        "crm.overdue": "JPY 1.8",
    }


BASE = {
    "crm.order_count",
    "crm.first_order_at",
    "crm.last_order_at",
    "crm.total_spent",
    "crm.average_order",
    "crm.segment",
    "crm.rfm",
}

"""The paid points base-date report and the free points months, against hand computations."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_crm_plugin.loyalty.lots import Entry, Kind, replay
from saleor_crm_plugin.loyalty.point_reports import (
    FreeMonth,
    History,
    PaidBaseDate,
    add_free_months,
    base_dates,
    free_months_between,
    free_point_months,
    month_starts,
    paid_base_dates,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def at(text: str) -> datetime:
    """A moment in Tokyo time."""
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def paid(key, points, amount, when):
    return Entry(key, Kind.EARN, points, when, funding="paid", paid_amount=Decimal(amount))


def test_base_dates_end_at_midnight_in_the_store_time_zone():
    dates = base_dates(2026, 2026, TOKYO)
    assert [(d.day, d.end, d.half_year_start) for d in dates] == [
        (date(2026, 3, 31), at("2026-04-01 00:00"), at("2025-10-01 00:00")),
        (date(2026, 9, 30), at("2026-10-01 00:00"), at("2026-04-01 00:00")),
    ]
    assert dates[0].end.astimezone(UTC) == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)


def test_unused_paid_points_are_valued_pro_rata_per_lot_on_each_base_date():
    # given: customer 1 bought 1,000 points for 9,000 JPY and 300 for 3,000 JPY, earned 100
    # free, then spent 500 (the free lot first, then 400 of the first paid lot); customer 2
    # bought 3 points for 10 USD and spent 1
    one = History(
        [
            Entry("earn:order:1", Kind.EARN, 100, at("2025-11-01 10:00")),
            paid("paid:1", 1000, "9000", at("2025-12-01 10:00")),
            paid("paid:2", 300, "3000", at("2026-03-31 23:59")),  # the base date itself
            Entry("redeem:1", Kind.REDEEM, -500, at("2026-04-01 00:00")),  # the day after
        ],
        {"earn:order:1": "JPY", "paid:1": "JPY", "paid:2": "JPY"},
    )
    two = History(
        [
            paid("paid:3", 3, "10.00", at("2026-05-01 12:00")),
            Entry("redeem:2", Kind.REDEEM, -1, at("2026-06-01 12:00")),
        ],
        {"paid:3": "USD"},
    )

    # when
    rows = paid_base_dates([one, two], base_dates(2026, 2026, TOKYO))

    # then: March 31: all 1,300 unused, 12,000 JPY, all issued in the half-year;
    # September 30: 600 of paid:1 left (6,000 JPY) and paid:2 whole (3,000 JPY);
    # 2 of 3 USD points: 10.00 * 2 / 3 = 6.666.. -> 6.67 USD
    assert rows == [
        PaidBaseDate(date(2026, 3, 31), "JPY", 1300, Decimal(12000), 1300, Decimal(12000), False),
        PaidBaseDate(date(2026, 3, 31), "USD", 0, Decimal("0.00"), 0, Decimal("0.00"), None),
        PaidBaseDate(date(2026, 9, 30), "JPY", 900, Decimal(8400), 0, Decimal(0), False),
        PaidBaseDate(date(2026, 9, 30), "USD", 2, Decimal("6.67"), 3, Decimal("10.00"), None),
    ]


def test_the_notification_threshold_is_flagged_above_ten_million_yen():
    # given: exactly 10,000,000 JPY unused on March 31, 10,000,001 on September 30
    history = History(
        [
            paid("paid:1", 10_000_000, "10000000", at("2026-01-05 09:00")),
            paid("paid:2", 1, "1", at("2026-07-01 09:00")),
        ],
        {"paid:1": "JPY", "paid:2": "JPY"},
    )

    # when
    rows = paid_base_dates([history], base_dates(2026, 2026, TOKYO))

    # then
    assert [(row.amount, row.exceeds_threshold) for row in rows] == [
        (Decimal(10_000_000), False),
        (Decimal(10_000_001), True),
    ]


def test_expired_paid_points_are_not_unused_and_lots_round_one_by_one():
    # given: three lots of 3 points for 1 JPY each, 4 points spent, and a fourth lot (5
    # points for 50 JPY) that expired before the base date, not yet written off
    entries = [paid(f"paid:{n}", 3, "1", at(f"2026-01-0{n} 09:00")) for n in (1, 2, 3)]
    entries.append(
        Entry(
            "paid:4",
            Kind.EARN,
            5,
            at("2026-01-04 09:00"),
            expires_at=at("2026-03-01 00:00"),
            funding="paid",
            paid_amount=Decimal(50),
        )
    )
    entries.append(Entry("redeem:1", Kind.REDEEM, -1, at("2026-02-01 09:00")))
    entries.append(Entry("redeem:2", Kind.REDEEM, -3, at("2026-02-02 09:00")))
    history = History(entries, {entry.key: "JPY" for entry in entries})

    # when
    march = paid_base_dates([history], base_dates(2026, 2026, TOKYO))[0]

    # then: redeem:1 takes 1 of paid:1, redeem:2 its other 2 and 1 of paid:2: left paid:2
    # 2 points (2/3 JPY, rounded per lot to 1) and paid:3 3 (1 JPY); the expired lot counts
    # in the issue only
    assert (march.points, march.amount) == (5, Decimal(2))
    assert (march.issued_points, march.issued_amount) == (14, Decimal(53))


def test_free_points_per_month_in_the_store_time_zone():
    # given: (Tokyo time) 500 earned on Dec 20 (before the report), 200 spent Jan 10,
    # 300 earned on Jan 31 at 23:30 (January in Tokyo, February in UTC), 100 of it reversed
    # on Feb 2, the rest of the first lot (300) expired on Feb 28, 50 paid points bought and
    # used (not free), and a staff deduction of 20 in February
    entries = [
        Entry("earn:order:1", Kind.EARN, 500, at("2025-12-20 10:00")),
        Entry("redeem:1", Kind.REDEEM, -200, at("2026-01-10 10:00")),
        Entry("earn:order:2", Kind.EARN, 300, at("2026-01-31 23:30")),
        Entry(
            "reverse:order:2:100", Kind.REVERSE, -100, at("2026-02-02 10:00"), lot="earn:order:2"
        ),
        Entry("expire:earn:order:1", Kind.EXPIRE, -300, at("2026-02-28 10:00"), lot="earn:order:1"),
        paid("paid:1", 50, "500", at("2026-02-01 10:00")),
        Entry("adjust:1", Kind.ADJUST, -20, at("2026-02-03 10:00")),
    ]
    currencies = {"earn:order:1": "JPY", "earn:order:2": "JPY", "paid:1": "JPY"}
    starts = month_starts(date(2026, 1, 1), date(2026, 2, 1), TOKYO)

    # when
    rows = free_point_months([History(entries, currencies)], starts)

    # then: the deduction of 20 takes the oldest lot (earn:order:1, 300 left -> 280), so the
    # expiry on Feb 28 writes off 280
    assert starts == [at("2026-01-01 00:00"), at("2026-02-01 00:00"), at("2026-03-01 00:00")]
    assert rows == [
        FreeMonth(date(2026, 1, 1), "JPY", 500, 300, 200, 0, 0, 600),
        FreeMonth(date(2026, 2, 1), "JPY", 600, 0, 0, 280, 120, 200),
    ]


def test_points_owed_are_repaid_by_the_next_earning_as_reversed():
    # given: 100 earned and spent, the order refunded (100 owed), then 30 earned
    entries = [
        Entry("earn:order:1", Kind.EARN, 100, at("2026-01-01 10:00")),
        Entry("redeem:1", Kind.REDEEM, -100, at("2026-01-02 10:00")),
        Entry(
            "reverse:order:1:100", Kind.REVERSE, -100, at("2026-01-03 10:00"), lot="earn:order:1"
        ),
        Entry("earn:order:2", Kind.EARN, 30, at("2026-01-04 10:00")),
    ]
    history = History(entries, {"earn:order:1": "USD", "earn:order:2": "USD"})

    # when
    rows = free_point_months([history], month_starts(date(2026, 1, 1), date(2026, 1, 1), TOKYO))

    # then: the 30 new points repay what is owed at once: issued 130, used 100, reversed 30
    assert rows == [FreeMonth(date(2026, 1, 1), "USD", 0, 130, 100, 0, 30, 0)]


def test_the_months_of_chunks_of_customers_add_up_figure_by_figure():
    # given: two chunks' months, the second with a currency the first does not have
    first = [
        FreeMonth(date(2026, 1, 1), "JPY", 500, 300, 200, 0, 0, 600),
        FreeMonth(date(2026, 2, 1), "JPY", 600, 0, 0, 280, 120, 200),
    ]
    second = [
        FreeMonth(date(2026, 1, 1), "JPY", 10, 5, 4, 3, 2, 6),
        FreeMonth(date(2026, 1, 1), "USD", 0, 130, 100, 0, 30, 0),
        FreeMonth(date(2026, 2, 1), "JPY", 6, 1, 1, 1, 1, 3),
        FreeMonth(date(2026, 2, 1), "USD", 0, 0, 0, 0, 0, 0),
    ]

    # when
    rows = add_free_months([first, second, []])

    # then
    assert rows == [
        FreeMonth(date(2026, 1, 1), "JPY", 510, 305, 204, 3, 2, 606),
        FreeMonth(date(2026, 1, 1), "USD", 0, 130, 100, 0, 30, 0),
        FreeMonth(date(2026, 2, 1), "JPY", 606, 1, 1, 281, 121, 203),
        FreeMonth(date(2026, 2, 1), "USD", 0, 0, 0, 0, 0, 0),
    ]


def test_a_range_of_stored_months_pads_the_months_before_the_ledger_and_hides_idle_currencies():
    # given: stored from February (the ledger's first month) to April; USD moves only in April
    stored = [
        FreeMonth(date(2026, 2, 1), "JPY", 0, 100, 0, 0, 0, 100),
        FreeMonth(date(2026, 2, 1), "USD", 0, 0, 0, 0, 0, 0),
        FreeMonth(date(2026, 3, 1), "JPY", 100, 0, 40, 0, 0, 60),
        FreeMonth(date(2026, 3, 1), "USD", 0, 0, 0, 0, 0, 0),
        FreeMonth(date(2026, 4, 1), "JPY", 60, 0, 0, 0, 0, 60),
        FreeMonth(date(2026, 4, 1), "USD", 0, 7, 0, 0, 0, 7),
    ]

    # when
    early = free_months_between(stored, date(2026, 1, 1), date(2026, 3, 1))
    late = free_months_between(stored, date(2026, 4, 1), date(2026, 4, 1))

    # then
    assert early == [
        FreeMonth(date(2026, 1, 1), "JPY", 0, 0, 0, 0, 0, 0),
        stored[0],
        stored[2],
    ]
    assert late == stored[4:]
    with pytest.raises(ValueError, match="2026-05 is after the last stored month"):
        free_months_between(stored, date(2026, 4, 1), date(2026, 5, 1))


T0 = datetime(2025, 12, 1, tzinfo=UTC)


@st.composite
def histories(draw):
    entries, lots = [], []
    for number in range(draw(st.integers(1, 25))):
        when = T0 + timedelta(hours=draw(st.integers(0, 24 * 120)))
        kind = draw(
            st.sampled_from(["earn", "earn", "paid", "redeem", "reverse", "expire", "adjust"])
        )
        if kind in ("earn", "paid") or not lots:
            days = draw(st.none() | st.integers(1, 60))
            expires = None if days is None else when + timedelta(days=days)
            extra = {"funding": "paid", "paid_amount": Decimal(draw(st.integers(0, 5000)))}
            entry = Entry(
                f"lot:{number}",
                Kind.EARN,
                draw(st.integers(1, 300)),
                when,
                expires_at=expires,
                **(extra if kind == "paid" else {}),
            )
            lots.append(entry)
        elif kind == "redeem":
            entry = Entry(f"redeem:{number}", Kind.REDEEM, -draw(st.integers(1, 200)), when)
        elif kind == "adjust":
            points = draw(st.integers(1, 100)) * draw(st.sampled_from([-1, 1]))
            entry = Entry(f"adjust:{number}", Kind.ADJUST, points, when)
        else:
            lot = draw(st.sampled_from(lots))
            when = max(when, lot.at)
            if kind == "reverse":
                entry = Entry(
                    f"reverse:{number}",
                    Kind.REVERSE,
                    -draw(st.integers(1, lot.points)),
                    when,
                    lot=lot.key,
                )
            else:
                entry = Entry(f"expire:{number}", Kind.EXPIRE, -1, when, lot=lot.key)
        entries.append(entry)
    currency = draw(st.sampled_from(["JPY", "USD"]))
    currencies = {entry.key: currency for entry in entries if entry.points > 0}
    return History(entries, currencies)


def _free_outstanding(history_list, moment, allow_negative):
    """The free points left in lots just before `moment`, per currency (a plain replay)."""
    result = {}
    for history in history_list:
        state = replay(history.entries, moment - timedelta(microseconds=1), allow_negative)
        for lot in state.lots:
            if lot.funding == "free":
                currency = history.currencies[lot.key]
                result[currency] = result.get(currency, 0) + lot.remaining
    return result


@settings(max_examples=150, deadline=None)
@given(history_list=st.lists(histories(), min_size=1, max_size=4), allow_negative=st.booleans())
def test_each_month_closes_with_what_it_opened_and_moved_and_what_the_ledger_holds(
    history_list, allow_negative
):
    # given: months from January to March 2026 in Tokyo
    starts = month_starts(date(2026, 1, 1), date(2026, 3, 1), TOKYO)

    # when
    rows = free_point_months(history_list, starts, allow_negative)

    # then: the identity holds, each month opens where the last closed, and the outstanding
    # points at each month's bounds are those a replay of the ledger to that moment leaves
    for row in rows:
        assert row.closing == row.opening + row.issued - row.used - row.expired - row.reversed
        assert min(row.issued, row.used, row.expired, row.reversed) >= 0
    for index, start in enumerate(starts[:-1]):
        expected_open = _free_outstanding(history_list, start, allow_negative)
        expected_close = _free_outstanding(history_list, starts[index + 1], allow_negative)
        month = [row for row in rows if row.month == start.date()]
        assert {row.currency: row.opening for row in month if row.opening} == {
            c: p for c, p in expected_open.items() if p
        }
        assert {row.currency: row.closing for row in month if row.closing} == {
            c: p for c, p in expected_close.items() if p
        }


@settings(max_examples=100, deadline=None)
@given(
    history_list=st.lists(histories(), min_size=1, max_size=5),
    allow_negative=st.booleans(),
    split=st.integers(0, 5),
    first=st.integers(0, 6),
    length=st.integers(0, 6),
)
def test_stored_months_summed_over_chunks_read_as_the_replay_of_the_range_alone(
    history_list, allow_negative, split, first, length
):
    # given: every month from November 2025 (before the ledger) to April 2026, computed in
    # two chunks of customers and summed, as the nightly computation stores them
    stored_starts = month_starts(date(2025, 11, 1), date(2026, 4, 1), TOKYO)
    parts = [
        free_point_months(history_list[:split], stored_starts, allow_negative),
        free_point_months(history_list[split:], stored_starts, allow_negative),
    ]
    stored = add_free_months(parts)
    months = [start.date() for start in month_starts(date(2025, 10, 1), date(2026, 4, 1), TOKYO)]
    first_month = months[first]
    last_month = months[min(first + length, 6)]

    # when
    rows = free_months_between(stored, first_month, last_month)

    # then: the same rows as replaying every customer over that range alone
    assert stored == free_point_months(history_list, stored_starts, allow_negative)
    assert rows == free_point_months(
        history_list, month_starts(first_month, last_month, TOKYO), allow_negative
    )

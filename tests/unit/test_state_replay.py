"""The replay of one customer's state on a past date (`history.replay`), against hand figures."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from saleor_crm_plugin.history.replay import (
    History,
    OrderFacts,
    RankFact,
    Versions,
    order_figures,
    state_at,
)
from saleor_crm_plugin.loyalty.lots import Entry, Kind

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TOKYO = ZoneInfo("Asia/Tokyo")
LADDER = {
    "text": "Regular (REGULAR)\nGold (GOLD): orders 2",
    "window": "lifetime",
    "inactive_months": None,
}
CUTS = {
    "recency": [-40.5, -30.5, -20.5, -10.5],
    "frequency": [0.5, 1.5, 2.5, 3.5],
    "monetary": [999.0, 1999.0, 2999.0, 3999.0],
    "customers": 10,
    "method": "fixed",
    "segments": None,
}


def _order(order_id, day, total="1000", **extra):
    return OrderFacts(
        order_id=order_id,
        number=order_id,
        currency=extra.pop("currency", "JPY"),
        status=extra.pop("status", "unfulfilled"),
        placed_at=T0 + day * DAY,
        total_gross=Decimal(total),
        paid_amount=Decimal(extra.pop("paid", total)),
        paid_at=T0 + day * DAY,
        **extra,
    )


def _versions(*rows):
    return Versions.from_rows(rows)


def test_an_order_refunded_after_the_date_counts_in_full_before_it():
    # given: o2 refunded 400 of 1000 on day 10, o3 cancelled on day 12
    orders = [
        _order("o1", 0),
        _order(
            "o2",
            2,
            paid="600",
            refunded_amount=Decimal(400),
            refunded_at=T0 + 10 * DAY,
        ),
        _order("o3", 3, status="canceled", cancelled_at=T0 + 12 * DAY),
        _order("u1", 4, total="20", currency="USD"),
    ]

    # when
    before = order_figures(orders, T0 + 5 * DAY)
    after = order_figures(orders, T0 + 13 * DAY)

    # then
    assert [(f.currency, f.orders, f.spend, f.average) for f in before] == [
        ("JPY", 3, Decimal(3000), Decimal(1000)),
        ("USD", 1, Decimal("20.00"), Decimal("20.00")),
    ]
    assert [(f.currency, f.orders, f.spend, f.average) for f in after] == [
        ("JPY", 2, Decimal(1600), Decimal(800)),
        ("USD", 1, Decimal("20.00"), Decimal("20.00")),
    ]
    assert after[0].last_order_at == T0 + 2 * DAY


def test_the_rank_comes_from_its_history_and_the_table_in_force_explains_it():
    # given: REGULAR on day 0, GOLD on day 3, an unpin (GOLD to GOLD) on day 8
    history = History(
        registered=True,
        orders=(_order("o1", 0), _order("o2", 3)),
        rank_changes=(
            RankFact(T0, "", "REGULAR", "the starting rank", "v1"),
            RankFact(T0 + 3 * DAY, "REGULAR", "GOLD", "upgrade: Gold", "v1", ("o2", "o1")),
            RankFact(T0 + 8 * DAY, "GOLD", "GOLD", "unpinned by staff: ok", "v1", (), "ann"),
        ),
    )
    versions = _versions(("ranks", "", "v1", T0 + DAY, LADDER))

    # when
    first_day = state_at(history, versions, T0 + 2 * (DAY / 3), TOKYO)
    later = state_at(history, versions, T0 + 9 * DAY, TOKYO)

    # then: before the first stored table, the history alone
    assert (first_day.rank.code, first_day.rank.since, first_day.rank.table_version) == (
        "REGULAR",
        T0,
        None,
    )
    assert first_day.rank.why[1] == (
        "the rank table in force then is not known (rank tables are kept from "
        "2026-01-06T03:00:00+00:00 on): the rank comes from the history alone"
    )
    # the unpin changed no code: GOLD since day 3, and two paid orders reach GOLD under v1
    assert (later.rank.code, later.rank.since, later.rank.reached) == ("GOLD", T0 + 3 * DAY, "GOLD")
    assert later.rank.window_orders == ("o2", "o1")
    assert later.rank.why[0].startswith("rank GOLD since 2026-01-08T03:00:00+00:00: ")
    assert later.rank.why[0].endswith("by ann (unpinned by staff: ok; rank table v1)")


def test_points_at_the_date_and_what_expires_next():
    # given
    history = History(
        registered=True,
        entries=(
            Entry("earn:a", Kind.EARN, 100, T0, expires_at=T0 + 30 * DAY),
            Entry("earn:b", Kind.EARN, 50, T0 + DAY, available_at=T0 + 20 * DAY),
            Entry("redeem:1", Kind.REDEEM, -30, T0 + 2 * DAY),
            Entry("adjust:1", Kind.ADJUST, 7, T0 + 40 * DAY),
        ),
    )

    # when
    at_day_5 = state_at(history, _versions(), T0 + 5 * DAY, TOKYO).points
    at_day_31 = state_at(history, _versions(), T0 + 31 * DAY, TOKYO).points

    # then
    assert (at_day_5.available, at_day_5.pending, at_day_5.debt) == (70, 50, 0)
    assert (at_day_5.expiring_points, at_day_5.expiring_at) == (70, T0 + 30 * DAY)
    assert (at_day_31.available, at_day_31.pending) == (50, 0)
    assert at_day_31.why[1] == (
        "lot earn:a: 70 of 100 left, expired, not yet written off, "
        "expires 2026-02-04T03:00:00+00:00"
    )


def test_rfm_is_unknown_before_the_first_cut_points_then_scored_against_those_in_force():
    # given: three orders; cut points stored on day 10 (fixed bins)
    history = History(
        registered=True, orders=(_order("o1", 0), _order("o2", 1), _order("o3", 2, total="1500"))
    )
    versions = _versions(("rfm", "JPY", "r1", T0 + 10 * DAY, CUTS))

    # when
    before = state_at(history, versions, T0 + 5 * DAY, TOKYO).scores
    after = state_at(history, versions, T0 + 25 * DAY, TOKYO).scores

    # then: 23 days since the last order (R 3: more than 20.5), 3 orders (F 4), 3500 (M 4)
    assert [(s.group, s.known, s.r) for s in before] == [("JPY", False, None)]
    assert before[0].why == (
        "JPY: unknown: no cut points stored before the date (kept from "
        "2026-01-15T03:00:00+00:00 on)",
    )
    assert [(s.r, s.f, s.m, s.segment) for s in after] == [(3, 4, 4, "Loyal")]


def test_a_rule_segment_matches_on_the_replayed_figures_or_says_what_it_cannot_know():
    # given: two saved segments; the second needs a consent the ledger cannot replay
    history = History(registered=True, orders=(_order("o1", 0), _order("o2", 1)))
    two = {"field": "order_count", "op": "gte", "value": 2}
    consent = {"all": [two, {"field": "marketing_consent", "op": "eq", "value": True}]}
    versions = _versions(
        ("rule_segment", "1", "a", T0, {"name": "Two orders", "rule": two}),
        ("rule_segment", "2", "b", T0, {"name": "Consenting", "rule": consent}),
    )

    # when
    day_0 = state_at(history, versions, T0 + DAY / 2, TOKYO, rules={"1": two, "2": consent})
    day_2 = state_at(history, versions, T0 + 2 * DAY, TOKYO, rules={"1": two, "2": consent})

    # then: one order on day 0 decides both (an all with a false part is false)
    assert [(m.name, m.matched) for m in day_0.segments] == [
        ("Two orders", False),
        ("Consenting", False),
    ]
    assert [(m.name, m.matched) for m in day_2.segments] == [
        ("Two orders", True),
        ("Consenting", None),
    ]
    assert day_2.segments[1].why == (
        "Consenting: unknown: the rule (saved 2026-01-05T03:00:00+00:00) needs marketing consent",
    )

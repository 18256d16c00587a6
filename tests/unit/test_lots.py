from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saleor_crm_plugin.loyalty.lots import (
    Entry,
    Kind,
    due_expiries,
    inactivity_expiries,
    replay,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def earn(key, points, day, available_after=0, expires_after=None):
    return Entry(
        key,
        Kind.EARN,
        points,
        T0 + day * DAY,
        available_at=T0 + (day + available_after) * DAY,
        expires_at=None if expires_after is None else T0 + (day + expires_after) * DAY,
    )


def test_spending_takes_the_oldest_available_lots_first():
    # given: two available lots and one still pending
    entries = [
        earn("earn:order:1", 100, 0),
        earn("earn:order:2", 50, 1),
        earn("earn:order:3", 70, 2, available_after=30),
        Entry("redeem:r1", Kind.REDEEM, -120, T0 + 3 * DAY),
    ]

    # when
    state = replay(entries, T0 + 4 * DAY)

    # then
    remaining = {lot.key: lot.remaining for lot in state.lots}
    assert remaining == {"earn:order:1": 0, "earn:order:2": 30, "earn:order:3": 70}
    assert (state.available, state.pending, state.debt, state.balance) == (30, 70, 0, 30)


def test_a_reversal_after_spending_leaves_debt_that_the_next_earning_repays():
    # given: 100 earned and spent, then the order refunded in full
    entries = [
        earn("earn:order:1", 100, 0),
        Entry("redeem:r1", Kind.REDEEM, -80, T0 + DAY),
        Entry("reverse:order:1:1", Kind.REVERSE, -100, T0 + 2 * DAY, lot="earn:order:1"),
    ]

    # when
    owed = replay(entries, T0 + 3 * DAY)
    repaid = replay([*entries, earn("earn:order:2", 50, 4)], T0 + 5 * DAY)

    # then
    assert (owed.available, owed.debt, owed.balance) == (0, 80, -80)
    assert (repaid.available, repaid.debt, repaid.balance) == (0, 30, -30)


def test_without_negative_balances_the_store_records_the_loss():
    entries = [
        earn("earn:order:1", 100, 0),
        Entry("redeem:r1", Kind.REDEEM, -80, T0 + DAY),
        Entry("reverse:order:1:1", Kind.REVERSE, -100, T0 + 2 * DAY, lot="earn:order:1"),
    ]

    state = replay(entries, T0 + 3 * DAY, allow_negative=False)

    assert (state.balance, state.debt, state.lost) == (0, 0, 80)


def test_lots_expire_on_their_day_and_expired_points_cannot_be_spent():
    # given: a lot that expires after 30 days, another after 60
    entries = [
        earn("earn:order:1", 100, 0, expires_after=30),
        earn("earn:order:2", 40, 10, expires_after=60),
    ]

    # when / then: on day 30 the first is due; an expiry entry empties it
    assert due_expiries(entries, T0 + 29 * DAY) == []
    assert due_expiries(entries, T0 + 30 * DAY) == [("earn:order:1", 100)]
    expired = [
        *entries,
        Entry("expire:earn:order:1", Kind.EXPIRE, -100, T0 + 30 * DAY, lot="earn:order:1"),
    ]
    assert due_expiries(expired, T0 + 31 * DAY) == []
    assert replay(expired, T0 + 31 * DAY).available == 40
    # a redemption after the first lot's expiry can only take from the second
    spent = replay([*entries, Entry("redeem:r1", Kind.REDEEM, -60, T0 + 31 * DAY)], T0 + 31 * DAY)
    assert (spent.available, spent.debt) == (0, 20)


def test_entries_after_the_moment_are_not_counted():
    entries = [earn("earn:order:1", 100, 0), Entry("redeem:r1", Kind.REDEEM, -30, T0 + 5 * DAY)]

    assert replay(entries, T0 + 4 * DAY).balance == 100
    assert replay(entries, T0 + 5 * DAY).balance == 70


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": Kind.EARN, "points": 0}, "k: an earning adds points, not 0"),
        ({"kind": Kind.REDEEM, "points": 5}, "k: a redeem takes points, not 5"),
        ({"kind": Kind.REVERSE, "points": -5}, "k: a reverse names the lot it takes from"),
        ({"kind": Kind.ADJUST, "points": 0}, "k: an adjustment of 0 points"),
        ({"kind": Kind.REDEEM, "points": -5, "expires_at": T0}, "k: only a lot has"),
        ({"kind": Kind.EARN, "points": 5, "funding": "gift"}, "k: funding is 'free' or 'paid'"),
        (
            {"kind": Kind.REDEEM, "points": -5, "funding": "paid", "paid_amount": Decimal(1)},
            "k: only points added to a lot can be paid",
        ),
        ({"kind": Kind.EARN, "points": 5, "funding": "paid"}, "k: paid points need a paid_amount"),
        (
            {"kind": Kind.EARN, "points": 5, "funding": "paid", "paid_amount": Decimal(-1)},
            "k: paid points need a paid_amount of 0 or more",
        ),
        (
            {"kind": Kind.EARN, "points": 5, "paid_amount": Decimal(5)},
            "k: free points have no paid_amount",
        ),
    ],
    ids=[
        "earn-zero",
        "redeem-positive",
        "reverse-without-lot",
        "adjust-zero",
        "redeem-expiry",
        "unknown-funding",
        "paid-redemption",
        "paid-without-amount",
        "paid-negative-amount",
        "free-with-amount",
    ],
)
def test_malformed_entries_are_refused_naming_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Entry("k", at=T0, **kwargs)


def test_a_lot_keeps_the_funding_and_paid_amount_of_its_earning_and_is_spent_in_turn():
    # given: 100 free points, then 300 paid points bought for 3,000 yen
    entries = [
        earn("earn:order:1", 100, 0),
        Entry("paid:r1", Kind.ADJUST, 300, T0 + DAY, funding="paid", paid_amount=Decimal(3000)),
        Entry("redeem:r1", Kind.REDEEM, -150, T0 + 2 * DAY),
    ]

    # when
    state = replay(entries, T0 + 3 * DAY)

    # then: the oldest lot (free) first, then 50 of the paid lot
    lots = {
        lot.key: (lot.funding, lot.paid_amount, lot.points, lot.remaining) for lot in state.lots
    }
    assert lots == {
        "earn:order:1": ("free", None, 100, 0),
        "paid:r1": ("paid", Decimal(3000), 300, 250),
    }


def test_inactivity_expires_the_free_lots_and_keeps_the_paid_ones():
    # given: free points, paid points bought for 2,000 yen, more free points, partly spent
    entries = [
        earn("earn:order:1", 100, 0),
        Entry("paid:r1", Kind.ADJUST, 200, T0 + DAY, funding="paid", paid_amount=Decimal(2000)),
        earn("earn:order:2", 40, 2),
        Entry("redeem:r1", Kind.REDEEM, -130, T0 + 3 * DAY),
    ]
    state = replay(entries, T0 + 4 * DAY)

    # when
    due = inactivity_expiries(state.lots)

    # then: the first free lot is spent, the second lapses whole, the paid lot keeps 170
    assert due == [("earn:order:2", 40)]
    assert {lot.key: lot.remaining for lot in state.lots}["paid:r1"] == 170


def test_inactivity_expires_nothing_when_only_paid_points_are_left():
    # given
    entries = [
        Entry("paid:r1", Kind.EARN, 500, T0, funding="paid", paid_amount=Decimal(5000)),
    ]

    # when
    due = inactivity_expiries(replay(entries, T0 + DAY).lots)

    # then
    assert due == []


@st.composite
def ledgers(draw):
    entries = []
    for i in range(draw(st.integers(1, 12))):
        day = draw(st.integers(0, 60))
        kind = draw(st.sampled_from([Kind.EARN, Kind.REDEEM, Kind.REVERSE, Kind.ADJUST]))
        points = draw(st.integers(1, 500))
        if kind is Kind.EARN or (kind is Kind.ADJUST and draw(st.booleans())):
            entries.append(
                Entry(
                    f"e{i}",
                    kind,
                    points,
                    T0 + day * DAY,
                    available_at=T0 + (day + draw(st.integers(0, 20))) * DAY,
                    expires_at=draw(st.none() | st.just(T0 + (day + 40) * DAY)),
                )
            )
        else:
            lot = f"e{draw(st.integers(0, i))}" if kind is Kind.REVERSE else None
            if kind is Kind.REVERSE and lot == f"e{i}":
                lot = "e0"
            entries.append(Entry(f"e{i}", kind, -points, T0 + day * DAY, lot=lot))
    return entries


@given(entries=ledgers(), data=st.data())
def test_the_same_entries_in_any_order_give_the_same_balance(entries, data):
    # given
    as_of = T0 + 90 * DAY
    expected = replay(entries, as_of)

    # when
    shuffled = data.draw(st.permutations(entries))

    # then: order-independent; no lot below 0 or above what it earned; nothing invented
    state = replay(shuffled, as_of)
    assert (state.available, state.pending, state.debt, state.lost) == (
        expected.available,
        expected.pending,
        expected.debt,
        expected.lost,
    )
    assert all(0 <= lot.remaining <= lot.points for lot in state.lots)
    earned = sum(e.points for e in entries if e.points > 0)
    assert state.available + state.pending <= earned
    # every point is somewhere: left in a lot, or owed
    assert sum(e.points for e in entries) == sum(lot.remaining for lot in state.lots) - state.debt


def _reference_remaining(entries, as_of):
    """The lots' remaining points by the plain reading of the rules (slow, obviously right)."""
    lots, order, debt = {}, [], 0
    for entry in sorted(entries, key=lambda e: (e.at, e.key)):
        if entry.at > as_of:
            break
        if entry.points > 0:
            repaid = min(debt, entry.points)
            debt -= repaid
            lots[entry.key] = [
                entry.points - repaid,
                entry.available_at or entry.at,
                entry.expires_at,
            ]
            order.append(entry.key)
            continue
        wanted = -entry.points
        if entry.kind is Kind.REVERSE:
            lot = lots.get(entry.lot)
            taken = min(wanted, lot[0]) if lot else 0
            if lot:
                lot[0] -= taken
            wanted -= taken
        else:
            for key in order:  # every lot, oldest first, each time
                lot = lots[key]
                usable = lot[1] <= entry.at and (lot[2] is None or entry.at < lot[2])
                if wanted and usable and lot[0]:
                    taken = min(wanted, lot[0])
                    lot[0] -= taken
                    wanted -= taken
        debt += wanted
    return {key: lot[0] for key, lot in lots.items()}, debt


@given(entries=ledgers())
def test_the_replay_spends_exactly_as_the_plain_reading_of_the_rules(entries):
    as_of = T0 + 90 * DAY

    state = replay(entries, as_of)

    remaining, debt = _reference_remaining(entries, as_of)
    assert {lot.key: lot.remaining for lot in state.lots} == remaining
    assert state.debt == debt

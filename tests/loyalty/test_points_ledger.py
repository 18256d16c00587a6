"""The points ledger on PostgreSQL: idempotent entries, redemptions that never overdraw."""

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.loyalty.lots import Entry, Kind, replay
from saleor_crm_plugin.loyalty.models import PointsAccount, PointsEntry, PointsLot
from saleor_crm_plugin.loyalty.services import (
    PointsError,
    Written,
    balance,
    entries_of,
    record,
    record_many,
    redeem,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _history():
    """One order's events: earned (pending 14 days), partly refunded twice, then another order."""
    return [
        Entry("earn:order:1", Kind.EARN, 300, T0, available_at=T0 + 14 * DAY),
        Entry("reverse:order:1:1", Kind.REVERSE, -50, T0 + 20 * DAY, lot="earn:order:1"),
        Entry("reverse:order:1:2", Kind.REVERSE, -25, T0 + 21 * DAY, lot="earn:order:1"),
        Entry("earn:order:2", Kind.EARN, 40, T0 + 22 * DAY),
    ]


@pytest.mark.django_db
def test_an_event_history_delivered_twice_and_shuffled_gives_the_same_balance():
    # given
    profile = CustomerProfile.objects.create(user_id="1")
    expected = replay(_history(), T0 + 30 * DAY)

    # when: every event twice, in a shuffled order
    events = _history() * 2
    random.Random(7).shuffle(events)
    written = [record(profile.pk, entry, reason="order events") for entry in events]

    # then: each entry once; the balance the history says
    assert written.count(True) == 4
    state = balance(profile.pk, T0 + 30 * DAY)
    assert (state.available, state.pending, state.debt) == (265, 0, 0)
    assert (expected.available, expected.pending, expected.debt) == (265, 0, 0)
    assert PointsAccount.objects.get(profile=profile).total == 265
    assert PointsEntry.objects.filter(account__profile=profile).count() == 4


@pytest.mark.django_db
def test_pending_points_cannot_be_spent_and_nothing_is_written_when_refused():
    # given
    profile = CustomerProfile.objects.create(user_id="1")
    record(profile.pk, _history()[0])

    # when / then: before the 14 days, 0 available
    with pytest.raises(PointsError) as error:
        redeem(profile.pk, 100, "redeem:r1", T0 + 10 * DAY)
    assert (error.value.field, error.value.message) == ("points", "100 asked, 0 available to spend")
    assert not PointsEntry.objects.filter(key="redeem:r1").exists()
    after = redeem(profile.pk, 100, "redeem:r1", T0 + 15 * DAY)
    assert after.balance == 200
    again = redeem(profile.pk, 100, "redeem:r1", T0 + 15 * DAY)  # the same request twice
    assert again.balance == 200


@pytest.mark.django_db
@pytest.mark.parametrize("points", [0, -5, 1.5, True], ids=["zero", "negative", "fraction", "bool"])
def test_a_redemption_must_be_a_positive_whole_number(points):
    profile = CustomerProfile.objects.create(user_id="1")
    with pytest.raises(PointsError, match="points: must be a whole number above 0"):
        redeem(profile.pk, points, "redeem:r1", T0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locking is PostgreSQL's")
def test_sixteen_concurrent_redemptions_never_overdraw():
    # given: 100 points available
    profile = CustomerProfile.objects.create(user_id="1")
    record(profile.pk, Entry("earn:order:1", Kind.EARN, 100, T0))
    start = threading.Barrier(16)
    results, errors = [], []

    def spend(n):
        try:
            start.wait()
            results.append(redeem(profile.pk, 30, f"redeem:r{n}", T0 + DAY).balance)
        except PointsError as refused:
            errors.append(refused.message)
        finally:
            connections.close_all()

    # when: 16 requests of 30 at once
    threads = [threading.Thread(target=spend, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: three succeed (90), thirteen are refused, the balance never goes below 0
    assert sorted(results) == [10, 40, 70]
    assert len(errors) == 13
    assert all(message == "30 asked, 10 available to spend" for message in errors)
    assert balance(profile.pk, T0 + DAY).balance == 10
    assert PointsAccount.objects.get(profile=profile).total == 10


def _random_history(rng: random.Random, prefix: str) -> list[Entry]:
    """Earnings (some held, some expiring), releases, reversals, redemptions and expiries.

    Keys are unique in the whole table (they name orders and requests): `prefix` keeps them so.
    """
    entries, lots = [], []
    for number in range(rng.randint(3, 25)):
        at = T0 + timedelta(hours=rng.randint(0, 24 * 60))
        kind = rng.choice(["earn", "earn", "redeem", "reverse", "release", "expire", "adjust"])
        if kind == "earn" or not lots:
            held = rng.random() < 0.4
            expires = at + timedelta(days=rng.randint(5, 40)) if rng.random() < 0.5 else None
            entry = Entry(
                f"{prefix}earn:{number}",
                Kind.EARN,
                rng.randint(1, 200),
                at,
                held=held,
                expires_at=expires,
            )
            lots.append(entry)
        elif kind == "redeem":
            entry = Entry(f"{prefix}redeem:{number}", Kind.REDEEM, -rng.randint(1, 150), at)
        elif kind == "adjust":
            entry = Entry(
                f"{prefix}adjust:{number}",
                Kind.ADJUST,
                rng.choice([-1, 1]) * rng.randint(1, 90),
                at,
            )
        else:
            lot = rng.choice(lots)
            at = max(at, lot.at)
            if kind == "reverse":
                entry = Entry(
                    f"{prefix}reverse:{number}",
                    Kind.REVERSE,
                    -rng.randint(1, lot.points),
                    at,
                    lot=lot.key,
                )
            elif kind == "release":
                entry = Entry(
                    f"{prefix}release:{number}",
                    Kind.RELEASE,
                    0,
                    at,
                    lot=lot.key,
                    available_at=at + timedelta(days=rng.randint(0, 20)),
                )
            else:
                entry = Entry(f"{prefix}expire:{number}", Kind.EXPIRE, -1, at, lot=lot.key)
        entries.append(entry)
    return entries


@pytest.mark.django_db
@pytest.mark.parametrize("allow_negative", [True, False])
def test_the_saved_lots_always_equal_the_replay_of_the_entries(allow_negative):
    # given: 25 random histories, each written entry by entry in a shuffled order
    rng = random.Random(11)
    for case in range(25):
        profile = CustomerProfile.objects.create(user_id=f"{allow_negative}-{case}")
        history = _random_history(rng, f"{allow_negative}-{case}-")
        writes = history + rng.sample(history, k=len(history) // 3)  # some delivered twice
        rng.shuffle(writes)
        for entry in writes:
            record(profile.pk, entry, allow_negative=allow_negative)

        # then: at several moments, the saved state is the pure replay of every entry
        for as_of in (T0 + 70 * DAY, T0 + 90 * DAY):
            expected = replay(history, as_of, allow_negative)
            saved = balance(profile.pk, as_of)
            assert (saved.available, saved.pending, saved.debt, saved.lost) == (
                expected.available,
                expected.pending,
                expected.debt,
                expected.lost,
            ), f"case {case}"
        account = PointsAccount.objects.get(profile=profile)
        assert account.total == sum(entry.points for entry in history)


@pytest.mark.django_db
def test_paid_points_keep_their_funding_and_price_through_writes_and_a_replay():
    # given: a free earning, then paid points written through `record` and `record_many`
    profile = CustomerProfile.objects.create(user_id="1")
    record(profile.pk, Entry("earn:order:1", Kind.EARN, 100, T0 + DAY), currency="JPY")
    bought = Entry("paid:r1", Kind.ADJUST, 500, T0 + 2 * DAY)
    record(profile.pk, bought, currency="JPY", funding="paid", paid_amount=Decimal(4500))
    card = Written(
        Entry("paid:r2", Kind.ADJUST, 200, T0 + 3 * DAY),
        currency="JPY",
        funding="paid",
        paid_amount=Decimal(2000),
    )
    record_many(profile.pk, [card])

    # when: an entry from before them all makes the account replay every entry
    record(profile.pk, Entry("earn:order:0", Kind.EARN, 10, T0), currency="JPY")

    # then: entries and lots keep what was paid; the replay reads them back the same
    rows = {
        row.key: (row.funding, row.paid_amount)
        for row in PointsLot.objects.filter(account__profile=profile)
    }
    assert rows == {
        "earn:order:0": ("free", None),
        "earn:order:1": ("free", None),
        "paid:r1": ("paid", Decimal(4500)),
        "paid:r2": ("paid", Decimal(2000)),
    }
    assert PointsEntry.objects.get(key="paid:r2").funding == "paid"
    assert [(e.key, e.funding, e.paid_amount) for e in entries_of(profile.pk)][2:] == [
        ("paid:r1", "paid", Decimal(4500)),
        ("paid:r2", "paid", Decimal(2000)),
    ]


def test_paid_points_need_the_currency_they_were_paid_in():
    with pytest.raises(ValueError, match="paid:r1: paid points need the currency"):
        Written(Entry("paid:r1", Kind.ADJUST, 5, T0), funding="paid", paid_amount=Decimal(5))

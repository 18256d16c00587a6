"""Expiry, the period-end rank review, pins and staff adjustments on PostgreSQL."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from celery import current_app
from django_celery_beat.models import PeriodicTask

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.expiry import expire_points
from saleor_crm_plugin.loyalty.lots import Entry, Kind, replay
from saleor_crm_plugin.loyalty.membership import RankInputError, pin_rank, review_ranks
from saleor_crm_plugin.loyalty.models import MemberRank, PointsAccount, PointsEntry, RankChange
from saleor_crm_plugin.loyalty.orders import settle_loyalty
from saleor_crm_plugin.loyalty.services import (
    PointsError,
    adjust,
    balance,
    entries_of,
    expiring,
    issue_paid_points,
    record,
)
from saleor_crm_plugin.sandbox.models import SandboxUser
from saleor_crm_plugin.tasks import expire_points_task, review_ranks_task
from tests.factories import order

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SETTINGS = {
    "ranks": "Regular (REGULAR)\nGold (GOLD): orders 2; points x2",
    "rank-window": "rolling 3 months, on day 1",
    "points-bonuses": "",
    "points-return-window-days": "0",
}


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _config(**settings):
    return parse_config({**SETTINGS, **settings})


def _customer(number=1):
    user = SandboxUser.objects.create(email=f"c{number}@example.com", date_joined=T0, updated_at=T0)
    return user, str(user.pk)


def _buy(config, user, order_id, when, total="10000"):
    snapshot = order(order_id, user_id=str(user.pk), email=user.email, total=total, placed_at=when)
    result = ingest_orders([snapshot])
    settle_loyalty(config, get_host(), result.profile_ids, when)
    return CustomerProfile.objects.get(user_id=str(user.pk))


def test_each_lot_expires_months_after_it_was_earned_oldest_spent_first():
    config = _config(**{"points-expiry": "2 months after earning"})
    profile = CustomerProfile.objects.create(user_id="1")
    record(profile.pk, Entry("earn:a", Kind.EARN, 100, T0, expires_at=T0 + 60 * DAY))
    record(profile.pk, Entry("earn:b", Kind.EARN, 50, T0 + 10 * DAY, expires_at=T0 + 70 * DAY))
    record(profile.pk, Entry("redeem:1", Kind.REDEEM, -30, T0 + 20 * DAY))

    # before the first expiry: nothing; at it: what is left of lot a
    assert expire_points(config, T0 + 59 * DAY).lots == 0
    report = expire_points(config, T0 + 61 * DAY)
    assert (report.accounts, report.lots, report.points) == (1, 1, 70)
    assert expire_points(config, T0 + 62 * DAY).lots == 0  # a second run expires nothing
    state = balance(profile.pk, T0 + 62 * DAY)
    assert (state.available, state.pending) == (50, 0)
    # the saved state is still the replay of the entries
    expected = replay(entries_of(profile.pk), T0 + 62 * DAY)
    assert expected.available == 50
    assert PointsEntry.objects.get(key="expire:earn:a").points == -70
    account = PointsAccount.objects.get(profile=profile)
    assert (account.total, account.remaining) == (50, 50)
    assert account.applied_key == "expire:earn:a"
    # later writes go on from the saved state
    record(profile.pk, Entry("redeem:2", Kind.REDEEM, -20, T0 + 63 * DAY))
    assert balance(profile.pk, T0 + 63 * DAY).available == 30
    assert replay(entries_of(profile.pk), T0 + 63 * DAY).available == 30


def test_the_whole_balance_expires_after_months_without_activity():
    config = _config(**{"points-expiry": "6 months without activity"})
    quiet = CustomerProfile.objects.create(user_id="1")
    active = CustomerProfile.objects.create(user_id="2")
    record(quiet.pk, Entry("earn:q1", Kind.EARN, 10, T0))
    record(quiet.pk, Entry("earn:q2", Kind.EARN, 20, T0 + DAY))
    record(active.pk, Entry("earn:a1", Kind.EARN, 10, T0))
    record(active.pk, Entry("redeem:a", Kind.REDEEM, -5, T0 + 100 * DAY))

    report = expire_points(config, T0 + 190 * DAY)

    assert (report.accounts, report.lots, report.points) == (1, 2, 30)
    assert balance(quiet.pk, T0 + 190 * DAY).available == 0
    assert balance(active.pk, T0 + 190 * DAY).available == 5


def test_paid_points_do_not_lapse_after_months_without_activity():
    # given: a quiet customer with free points and paid points bought for 3,000 yen
    config = _config(**{"points-expiry": "6 months without activity"})
    quiet = CustomerProfile.objects.create(user_id="1")
    record(quiet.pk, Entry("earn:q1", Kind.EARN, 10, T0))
    issue_paid_points(
        quiet.pk, 300, "3000", "JPY", "paid:q", T0 + DAY, reason="point card", actor="staff:1"
    )

    # when: twice (the second run finds nothing)
    report = expire_points(config, T0 + 190 * DAY)
    again = expire_points(config, T0 + 191 * DAY)

    # then: only the free lot expired; the paid points stay available
    assert (report.accounts, report.lots, report.points) == (1, 1, 10)
    assert again.lots == 0
    assert list(PointsEntry.objects.filter(kind="expire").values_list("key", "points")) == [
        ("expire:earn:q1", -10)
    ]
    state = balance(quiet.pk, T0 + 191 * DAY)
    assert (state.available, state.pending) == (300, 0)
    assert expiring(quiet.pk, T0 + 191 * DAY, T0 + 400 * DAY, config.loyalty.expiry) == []


def test_a_paid_lot_with_its_own_expiry_date_expires_then():
    # given: an imported paid lot that carries the expiry its old system sold it with
    config = _config(**{"points-expiry": "2 months after earning"})
    profile = CustomerProfile.objects.create(user_id="1")
    record(
        profile.pk,
        Entry(
            "import:lot:1",
            Kind.EARN,
            50,
            T0,
            expires_at=T0 + 30 * DAY,
            funding="paid",
            paid_amount=Decimal(500),
        ),
        currency="JPY",
    )

    # when
    report = expire_points(config, T0 + 31 * DAY)

    # then
    assert (report.accounts, report.lots, report.points) == (1, 1, 50)
    assert balance(profile.pk, T0 + 31 * DAY).available == 0


def test_downgrades_wait_for_the_period_end_review():
    # given: Gold after two orders in January
    config = _config()
    user, _uid = _customer()
    _buy(config, user, "o1", T0)
    profile = _buy(config, user, "o2", T0 + DAY)
    assert MemberRank.objects.get(profile=profile).code == "GOLD"

    # when: the review before the period end (Feb 1) changes nothing; on May 1 the two orders
    # are out of the 3-month window
    early = review_ranks(config, T0 + 5 * DAY)
    assert early.changed == 0
    late = review_ranks(config, datetime(2026, 5, 1, 1, tzinfo=UTC))

    # then
    member = MemberRank.objects.get(profile=profile)
    assert (late.changed, member.code) == (1, "REGULAR")
    last = RankChange.objects.order_by("at").last()
    assert (last.from_code, last.to_code) == ("GOLD", "REGULAR")
    assert last.reason.startswith("period end: Regular")
    assert member.review_at == datetime(2026, 6, 1, tzinfo=UTC)


def test_the_review_gives_a_first_rank_to_customers_with_orders_but_none_yet():
    config = _config()
    user, uid = _customer()
    ingest_orders(
        [
            order("o1", user_id=uid, email=user.email, placed_at=T0),
            order("o2", user_id=uid, email=user.email, placed_at=T0 + DAY),
        ]
    )

    report = review_ranks(config, T0 + 2 * DAY)

    assert report.changed == 1
    assert MemberRank.objects.get().code == "GOLD"


def test_inactive_customers_drop_one_rank_at_the_period_end():
    config = _config(
        **{
            "rank-window": "lifetime",
            "rank-down-after-inactive-months": "3",
            "ranks": "Regular (R)\nSilver (S): orders 1\nGold (G): orders 2",
        }
    )
    user, _uid = _customer()
    _buy(config, user, "o1", T0)
    profile = _buy(config, user, "o2", T0 + DAY)
    assert MemberRank.objects.get(profile=profile).code == "G"

    review_ranks(config, datetime(2026, 6, 1, 1, tzinfo=UTC))

    assert MemberRank.objects.get(profile=profile).code == "S"
    assert RankChange.objects.order_by("at").last().reason == "inactive 3 months"


def test_staff_pin_a_rank_with_a_reason_until_it_expires():
    config = _config()
    user, _uid = _customer()
    profile = _buy(config, user, "o1", T0)

    member = pin_rank(
        config,
        profile,
        "GOLD",
        "VIP from the launch event",
        T0 + DAY,
        expires_at=T0 + 40 * DAY,
        actor="staff:7",
    )

    assert member.code == "GOLD"
    change = RankChange.objects.order_by("at", "pk").last()
    assert (change.to_code, change.actor) == ("GOLD", "staff:7")
    assert change.reason == "pinned by staff: VIP from the launch event"
    # after the pin expires, the next review puts the rules back at once, period end or not
    review_ranks(config, T0 + 41 * DAY)
    member = MemberRank.objects.get(profile=profile)
    assert (member.code, member.pin_code) == ("REGULAR", "")
    change = RankChange.objects.order_by("at", "pk").last()
    assert (change.from_code, change.to_code) == ("GOLD", "REGULAR")


def test_unpinning_gives_the_rank_by_the_rules_at_once():
    # given: one order (Regular by the rules), pinned Gold by staff
    config = _config()
    user, _uid = _customer()
    profile = _buy(config, user, "o1", T0)
    pin_rank(config, profile, "GOLD", "launch event", T0 + DAY, actor="staff:7")

    # when: staff unpin in the middle of the period
    member = pin_rank(config, profile, None, "event over", T0 + 2 * DAY, actor="staff:7")

    # then: the rank the figures reach, not the pinned one until the period ends
    assert (member.code, member.pin_code, member.pinned_by) == ("REGULAR", "", "")
    last = RankChange.objects.order_by("at", "pk").last()
    assert (last.from_code, last.to_code, last.actor) == ("GOLD", "REGULAR", "staff:7")


@pytest.mark.parametrize(
    ("code", "reason", "expires", "field"),
    [
        ("DIAMOND", "why", None, "code"),
        ("GOLD", " ", None, "reason"),
        ("GOLD", "why", -DAY, "expires_at"),
    ],
)
def test_a_bad_pin_is_refused_naming_the_input_and_changes_nothing(code, reason, expires, field):
    config = _config()
    user, _uid = _customer()
    profile = _buy(config, user, "o1", T0)
    before = RankChange.objects.count()
    with pytest.raises(RankInputError) as caught:
        pin_rank(
            config,
            profile,
            code,
            reason,
            T0 + DAY,
            expires_at=None if expires is None else T0 + expires,
            actor="staff:7",
        )
    assert caught.value.field == field
    assert RankChange.objects.count() == before
    assert MemberRank.objects.get().pin_code == ""


def test_staff_adjustments_are_audited_and_cannot_take_more_than_the_balance():
    profile = CustomerProfile.objects.create(user_id="1")
    state = adjust(
        profile.pk,
        500,
        "adjust:r1",
        T0,
        reason="goodwill: late parcel",
        actor="staff:7",
        currency="JPY",
    )
    again = adjust(
        profile.pk,
        500,
        "adjust:r1",
        T0,
        reason="goodwill: late parcel",
        actor="staff:7",
        currency="JPY",
    )
    assert state.available == again.available == 500
    entry = PointsEntry.objects.get(key="adjust:r1")
    assert (entry.kind, entry.reason, entry.actor) == ("adjust", "goodwill: late parcel", "staff:7")
    with pytest.raises(PointsError, match="points: takes 600, the customer has 500 to take"):
        adjust(profile.pk, -600, "adjust:r2", T0, reason="typo", actor="staff:7", currency="JPY")
    with pytest.raises(PointsError, match="reason: is required"):
        adjust(profile.pk, 5, "adjust:r3", T0, reason="", actor="staff:7", currency="JPY")
    assert balance(profile.pk, T0).available == 500
    assert (
        adjust(
            profile.pk, -200, "adjust:r4", T0, reason="typo", actor="staff:7", currency="JPY"
        ).available
        == 300
    )


def test_expiry_and_review_run_hourly_from_the_beat_schedule():
    for name, task in (
        ("saleor-crm: expire points", "saleor_crm.expire_points"),
        ("saleor-crm: review ranks", "saleor_crm.review_ranks"),
    ):
        periodic = PeriodicTask.objects.get(name=name)
        assert periodic.task == task
        assert (periodic.interval.every, periodic.interval.period) == (1, "hours")
        assert task in current_app.tasks


def test_the_tasks_run_on_the_sandbox():
    assert set(expire_points_task.delay().get()) == {
        "accounts",
        "lots",
        "points",
        "metadata_written",
    }
    assert review_ranks_task.delay().get() == {"chunks": 0}  # no customer: nothing is due

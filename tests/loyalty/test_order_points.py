"""Points and ranks from orders on PostgreSQL, through ingestion as the order task runs it."""

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.customers.snapshots import OrderStatus
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.models import MemberRank, PointsEntry, RankChange
from saleor_crm_plugin.loyalty.orders import settle_loyalty
from saleor_crm_plugin.loyalty.services import balance
from saleor_crm_plugin.sandbox.models import SandboxUser
from tests.factories import T0, order

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
CONFIG = parse_config(
    {
        "ranks": "Regular (REGULAR)\nGold (GOLD): orders 2 or spend 50000 JPY; points x2",
        "rank-window": "lifetime",
        "points-earn-rates": "JPY: 1 per 100\nUSD: 1 per 1",
        "points-bonuses": "first order +100\nbirthday month x2\nlinked line_user_id +300",
        "points-return-window-days": "14",
        "points-expiry": "never",
    }
)


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _user(**private):
    return SandboxUser.objects.create(
        email="ann@example.com", date_joined=T0, updated_at=T0, private_metadata=private
    )


def _settle(snapshots, now, config=CONFIG):
    result = ingest_orders(snapshots)
    return settle_loyalty(config, get_host(), result.profile_ids, now)


def _history(user_id):
    """One order's events as snapshots: placed, paid, fulfilled, refunded 30%, then 50% in all."""
    placed = order("o1", user_id=user_id, email="ann@example.com", total="26828", paid="0")
    paid = replace(
        placed,
        updated_at=T0 + timedelta(hours=1),
        paid_amount=Decimal(26828),
        paid_at=T0 + timedelta(hours=1),
    )
    fulfilled = replace(
        paid, updated_at=T0 + 2 * DAY, status=OrderStatus.FULFILLED, fulfilled_at=T0 + 2 * DAY
    )
    refunded = replace(
        fulfilled,
        updated_at=T0 + 5 * DAY,
        paid_amount=Decimal(26828 - 8048),
        refunded_amount=Decimal(8048),
        refunded_at=T0 + 5 * DAY,
    )
    half = replace(
        refunded,
        updated_at=T0 + 6 * DAY,
        paid_amount=Decimal(13414),
        refunded_amount=Decimal(13414),
        refunded_at=T0 + 6 * DAY,
    )
    return [placed, paid, fulfilled, refunded, half]


def test_a_paid_order_earns_pending_points_that_fulfilment_and_the_window_make_available():
    # given
    user = _user()
    placed, paid, fulfilled, *_ = _history(str(user.pk))

    # when / then: placed, nothing; paid: 268 + 100 first-order bonus, pending
    _settle([placed], T0)
    assert balance(CustomerProfile.objects.get().pk, T0).pending == 0
    _settle([paid], T0 + timedelta(hours=1))
    profile = CustomerProfile.objects.get()
    state = balance(profile.pk, T0 + DAY)
    assert (state.available, state.pending) == (0, 368)
    # fulfilled: still pending within the 14 days, then available
    _settle([fulfilled], T0 + 2 * DAY)
    assert balance(profile.pk, T0 + 15 * DAY).pending == 368
    state = balance(profile.pk, T0 + 16 * DAY)
    assert (state.available, state.pending) == (368, 0)
    earning = PointsEntry.objects.get(key="earn:order:o1")
    assert earning.reason == "order o1: base, first order +100"
    assert earning.currency == "JPY"


def test_refunds_take_back_points_in_proportion_and_a_cancellation_all():
    user = _user()
    *_, refunded, half = _history(str(user.pk))
    _settle(_history(str(user.pk))[:3], T0 + 2 * DAY)
    profile = CustomerProfile.objects.get()

    _settle([refunded], T0 + 5 * DAY)
    assert balance(profile.pk, T0 + 20 * DAY).available == 368 - 110  # 30% of 368, half up
    _settle([half], T0 + 6 * DAY)
    assert balance(profile.pk, T0 + 20 * DAY).available == 184
    cancelled = replace(
        half, updated_at=T0 + 7 * DAY, status=OrderStatus.CANCELED, cancelled_at=T0 + 7 * DAY
    )
    _settle([cancelled], T0 + 7 * DAY)
    assert balance(profile.pk, T0 + 20 * DAY).available == 0
    keys = sorted(PointsEntry.objects.filter(kind="reverse").values_list("key", "points"))
    assert keys == [
        ("reverse:order:o1:110", -110),
        ("reverse:order:o1:184", -74),
        ("reverse:order:o1:368", -184),
    ]


def test_an_orders_history_replayed_twice_and_shuffled_gives_the_same_balance():
    # given: the history in order, for one customer
    in_order = _user()
    for snapshot in _history(str(in_order.pk)):
        _settle([snapshot], snapshot.updated_at)
    expected = balance(CustomerProfile.objects.get(user_id=str(in_order.pk)).pk, T0 + 30 * DAY)

    # when: the same history for another customer, twice, shuffled, one event a task
    for seed in range(5):
        user = SandboxUser.objects.create(
            email=f"bob{seed}@example.com", date_joined=T0, updated_at=T0
        )
        events = [
            replace(s, order_id=f"b{seed}", email=user.email) for s in _history(str(user.pk))
        ] * 2
        random.Random(seed).shuffle(events)
        for snapshot in events:
            _settle([snapshot], T0 + 10 * DAY)

        # then
        state = balance(CustomerProfile.objects.get(user_id=str(user.pk)).pk, T0 + 30 * DAY)
        assert (
            (state.available, state.pending, state.debt)
            == (
                expected.available,
                expected.pending,
                expected.debt,
            )
            == (184, 0, 0)
        )


def test_usd_points_are_whole_and_floored_and_the_rank_multiplier_applies_after_an_upgrade():
    user = _user()
    uid = str(user.pk)
    first = order("u1", user_id=uid, email=user.email, total="99.99", currency="USD")
    _settle([first], T0)
    profile = CustomerProfile.objects.get()
    assert PointsEntry.objects.get(key="earn:order:u1").points == 99 + 100
    assert MemberRank.objects.get(profile=profile).code == "REGULAR"

    second = order(
        "u2", user_id=uid, email=user.email, total="10.50", currency="USD", placed_at=T0 + DAY
    )
    _settle([second], T0 + DAY)
    assert PointsEntry.objects.get(key="earn:order:u2").points == 10  # earned as Regular
    assert MemberRank.objects.get(profile=profile).code == "GOLD"  # 2 orders: up at once
    third = order(
        "u3", user_id=uid, email=user.email, total="10.50", currency="USD", placed_at=T0 + 2 * DAY
    )
    _settle([third], T0 + 2 * DAY)
    assert PointsEntry.objects.get(key="earn:order:u3").points == 21  # 10.5 x 2, not 20


def test_birthday_month_and_a_linked_account_earn_their_bonuses_once():
    user = _user(birth_date="1990-01-25", line_user_id="U123")
    snapshot = order("o1", user_id=str(user.pk), email=user.email, total="1000")
    _settle([snapshot], T0)
    _settle([replace(snapshot, updated_at=T0 + DAY, status=OrderStatus.FULFILLED)], T0 + DAY)
    entries = dict(PointsEntry.objects.values_list("key", "points"))
    assert entries == {"earn:order:o1": 10 * 2 + 100, f"bonus:link:{user.pk}": 300}


def test_the_public_metadata_earns_nothing():
    user = SandboxUser.objects.create(
        email="ann@example.com",
        date_joined=T0,
        updated_at=T0,
        metadata={"birth_date": "1990-01-25", "line_user_id": "U1"},
    )
    _settle([order("o1", user_id=str(user.pk), email=user.email, total="1000")], T0)
    assert dict(PointsEntry.objects.values_list("key", "points")) == {"earn:order:o1": 110}


def test_guests_earn_nothing_and_loyalty_off_writes_nothing():
    _settle([order("g1", email="guest@example.com", total="5000")], T0)
    assert not PointsEntry.objects.exists()
    user = _user()
    off = replace(CONFIG, loyalty=replace(CONFIG.loyalty, enabled=False))
    _settle([order("o1", user_id=str(user.pk), email=user.email)], T0, config=off)
    assert not PointsEntry.objects.exists()
    assert not MemberRank.objects.exists()


def test_every_rank_change_is_recorded_with_its_reason_rules_and_orders():
    user = _user()
    uid = str(user.pk)
    _settle([order("o1", user_id=uid, email=user.email, total="60000")], T0)
    changes = list(
        RankChange.objects.values("from_code", "to_code", "reason", "order_ids", "rule_version")
    )
    assert changes == [
        {
            "from_code": "",
            "to_code": "GOLD",
            "reason": "upgrade: Gold (any: orders 1 / 2, spend 60000 / 50000 JPY)",
            "order_ids": ["o1"],
            "rule_version": CONFIG.loyalty.ladder_version,
        }
    ]
    # a refund under the threshold does not take the rank away at once
    refunded = order(
        "o1", user_id=uid, email=user.email, total="60000", refunded="30000", updated_at=T0 + DAY
    )
    _settle([refunded], T0 + DAY)
    assert MemberRank.objects.get().code == "GOLD"
    assert RankChange.objects.count() == 1


def test_the_rank_and_points_are_written_to_the_users_private_metadata(settings):
    # given: the default settings but a rank reached by spend
    from django.utils import timezone

    from saleor_crm_plugin.sandbox.models import SandboxOrder
    from saleor_crm_plugin.tasks import ingest_orders_task

    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "ranks": "Regular (REGULAR)\nGold (GOLD): orders 5 or spend 50000 JPY; points x2",
    }
    reset_host()
    user = _user()
    yesterday = timezone.now() - DAY  # within the default rolling 12 months
    SandboxOrder.store(
        order("o1", user_id=str(user.pk), email=user.email, total="60000", placed_at=yesterday)
    )

    # when
    result = ingest_orders_task.delay(["o1"]).get()

    # then: 600 points + 100 first order, pending; Gold (spend 50000 JPY)
    user.refresh_from_db()
    assert result["points_entries"] == 1
    assert result["rank_changes"] == 1
    metadata = user.private_metadata
    assert (metadata["crm.rank"], metadata["crm.points"], metadata["crm.points_pending"]) == (
        "GOLD",
        "0",
        "700",
    )
    assert metadata["crm.rank_since"]


def test_orders_paid_before_the_program_starts_earn_nothing_and_the_award_runs_once():
    from django.core.management import CommandError, call_command

    from saleor_crm_plugin.loyalty.orders import award_points

    # given: two orders before the start day, one after; the backfill earned nothing
    user = _user()
    uid = str(user.pk)
    starting = replace(CONFIG, loyalty=replace(CONFIG.loyalty, earn_from=(T0 + 10 * DAY).date()))
    ingest_orders(
        [
            order("old1", user_id=uid, email=user.email, total="5000", placed_at=T0),
            order("old2", user_id=uid, email=user.email, total="5000", placed_at=T0 + DAY),
            order("new1", user_id=uid, email=user.email, total="5000", placed_at=T0 + 20 * DAY),
        ]
    )
    assert not PointsEntry.objects.exists()

    # when
    first = award_points(starting, get_host(), T0, T0 + 30 * DAY)
    second = award_points(starting, get_host(), T0, T0 + 30 * DAY)

    # then: only the order after the start day; its first-order bonus went to old1 (earliest
    # paid), so none
    assert dict(PointsEntry.objects.values_list("key", "points")) == {"earn:order:new1": 50}
    assert (first.entries, second.entries) == (1, 0)
    with pytest.raises(CommandError, match="--since: 'soon' is not a date"):
        call_command("crm_points_award", since="soon")


def test_with_the_option_on_the_customer_type_follows_the_rank(settings):
    from django.utils import timezone

    from saleor_crm_plugin.sandbox.models import SandboxOrder
    from saleor_crm_plugin.tasks import ingest_orders_task

    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "rank-customer-types": "on",
        "ranks": "Regular (REGULAR)\nGold (GOLD): orders 5 or spend 50000 JPY",
    }
    reset_host()
    user = _user()
    other = SandboxUser.objects.create(email="bob@example.com", date_joined=T0, updated_at=T0)
    yesterday = timezone.now() - DAY
    SandboxOrder.store(
        order("o1", user_id=str(user.pk), email=user.email, total="60000", placed_at=yesterday)
    )
    SandboxOrder.store(
        order("o2", user_id=str(other.pk), email=other.email, total="600", placed_at=yesterday)
    )

    ingest_orders_task.delay(["o1", "o2"]).get()

    user.refresh_from_db()
    other.refresh_from_db()
    assert (user.customer_type, other.customer_type) == ("crm-rank-gold", "crm-rank-regular")


def test_a_rank_with_a_discount_gives_the_customer_a_voucher_code_revoked_when_it_ends():
    from django.utils import timezone

    from saleor_crm_plugin.loyalty.membership import apply_rank_effects, pin_rank
    from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxVoucher
    from saleor_crm_plugin.tasks import ingest_orders_task

    # given: the default ladder (Gold: 5 orders, discount 3%; Platinum 5%; Regular none)
    user = _user()
    yesterday = timezone.now() - DAY
    order_ids = [f"o{number}" for number in range(1, 6)]
    for order_id in order_ids:
        SandboxOrder.store(
            order(order_id, user_id=str(user.pk), email=user.email, placed_at=yesterday)
        )

    # when: the fifth order makes the customer Gold
    ingest_orders_task.delay(order_ids).get()

    # then: one active 3% code, kept on their rank
    member = MemberRank.objects.get()
    voucher = SandboxVoucher.objects.get()
    assert (member.code, member.voucher_rank, member.voucher_code) == ("GOLD", "GOLD", voucher.code)
    assert (voucher.percent, voucher.is_active, voucher.user_id) == (3, True, user.pk)
    apply_rank_effects(get_host(), [member.profile_id])  # again: nothing new
    assert SandboxVoucher.objects.count() == 1

    # when: staff pin Platinum; then the Gold code is revoked and a 5% one issued
    config = get_host().config()
    pin_rank(config, member.profile, "PLATINUM", "anniversary", timezone.now(), actor="staff:1")
    apply_rank_effects(get_host(), [member.profile_id])
    codes = dict(SandboxVoucher.objects.values_list("percent", "is_active"))
    assert codes == {3: False, 5: True}
    # and back to Regular (no discount): no active code left
    pin_rank(config, member.profile, "REGULAR", "test", timezone.now(), actor="staff:1")
    apply_rank_effects(get_host(), [member.profile_id])
    assert not SandboxVoucher.objects.filter(is_active=True).exists()
    assert MemberRank.objects.get().voucher_code == ""

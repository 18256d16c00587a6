"""Subscriptions on PostgreSQL: cycle rows follow the schedule, refused changes write nothing."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription, SubscriptionEvent
from saleor_crm_plugin.subscriptions.schedule import Interval, ScheduleError, Unit
from saleor_crm_plugin.subscriptions.services import Rules, act, create_subscription

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)  # Jan 5, 10:00 in Tokyo
DAYS_30 = Interval(30, Unit.DAY)
RULES = Rules(
    cutoff_days=5, lead_days=3, allowed=(DAYS_30, Interval(45, Unit.DAY)), min_deliveries=2
)


def _subscription(**extra):
    profile = CustomerProfile.objects.create(user_id="7")
    return create_subscription(
        profile,
        channel="channel-jpy",
        currency="JPY",
        lines=[("variant-1", 2)],
        interval=DAYS_30,
        first_delivery=date(2027, 1, 20),
        actor="user:7",
        now=NOW,
        rules=RULES,
        zone=TOKYO,
        **extra,
    )


def _cycles(subscription):
    return list(
        Cycle.objects.filter(subscription=subscription)
        .order_by("sequence")
        .values_list("sequence", "delivery_on", "status")
    )


def test_a_new_subscription_has_its_next_cycles_with_renewal_times_in_the_stores_zone():
    subscription = _subscription(source_order_id="order-1")

    assert _cycles(subscription) == [
        (1, date(2027, 1, 20), "scheduled"),
        (2, date(2027, 2, 19), "scheduled"),
        (3, date(2027, 3, 21), "scheduled"),
    ]
    first = Cycle.objects.get(subscription=subscription, sequence=1)
    # 3 days before, at 09:00 in Tokyo
    assert first.renewal_due_at == datetime(2027, 1, 17, 0, 0, tzinfo=UTC)
    assert first.idempotency_key == f"crm-subscription-{subscription.pk}-cycle-1"
    assert subscription.next_delivery_on == date(2027, 1, 20)
    # the same paid order again: the same subscription
    again = create_subscription(
        subscription.profile,
        channel="channel-jpy",
        currency="JPY",
        lines=[("variant-1", 2)],
        interval=DAYS_30,
        first_delivery=date(2027, 1, 20),
        actor="user:7",
        now=NOW,
        rules=RULES,
        zone=TOKYO,
        source_order_id="order-1",
    )
    assert again.pk == subscription.pk
    assert Subscription.objects.count() == 1


def test_skip_pause_and_resume_rewrite_the_cycles_and_are_recorded():
    subscription = _subscription()

    act(subscription.pk, "skip", sequence=2, actor="user:7", now=NOW, rules=RULES, zone=TOKYO)
    assert _cycles(subscription)[1] == (2, date(2027, 2, 19), "skipped")
    paused, _ = act(
        subscription.pk,
        "pause",
        start=date(2027, 3, 1),
        actor="user:7",
        now=NOW,
        rules=RULES,
        zone=TOKYO,
    )
    assert paused.status == "paused"
    assert _cycles(subscription) == [
        (1, date(2027, 1, 20), "scheduled"),
        (2, date(2027, 2, 19), "skipped"),
    ]
    later = datetime(2027, 4, 1, 1, 0, tzinfo=UTC)
    resumed, _ = act(
        subscription.pk,
        "resume",
        on=date(2027, 4, 10),
        actor="staff:1",
        now=later,
        rules=RULES,
        zone=TOKYO,
    )
    assert resumed.status == "active"
    assert resumed.next_delivery_on == date(2027, 4, 10)
    assert [kind for (kind,) in SubscriptionEvent.objects.values_list("kind")] == [
        "created",
        "skip",
        "pause",
        "resume",
    ]
    assert SubscriptionEvent.objects.last().actor == "staff:1"


def test_a_change_past_the_cutoff_says_it_applies_from_the_delivery_after_next():
    subscription = _subscription()
    near = datetime(2027, 1, 17, 1, 0, tzinfo=UTC)  # 3 days before the Jan 20 delivery

    _, change = act(
        subscription.pk,
        "change_interval",
        interval=Interval(45, Unit.DAY),
        actor="user:7",
        now=near,
        rules=RULES,
        zone=TOKYO,
    )

    assert (change.applies_from, change.after_next) == (2, True)
    assert _cycles(subscription)[:3] == [
        (1, date(2027, 1, 20), "scheduled"),
        (2, date(2027, 2, 19), "scheduled"),
        (3, date(2027, 4, 5), "scheduled"),
    ]


@pytest.mark.parametrize(
    ("action", "params", "code"),
    [
        ("change_interval", {"interval": Interval(7, Unit.DAY)}, "not_allowed"),
        ("move_next", {"date": date(2027, 1, 1)}, "in_past"),
        ("resume", {}, "not_paused"),
        ("cancel", {"reason": "too much coffee"}, "minimum_deliveries"),
        ("cancel", {"reason": " "}, "required"),
        ("explode", {}, "invalid"),
    ],
)
def test_illegal_actions_are_refused_with_a_code_and_nothing_changes(action, params, code):
    subscription = _subscription()
    before = (_cycles(subscription), Subscription.objects.get().plan)

    with pytest.raises(ScheduleError) as caught:
        act(subscription.pk, action, actor="user:7", now=NOW, rules=RULES, zone=TOKYO, **params)

    assert caught.value.code == code
    assert (_cycles(subscription), Subscription.objects.get().plan) == before
    assert SubscriptionEvent.objects.count() == 1


def test_a_cancelled_subscription_cannot_be_resumed_and_has_no_cycles_left():
    subscription = _subscription()
    Subscription.objects.filter(pk=subscription.pk).update(deliveries=2)

    act(
        subscription.pk,
        "cancel",
        reason="moving abroad",
        actor="user:7",
        now=NOW,
        rules=RULES,
        zone=TOKYO,
    )

    assert _cycles(subscription) == []
    with pytest.raises(ScheduleError) as caught:
        act(subscription.pk, "resume", actor="user:7", now=NOW, rules=RULES, zone=TOKYO)
    assert caught.value.code == "cancelled"


def test_quantity_swap_one_time_item_preferences_and_address_apply_from_the_next_delivery():
    from saleor_crm_plugin.subscriptions.models import SubscriptionLine

    rules = Rules(
        cutoff_days=5,
        offered={"variant-1": (DAYS_30,), "variant-decaf": (DAYS_30,)},
        allowed=(DAYS_30,),
    )
    subscription = _subscription()

    def do(action, **params):
        return act(
            subscription.pk, action, actor="user:7", now=NOW, rules=rules, zone=TOKYO, **params
        )

    _, change = do("set_quantity", variant="variant-1", quantity=3)
    assert (change.applies_from, change.after_next) == (1, False)
    do("swap", variant="variant-1", to="variant-decaf")
    do("add_once", variant="variant-mug", quantity=1)
    updated, _ = do("set_preferences", weekday=5, time_slot="18-20")
    address = {
        "firstName": "Ann",
        "lastName": "Sato",
        "streetAddress1": "1-2-3",
        "city": "Shibuya",
        "country": "JP",
        "postalCode": "150-0001",
    }
    updated, _ = do("set_address", address=address)

    lines = list(
        SubscriptionLine.objects.filter(subscription=subscription)
        .order_by("pk")
        .values_list("variant_id", "quantity", "only_cycle")
    )
    assert lines == [("variant-decaf", 3, None), ("variant-mug", 1, 1)]
    assert (updated.preferred_weekday, updated.time_slot) == (5, "18-20")
    assert updated.shipping_address["city"] == "Shibuya"
    kinds = list(SubscriptionEvent.objects.values_list("kind", flat=True))
    assert kinds == [
        "created",
        "set_quantity",
        "swap",
        "add_once",
        "set_preferences",
        "set_address",
    ]


@pytest.mark.parametrize(
    ("action", "params", "field", "code"),
    [
        ("set_quantity", {"variant": "variant-1", "quantity": 0}, "quantity", "invalid"),
        ("set_quantity", {"variant": "nope", "quantity": 2}, "variant", "not_found"),
        ("swap", {"variant": "variant-1", "to": "variant-tea"}, "to", "not_allowed"),
        ("set_preferences", {"weekday": 9}, "weekday", "invalid"),
        ("set_address", {"address": {"city": "Shibuya"}}, "address", "required"),
    ],
)
def test_bad_line_changes_are_refused_naming_the_input(action, params, field, code):
    subscription = _subscription()
    with pytest.raises(ScheduleError) as caught:
        act(subscription.pk, action, actor="user:7", now=NOW, rules=RULES, zone=TOKYO, **params)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert SubscriptionEvent.objects.count() == 1

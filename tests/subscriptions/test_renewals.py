"""Renewal orders on PostgreSQL: one order per cycle with concurrent workers, retries and crashes."""

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.subscriptions.models import Cycle, Subscription, SubscriptionEvent
from saleor_crm_plugin.subscriptions.renewals import RenewalReport, claim_due, renew, run_renewals
from saleor_crm_plugin.subscriptions.schedule import Interval, ScheduleError, Unit
from saleor_crm_plugin.subscriptions.services import Rules, act, create_subscription
from tests.factories import order

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)
DUE = datetime(2027, 1, 17, 1, 0, tzinfo=UTC)  # after cycle 1's renewal time (Jan 17 00:00 UTC)
RULES = Rules(cutoff_days=5, lead_days=3, allowed=(Interval(30, Unit.DAY),))


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _subscriptions(count=1, variant="v1"):
    SandboxOrder.store(order("first", email="first@example.com", total="1500"))  # prices v1
    made = []
    for number in range(count):
        user = SandboxUser.objects.create(
            email=f"s{number}@example.com", date_joined=START, updated_at=START
        )
        profile = CustomerProfile.objects.create(user_id=str(user.pk))
        made.append(
            create_subscription(
                profile,
                channel="channel-jpy",
                currency="JPY",
                lines=[(variant, 2)],
                interval=Interval(30, Unit.DAY),
                first_delivery=date(2027, 1, 20),
                actor=f"user:{user.pk}",
                now=START,
                rules=RULES,
                zone=TOKYO,
            )
        )
    return made


@pytest.mark.django_db
def test_a_due_cycle_becomes_one_renewal_order_and_the_next_cycle_follows():
    [subscription] = _subscriptions()

    report = run_renewals(get_host(), DUE, RULES, TOKYO)
    again = run_renewals(get_host(), DUE, RULES, TOKYO)

    assert (report.claimed, report.ordered, again.claimed) == (1, 1, 0)
    cycle = Cycle.objects.get(subscription=subscription, sequence=1)
    assert (cycle.status, cycle.order_id) == ("ordered", cycle.idempotency_key)
    renewal = SandboxOrder.objects.get(order_id=cycle.idempotency_key)
    assert renewal.data["total_gross"] == "3000"  # 2 x 1,500 JPY, left unpaid
    assert renewal.data["paid_amount"] == "0"
    subscription.refresh_from_db()
    assert (subscription.deliveries, subscription.next_delivery_on) == (1, date(2027, 2, 19))
    assert Cycle.objects.filter(subscription=subscription).count() == 4  # 1 ordered + 3 next


@pytest.mark.django_db
def test_a_skipped_or_paused_cycle_is_not_ordered():
    [skipped, paused] = _subscriptions(2)
    act(skipped.pk, "skip", sequence=1, actor="user:1", now=START, rules=RULES, zone=TOKYO)
    act(
        paused.pk,
        "pause",
        start=date(2027, 1, 6),
        actor="user:2",
        now=START,
        rules=RULES,
        zone=TOKYO,
    )

    report = run_renewals(get_host(), DUE + timedelta(days=40), RULES, TOKYO)

    # the skipped subscription orders cycle 2 (Feb 19) once its time comes; the paused nothing
    assert report.ordered == 1
    assert list(Cycle.objects.filter(status="ordered").values_list("subscription", "sequence")) == [
        (skipped.pk, 2)
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's")
def test_two_workers_running_at_once_create_one_order_per_cycle():
    subscriptions = _subscriptions(20)
    start = threading.Barrier(2)
    reports = []

    def worker():
        try:
            start.wait()
            reports.append(run_renewals(get_host(), DUE, RULES, TOKYO, batch=3))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(report.ordered for report in reports) == 20
    assert all(report.ordered for report in reports)  # both took a share
    keys = [f"crm-subscription-{s.pk}-cycle-1" for s in subscriptions]
    assert SandboxOrder.objects.filter(order_id__in=keys).count() == 20
    assert Cycle.objects.filter(status="ordered").count() == 20


class _DiesAfterCreating:
    """A store that commits the order on its own, then the worker dies before recording it."""

    def __init__(self, host):
        self.host = host

    def __getattr__(self, name):
        return getattr(self.host, name)

    def create_renewal_order(self, request):
        created = []

        def elsewhere():  # the store's own connection and commit
            try:
                created.append(self.host.create_renewal_order(request))
            finally:
                connections.close_all()

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert created
        raise SystemExit("worker killed between the order and the commit")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_a_worker_killed_after_the_order_was_created_never_leads_to_a_second_order():
    [subscription] = _subscriptions()
    [cycle_id] = claim_due(DUE)

    with pytest.raises(SystemExit):
        renew(cycle_id, _DiesAfterCreating(get_host()), DUE, RULES, TOKYO, RenewalReport())

    # the claim is stale after 15 minutes; the next run finds the order by its key
    soon = run_renewals(get_host(), DUE + timedelta(minutes=5), RULES, TOKYO)
    later = run_renewals(get_host(), DUE + timedelta(minutes=20), RULES, TOKYO)
    assert (soon.claimed, later.claimed, later.found, later.ordered) == (0, 1, 1, 1)
    cycle = Cycle.objects.get(pk=cycle_id)
    assert cycle.status == "ordered"
    assert SandboxOrder.objects.filter(order_id=cycle.idempotency_key).count() == 1
    assert Subscription.objects.get(pk=subscription.pk).deliveries == 1


@pytest.mark.django_db
def test_a_failing_renewal_is_retried_then_left_for_staff_with_the_reason():
    [subscription] = _subscriptions(variant="gone")

    first = run_renewals(get_host(), DUE, RULES, TOKYO)
    cycle = Cycle.objects.get(subscription=subscription, sequence=1)
    assert (first.failed, cycle.status, cycle.attempts) == (1, "failed", 1)
    assert cycle.last_error == "variant gone is not sold in JPY"
    assert cycle.retry_at == DUE + timedelta(hours=1)
    moment = DUE
    for hours in (1, 6, 24):  # the retries, each at its time
        assert cycle.retry_at == moment + timedelta(hours=hours)
        moment = cycle.retry_at
        run_renewals(get_host(), moment, RULES, TOKYO)
        cycle.refresh_from_db()
    subscription.refresh_from_db()
    assert (cycle.attempts, subscription.status) == (4, "attention")
    assert SubscriptionEvent.objects.filter(kind="needs_attention").count() == 1
    assert run_renewals(get_host(), DUE + timedelta(days=3), RULES, TOKYO).claimed == 0


@pytest.mark.django_db
def test_the_renewal_run_is_an_hourly_beat_task():
    from celery import current_app
    from django_celery_beat.models import PeriodicTask

    from saleor_crm_plugin.tasks import renew_subscriptions_task

    periodic = PeriodicTask.objects.get(name="saleor-crm: renew subscriptions")
    assert periodic.task == "saleor_crm.renew_subscriptions"
    assert (periodic.interval.every, periodic.interval.period) == (1, "hours")
    assert "saleor_crm.renew_subscriptions" in current_app.tasks
    assert renew_subscriptions_task.delay().get() == {
        "reminded": 0,
        "claimed": 0,
        "ordered": 0,
        "found": 0,
        "failed": 0,
        "attention": 0,
    }


def _attention(variant="gone"):
    [subscription] = _subscriptions(variant=variant)
    rules = Rules(cutoff_days=5, lead_days=3, retry_hours=())
    run_renewals(get_host(), DUE, rules, TOKYO)
    subscription.refresh_from_db()
    assert subscription.status == "attention"
    return subscription, rules


@pytest.mark.django_db
def test_staff_retry_a_failed_renewal_and_it_orders_once_the_cause_is_fixed():
    from saleor_crm_plugin.subscriptions.renewals import retry_failed

    subscription, rules = _attention()
    later = DUE + timedelta(days=1)
    still, cycle, report = retry_failed(
        subscription.pk, get_host(), actor="staff:9", now=later, rules=rules, zone=TOKYO
    )
    assert (report.failed, still.status, cycle.status, cycle.attempts) == (
        1,
        "attention",
        "failed",
        2,
    )
    subscription.lines.update(variant_id="v1")  # staff swapped the gone variant

    fixed, cycle, report = retry_failed(
        subscription.pk, get_host(), actor="staff:9", now=later, rules=rules, zone=TOKYO
    )

    assert (report.ordered, fixed.status, cycle.status) == (1, "active", "ordered")
    assert SandboxOrder.objects.filter(order_id=cycle.idempotency_key).count() == 1
    assert [e.actor for e in SubscriptionEvent.objects.filter(kind="retry")] == ["staff:9"] * 2
    assert fixed.next_delivery_on == date(2027, 2, 19)


@pytest.mark.django_db
def test_staff_skip_a_failed_delivery_and_the_next_one_goes_on():
    from saleor_crm_plugin.subscriptions.services import skip_failed

    subscription, rules = _attention()
    later = DUE + timedelta(days=5)  # the failed delivery's date (Jan 20) has passed

    skipped = skip_failed(subscription.pk, actor="staff:9", now=later, rules=rules, zone=TOKYO)

    assert skipped.status == "active"
    assert not Cycle.objects.filter(subscription=subscription, sequence=1).exists()
    assert skipped.next_delivery_on == date(2027, 2, 19)
    with pytest.raises(ScheduleError) as again:
        skip_failed(subscription.pk, actor="staff:9", now=later, rules=rules, zone=TOKYO)
    assert again.value.code == "not_failed"


@pytest.mark.django_db
def test_a_failed_renewal_of_a_past_date_stays_when_the_customer_changes_something():
    subscription, rules = _attention()
    later = DUE + timedelta(days=5)
    act(subscription.pk, "skip", sequence=3, actor="user:1", now=later, rules=rules, zone=TOKYO)
    assert Cycle.objects.get(subscription=subscription, sequence=1).status == "failed"


@pytest.mark.django_db
def test_renewals_of_one_day_spread_over_the_configured_hours():
    spread = Rules(cutoff_days=5, lead_days=3, spread_hours=6, allowed=RULES.allowed)
    subscriptions = _subscriptions(40)
    for subscription in subscriptions:
        act(
            subscription.pk,
            "set_quantity",
            variant="v1",
            quantity=1,
            actor="user:1",
            now=START,
            rules=spread,
            zone=TOKYO,
        )
    times = sorted(Cycle.objects.filter(sequence=1).values_list("renewal_due_at", flat=True))
    start = datetime(2027, 1, 17, 0, 0, tzinfo=UTC)  # Jan 17, 09:00 in Tokyo
    assert start <= times[0]
    assert times[-1] < start + timedelta(hours=6)
    assert len({t.hour for t in times}) == 6
    assert run_renewals(get_host(), start + timedelta(hours=1), spread, TOKYO).claimed < 40


@pytest.mark.django_db
def test_the_renewal_order_carries_the_price_paid_and_records_new_lines_prices():
    from saleor_crm_plugin.subscriptions.renewals import RenewalRequest

    [subscription] = _subscriptions()
    subscription.lines.update(unit_price=1200)
    act(
        subscription.pk,
        "add_once",
        variant="v1-gift",
        quantity=1,
        actor="user:1",
        now=START,
        rules=RULES,
        zone=TOKYO,
    )
    from saleor_crm_plugin.customers.snapshots import LineSnapshot

    gift = LineSnapshot(line_id="g-1", quantity=1, unit_price_gross=300, variant_id="v1-gift")
    SandboxOrder.store(order("gift", email="g@example.com", total="300", lines=[gift]))
    seen = []
    host = get_host()
    create = host.create_renewal_order

    def spy(request: RenewalRequest):
        seen.append(request)
        return create(request)

    host.create_renewal_order = spy
    run_renewals(host, DUE, RULES, TOKYO)

    [request] = seen
    assert request.prices == {"v1": 1200}
    assert request.metadata == {
        "crm.subscription_id": str(subscription.pk),
        "crm.cycle": "1",
        "crm.delivery_on": "2027-01-20",
    }
    renewal = SandboxOrder.objects.get(order_id=request.key)
    assert renewal.data["total_gross"] == "2700"  # 2 x 1,200 + the gift at 300
    prices = dict(subscription.lines.values_list("variant_id", "unit_price"))
    assert prices == {"v1": 1200, "v1-gift": 300}


@pytest.mark.django_db
def test_points_pay_a_renewal_when_the_store_and_the_customer_want_it(settings):
    from saleor_crm_plugin.loyalty.services import adjust, balance
    from saleor_crm_plugin.sandbox.models import SandboxGiftCard

    settings.CRM_CONFIG = {**settings.CRM_CONFIG, "points-on-renewals": "true"}
    reset_host()
    rules = Rules(cutoff_days=5, lead_days=3, points_on_renewals=True, allowed=RULES.allowed)
    [subscription] = _subscriptions()
    act(
        subscription.pk,
        "set_preferences",
        use_points=True,
        actor="user:1",
        now=START,
        rules=rules,
        zone=TOKYO,
    )
    adjust(
        subscription.profile_id,
        1200,
        "bench-gift",
        START,
        reason="welcome",
        actor="staff:1",
        currency="JPY",
    )

    run_renewals(get_host(), DUE, rules, TOKYO)

    cycle = Cycle.objects.get(subscription=subscription, sequence=1)
    renewal = SandboxOrder.objects.get(order_id=cycle.idempotency_key)
    assert (renewal.data["total_gross"], renewal.data["paid_amount"]) == ("3000", "1200")
    assert balance(subscription.profile_id, DUE).available == 0
    card = SandboxGiftCard.objects.get()
    assert (card.initial_balance_amount, card.current_balance_amount) == (1200, 0)
    event = SubscriptionEvent.objects.get(kind="renewed")
    assert (event.data["points"], event.data["amount"]) == (1200, "1200")


@pytest.mark.django_db
def test_a_failed_renewal_gives_the_points_back_and_the_store_setting_decides():
    from saleor_crm_plugin.loyalty.services import adjust, balance

    rules = Rules(cutoff_days=5, lead_days=3, points_on_renewals=True, allowed=RULES.allowed)
    [subscription] = _subscriptions(variant="gone")
    act(
        subscription.pk,
        "set_preferences",
        use_points=True,
        actor="user:1",
        now=START,
        rules=rules,
        zone=TOKYO,
    )
    adjust(
        subscription.profile_id,
        500,
        "welcome",
        START,
        reason="welcome",
        actor="staff:1",
        currency="JPY",
    )

    assert run_renewals(get_host(), DUE, rules, TOKYO).failed == 1
    assert balance(subscription.profile_id, DUE).available == 500  # nothing spent

    # with the store's setting off, nobody can turn it on
    with pytest.raises(ScheduleError) as refused:
        act(
            subscription.pk,
            "set_preferences",
            use_points=True,
            actor="user:1",
            now=START,
            rules=RULES,
            zone=TOKYO,
        )
    assert (refused.value.field, refused.value.code) == ("usePoints", "not_allowed")

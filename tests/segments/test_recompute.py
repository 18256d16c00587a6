from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.customers.snapshots import OrderStatus
from saleor_crm_plugin.segments.models import CustomerScore, ScoreCutPoints, SegmentSize
from saleor_crm_plugin.segments.services import recompute_rfm, rescore_profiles
from saleor_crm_plugin.tasks import recompute_rfm_task
from tests.factories import T0, customer, order

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = T0 + timedelta(days=200)


@pytest.fixture
def store():
    """Ten JPY customers with 1..10 orders, two USD customers, one cancelled-only customer."""
    snapshots = []
    for index in range(10):
        for number in range(index + 1):
            snapshots.append(
                order(
                    f"j{index}-{number}",
                    email=f"c{index}@example.com",
                    total=str(1000 * (index + 1)),
                    placed_at=T0 + timedelta(days=10 * index + number),
                )
            )
    snapshots += [
        order(f"u{i}", email=f"u{i}@example.com", currency="USD", total="10.00") for i in range(2)
    ]
    snapshots.append(order("x", email="x@example.com", status=OrderStatus.CANCELED))
    ingest_orders(snapshots)


def _scores():
    return {
        (s.profile.email_digest, s.group): (s.r, s.f, s.m, s.segment)
        for s in CustomerScore.objects.select_related("profile")
    }


def test_recompute_scores_each_currency_apart(store):
    # when
    report = recompute_rfm(TOKYO, as_of=AS_OF)

    # then
    assert (report.scored, report.written, report.removed) == (10, 10, 0)
    assert report.unscored_groups == ("USD",)
    assert set(CustomerScore.objects.values_list("group", flat=True)) == {"JPY"}
    best = CustomerScore.objects.get(profile__order_count=10)
    assert (best.r, best.f, best.m, best.segment) == (5, 5, 5, "Champions")
    worst = CustomerScore.objects.get(profile__order_count=1)
    assert (worst.r, worst.f, worst.m, worst.segment) == (1, 1, 1, "Lost")
    cut_points = ScoreCutPoints.objects.get()
    assert (cut_points.group, cut_points.customers) == ("JPY", 10)
    sizes = {s.segment: (s.customers, s.revenue_amount) for s in SegmentSize.objects.all()}
    assert sum(count for count, _ in sizes.values()) == 10
    assert sizes["Champions"] == (2, Decimal(10000 * 10 + 9000 * 9))


def test_second_recompute_writes_nothing_but_records_sizes_again(store):
    # given
    recompute_rfm(TOKYO, as_of=AS_OF)
    before = _scores()

    # when
    report = recompute_rfm(TOKYO, as_of=AS_OF + timedelta(hours=1))

    # then
    assert report.written == 0
    assert _scores() == before
    assert SegmentSize.objects.values("computed_at").distinct().count() == 2


def test_deleted_customer_loses_the_score(store):
    # given
    recompute_rfm(TOKYO, as_of=AS_OF)
    profile = CustomerProfile.objects.get(order_count=10)
    profile.user_id = "42"
    profile.save(update_fields=["user_id"])
    ingest_customers([customer("42", deleted=True, updated_at=AS_OF)])

    # when
    report = recompute_rfm(TOKYO, as_of=AS_OF + timedelta(days=1))

    # then
    assert report.removed == 1
    assert not CustomerScore.objects.filter(profile=profile).exists()


def test_task_runs_twice_without_change(store):
    # when
    first = recompute_rfm_task.delay().get()
    second = recompute_rfm_task.delay().get()

    # then
    assert first["written"] == 10
    assert second["written"] == 0


def test_rescoring_unchanged_customers_agrees_with_the_full_recompute(store):
    # given
    recompute_rfm(TOKYO, as_of=AS_OF)
    before = _scores()
    CustomerScore.objects.all().delete()

    # when
    changed = rescore_profiles(
        CustomerProfile.objects.values_list("pk", flat=True), TOKYO, as_of=AS_OF
    )

    # then
    assert changed == 10
    assert _scores() == before


def test_a_new_big_order_rescores_the_customer_at_once(store):
    # given: the weakest customer (one old small order)
    recompute_rfm(TOKYO, as_of=AS_OF)
    weakest = CustomerProfile.objects.get(order_count=1, spends__currency="JPY")
    assert CustomerScore.objects.get(profile=weakest).segment == "Lost"

    # when: they come back today with a large order
    result = ingest_orders(
        [order("comeback", email="c0@example.com", total="90000", placed_at=AS_OF)]
    )
    changed = rescore_profiles(result.profile_ids, TOKYO, as_of=AS_OF)

    # then
    score = CustomerScore.objects.get(profile=weakest)
    assert changed == 1
    # 1 or 2 orders are the lowest fifth of this store: still F 1
    assert (score.r, score.f, score.m) == (5, 1, 5)
    assert score.segment == "New"


def test_rescoring_before_any_recompute_does_nothing(store):
    # when
    changed = rescore_profiles(
        CustomerProfile.objects.values_list("pk", flat=True), TOKYO, as_of=AS_OF
    )

    # then
    assert changed == 0
    assert not CustomerScore.objects.exists()


def test_recompute_task_writes_the_segment_to_the_customer_metadata(store):
    # given: the best customer has an account in the store
    from saleor_crm_plugin.sandbox.models import SandboxUser

    user = SandboxUser.objects.create(email="c9@example.com", date_joined=T0, updated_at=T0)
    ingest_customers([customer(str(user.pk), email="c9@example.com")])

    # when
    first = recompute_rfm_task.delay().get()
    second = recompute_rfm_task.delay().get()

    # then
    user.refresh_from_db()
    assert user.private_metadata["crm.segment"] == "JPY Champions"
    assert user.private_metadata["crm.rfm"] == "JPY R5 F5 M5"
    assert (first["metadata_written"], second["metadata_written"]) == (1, 0)

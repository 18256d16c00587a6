from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.customers.snapshots import OrderStatus
from saleor_crm_plugin.segments.models import (
    RecomputeChunk,
    RecomputeRun,
    ScoreCutPoints,
    SegmentSize,
)
from saleor_crm_plugin.segments.segment_map import parse_segment_map
from saleor_crm_plugin.segments.services import (
    recompute_rfm,
    rescore_profiles,
    score_recompute_chunk,
    start_recompute,
)
from saleor_crm_plugin.tasks import recompute_rfm_chunk_task, recompute_rfm_task
from tests.factories import T0, customer, order, scored

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
        for s in scored().select_related("profile")
    }


def test_recompute_scores_each_currency_apart(store):
    # when
    report = recompute_rfm(TOKYO, as_of=AS_OF)

    # then
    assert (report.scored, report.written, report.removed) == (10, 10, 0)
    assert report.unscored_groups == ("USD",)
    assert set(scored().values_list("currency", flat=True)) == {"JPY"}
    best = scored().get(profile__order_count=10)
    assert (best.r, best.f, best.m, best.segment) == (5, 5, 5, "Champions")
    worst = scored().get(profile__order_count=1)
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

    # when: the store deletes the customer
    ingest_customers([customer("42", deleted=True, updated_at=AS_OF)])

    # then: the score goes at once (the figures stay); the next recompute has nothing to remove
    assert not scored().filter(profile=profile).exists()
    assert profile.spends.get().total_spent_amount > 0
    report = recompute_rfm(TOKYO, as_of=AS_OF + timedelta(days=1))
    assert report.removed == 0
    assert not scored().filter(profile=profile).exists()


def _written(run_id):
    return sum(RecomputeChunk.objects.filter(run_id=run_id).values_list("written", flat=True))


def test_task_runs_twice_without_change(store, settings):
    # given: chunks of 4 profile ids (the 13 profiles make 4 chunks)
    settings.CRM_RECOMPUTE_CHUNK_SIZE = 4

    # when
    first = recompute_rfm_task.delay().get()
    second = recompute_rfm_task.delay().get()

    # then
    assert (first["scored"], first["chunks"]) == (10, 4)
    assert _written(first["run"]) == 10
    assert _written(second["run"]) == 0
    assert RecomputeRun.objects.filter(finished_at__isnull=True).count() == 0
    assert SegmentSize.objects.values("computed_at").distinct().count() == 2


def test_rescoring_unchanged_customers_agrees_with_the_full_recompute(store):
    # given
    recompute_rfm(TOKYO, as_of=AS_OF)
    before = _scores()
    scored().update(r=None, f=None, m=None, segment=None, scored_at=None)

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
    assert scored().get(profile=weakest).segment == "Lost"

    # when: they come back today with a large order
    result = ingest_orders(
        [order("comeback", email="c0@example.com", total="90000", placed_at=AS_OF)]
    )
    changed = rescore_profiles(result.profile_ids, TOKYO, as_of=AS_OF)

    # then
    score = scored().get(profile=weakest)
    assert changed == 1
    # 1 or 2 orders are the lowest fifth of this store: still F 1
    assert (score.r, score.f, score.m) == (5, 1, 5)
    assert score.segment == "New"


def test_a_cancelled_only_order_removes_the_score_at_once(store):
    # given: the weakest customer has one order, scored by the last recompute
    recompute_rfm(TOKYO, as_of=AS_OF)
    weakest = CustomerProfile.objects.get(order_count=1, spends__currency="JPY")
    assert scored().filter(profile=weakest).exists()

    # when: that order is cancelled (no counted order left in JPY)
    result = ingest_orders(
        [
            order(
                "j0-0",
                email="c0@example.com",
                total="1000",
                placed_at=T0,
                updated_at=AS_OF,
                status=OrderStatus.CANCELED,
            )
        ]
    )
    changed = rescore_profiles(result.profile_ids, TOKYO, as_of=AS_OF)

    # then: the score went with the spend row (no counted order in JPY left); nothing else
    assert not weakest.spends.exists()
    assert changed == 0
    assert not scored().filter(profile=weakest).exists()
    assert scored().count() == 9


def test_rescoring_unchanged_customers_writes_nothing(store):
    # given
    recompute_rfm(TOKYO, as_of=AS_OF)
    before = {s.pk: s.scored_at for s in scored().all()}

    # when
    changed = rescore_profiles(
        CustomerProfile.objects.values_list("pk", flat=True),
        TOKYO,
        as_of=AS_OF + timedelta(minutes=5),
    )

    # then
    assert changed == 0
    assert {s.pk: s.scored_at for s in scored().all()} == before


def test_rescoring_before_any_recompute_does_nothing(store):
    # when
    changed = rescore_profiles(
        CustomerProfile.objects.values_list("pk", flat=True), TOKYO, as_of=AS_OF
    )

    # then
    assert changed == 0
    assert not scored().exists()


def test_recompute_task_writes_the_segment_to_the_customer_metadata(store):
    # given: the best customer has an account in the store
    from saleor_crm_plugin.sandbox.models import SandboxUser

    user = SandboxUser.objects.create(email="c9@example.com", date_joined=T0, updated_at=T0)
    ingest_customers([customer(str(user.pk), email="c9@example.com")])

    # when
    recompute_rfm_task.delay().get()
    user.refresh_from_db()
    written = dict(user.private_metadata)
    chunk = RecomputeChunk.objects.get(run=start_recompute(TOKYO, chunk_size=1000))
    again = recompute_rfm_chunk_task.delay(chunk.pk).get()

    # then
    assert written["crm.segment"] == "JPY Champions"
    assert written["crm.rfm"] == "JPY R5 F5 M5"
    assert (again["written"], again["metadata_written"]) == (0, 0)
    user.refresh_from_db()
    assert user.private_metadata == written


def _score_all_chunks(run, zone=TOKYO, segments=None):
    return [
        score_recompute_chunk(chunk.pk, zone, segments)
        for chunk in run.chunk_set.order_by("-low")  # any order will do
    ]


def test_recompute_in_chunks_gives_the_one_piece_scores(store):
    # given: the scores of the one-piece recompute
    recompute_rfm(TOKYO, as_of=AS_OF)
    expected = _scores()
    scored().update(r=None, f=None, m=None, segment=None, scored_at=None)
    SegmentSize.objects.all().delete()

    # when: the same recompute in chunks of 3 profile ids
    run = start_recompute(TOKYO, chunk_size=3, as_of=AS_OF)
    reports = _score_all_chunks(run)

    # then
    assert run.chunks == 5
    assert _scores() == expected
    assert sum(r.written for r in reports) == 10
    assert [r.finished_run for r in reports] == [False, False, False, False, True]
    run.refresh_from_db()
    assert run.finished_at is not None
    sizes = SegmentSize.objects.filter(computed_at=AS_OF)
    assert sum(s.customers for s in sizes) == 10
    assert {s.segment for s in sizes} == {row[3] for row in expected.values()}


def test_a_chunk_scored_twice_does_nothing_the_second_time(store):
    # given
    run = start_recompute(TOKYO, chunk_size=100, as_of=AS_OF)
    chunk = run.chunk_set.get()
    first = score_recompute_chunk(chunk.pk, TOKYO)

    # when
    second = score_recompute_chunk(chunk.pk, TOKYO)

    # then
    assert (first.written, first.finished_run, first.repeated) == (10, True, False)
    assert (second.written, second.finished_run, second.repeated) == (0, False, True)
    assert SegmentSize.objects.values("computed_at").distinct().count() == 1


def test_chunks_of_a_superseded_run_leave_the_work_to_the_newer_run(store):
    # given: a run whose chunk did not start before the next hour's run began
    old = start_recompute(TOKYO, chunk_size=100, as_of=AS_OF)
    new = start_recompute(TOKYO, chunk_size=100, as_of=AS_OF + timedelta(hours=1))

    # when
    stale = score_recompute_chunk(old.chunk_set.get().pk, TOKYO)
    fresh = score_recompute_chunk(new.chunk_set.get().pk, TOKYO)

    # then
    assert (stale.superseded, stale.written, stale.finished_run) == (True, 0, False)
    assert (fresh.written, fresh.finished_run) == (10, True)
    assert set(SegmentSize.objects.values_list("computed_at", flat=True)) == {
        AS_OF + timedelta(hours=1)
    }
    assert scored().count() == 10


def test_an_empty_store_finishes_its_run_at_once(db):
    # when
    run = start_recompute(TOKYO, chunk_size=100, as_of=AS_OF)

    # then
    assert (run.chunks, run.scored) == (0, 0)
    assert run.finished_at is not None
    assert not scored().exists()


def test_a_chunk_size_below_one_is_refused(db):
    with pytest.raises(ValueError, match="chunk_size: must be at least 1"):
        start_recompute(TOKYO, chunk_size=0)


RENAMED = parse_segment_map(
    "VIP: R 4-5; F 4-5\nRegulars: R 1-3; F 4-5\nNewcomers: R 4-5; F 1-3\nSleeping: R 1-3; F 1-3"
)


def test_scores_are_named_by_the_store_segment_map(store):
    # when
    recompute_rfm(TOKYO, as_of=AS_OF, segments=RENAMED)

    # then
    best = scored().get(profile__order_count=10)
    worst = scored().get(profile__order_count=1)
    assert (best.segment, worst.segment) == ("VIP", "Sleeping")
    assert set(SegmentSize.objects.values_list("segment", flat=True)) <= set(RENAMED)


def test_tasks_name_segments_by_the_plugin_setting(store, settings):
    # given: the merchant's map in the plugin configuration
    text = "\n".join(
        f"{name}: R {min(r)}-{max(r)}; F {min(f)}-{max(f)}" for name, (r, f) in RENAMED.items()
    )
    settings.CRM_CONFIG = {"store-time-zone": "Asia/Tokyo", "rfm-segments": text}

    # when
    recompute_rfm_task.delay().get()

    # then
    assert set(scored().values_list("segment", flat=True)) <= set(RENAMED)
    assert scored().get(profile__order_count=10).segment == "VIP"


def test_fixed_bins_score_even_two_customers_and_rescoring_keeps_to_them(store):
    from saleor_crm_plugin.customers.ingest import digest_for
    from saleor_crm_plugin.segments.bins import parse_fixed_bins

    # given: the store scores USD by its own bins (JPY has no M line: quintiles)
    bins = parse_fixed_bins("R 30 60 90 180\nF 2 3 5 10\nM USD 5 20 50 100")

    # when
    report = recompute_rfm(TOKYO, as_of=AS_OF, bins=bins)

    # then: the two USD customers (too few for quintiles) are scored by the bins
    methods = dict(ScoreCutPoints.objects.values_list("group", "method"))
    assert methods == {"JPY": "quintiles", "USD": "fixed"}
    assert report.unscored_groups == ()
    usd = {key: value for key, value in _scores().items() if key[1] == "USD"}
    # one order each of 10.00, placed at T0, 200 days before: R 1, F 1, M 2
    assert set(usd.values()) == {(1, 1, 2, "Lost")}

    # when: one of them orders twice more today; rescoring at once uses the same bins
    ingest_orders(
        [
            order(
                f"u0-{n}",
                email="u0@example.com",
                currency="USD",
                total="30.00",
                placed_at=AS_OF - timedelta(hours=1),
            )
            for n in range(2)
        ]
    )
    profile = CustomerProfile.objects.get(email_digest=digest_for("u0@example.com"))
    rescore_profiles([profile.pk], TOKYO, as_of=AS_OF)

    # then: 3 orders (F 3), 70.00 (M 4), today (R 5)
    assert _scores()[(profile.email_digest, "USD")][:3] == (5, 3, 4)

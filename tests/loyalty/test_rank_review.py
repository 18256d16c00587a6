"""Ranks evaluated in batches: the review's chunk tasks, the what-if preview against the save
that follows it, and the index the figures are read from (PostgreSQL)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from freezegun import freeze_time

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.membership import (
    counted_orders,
    draft_settings,
    evaluate_ranks,
    in_window,
    pin_rank,
    preview_ladder,
    rank_counts,
    save_rank_settings,
)
from saleor_crm_plugin.loyalty.models import MemberRank, RankChange
from saleor_crm_plugin.sandbox.models import SandboxUser
from saleor_crm_plugin.tasks import (
    apply_rank_settings_task,
    review_ranks_chunk_task,
    review_ranks_task,
)
from tests.factories import order

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CURRENT = "Regular (R)\nSilver (S): orders 2\nGold (G): orders 4\nVIP (V): orders 6"
DRAFT = "Regular (R)\nSilver (S): orders 1\nGold (G): orders 3"


@pytest.fixture(autouse=True)
def _store(settings):
    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "ranks": CURRENT,
        "rank-window": "lifetime",
        "points-bonuses": "",
    }
    reset_host()


def _customer(name: str, orders: int, first: datetime, *, rank: bool = True) -> int:
    user = SandboxUser.objects.create(
        email=f"{name}@example.com", date_joined=first, updated_at=first
    )
    snapshots = [
        order(
            f"{name}-{number}",
            user_id=str(user.pk),
            email=user.email,
            placed_at=first + number * DAY,
            paid="1000",
        )
        for number in range(orders)
    ]
    profile_id = ingest_orders(snapshots).profile_ids[0]
    if rank:
        evaluate_ranks(get_host().config(), [profile_id], first + orders * DAY)
    return profile_id


def _codes() -> dict[str, str]:
    """The rank each customer holds, by name (those with one)."""
    names = {str(user.pk): user.email.split("@")[0] for user in SandboxUser.objects.all()}
    return {
        names[user_id]: code
        for user_id, code in MemberRank.objects.values_list("profile__user_id", "code")
    }


def _five_customers() -> dict[str, int]:
    """Ann: Gold, buying lately. Bob: Silver pinned VIP by staff. Cai: Gold, nothing for months.
    Dee: Regular with one order. Eve: three orders from a backfill, no rank yet."""
    recent, quiet = NOW - 20 * DAY, NOW - 150 * DAY
    ids = {
        "ann": _customer("ann", 4, recent),
        "bob": _customer("bob", 2, recent),
        "cai": _customer("cai", 4, quiet),
        "dee": _customer("dee", 1, recent),
        "eve": _customer("eve", 3, recent, rank=False),
    }
    pin_rank(
        get_host().config(),
        CustomerProfile.objects.get(pk=ids["bob"]),
        "V",
        "founding member",
        NOW - DAY,
        actor="staff:1",
    )
    return ids


def test_a_batch_gives_each_customer_the_rank_and_record_one_at_a_time_would():
    # given: three customers with orders and no rank yet
    first = NOW - 30 * DAY
    ids = [
        _customer(name, count, first, rank=False) for name, count in (("a", 1), ("b", 2), ("c", 4))
    ]

    # when: one batch evaluates them all
    changed = evaluate_ranks(get_host().config(), ids, NOW)

    # then: each got a first rank, recorded with the orders that decided it, newest first
    assert changed == sorted(ids)
    assert _codes() == {"a": "R", "b": "S", "c": "G"}
    records = {
        change.profile_id: change for change in RankChange.objects.filter(profile_id__in=ids)
    }
    assert [(records[i].from_code, records[i].to_code) for i in ids] == [
        ("", "R"),
        ("", "S"),
        ("", "G"),
    ]
    assert records[ids[0]].reason == "the starting rank"
    assert records[ids[2]].reason == "upgrade: Gold (any: orders 4 / 4)"
    assert records[ids[2]].order_ids == ["c-3", "c-2", "c-1", "c-0"]
    # evaluating again changes nothing and writes nothing
    assert evaluate_ranks(get_host().config(), ids, NOW) == []
    assert RankChange.objects.filter(profile_id__in=ids).count() == 3


def test_the_preview_counts_what_saving_the_table_then_does(django_capture_on_commit_callbacks):
    # given
    ids = _five_customers()
    config = get_host().config()
    assert _codes()["bob"] == "V"
    _, draft = draft_settings(config, DRAFT, None, 3)

    # when: the what-if of a table without VIP, where three quiet months cost a rank
    preview = preview_ladder(config, draft, NOW, batch=2)

    # then: Ann keeps Gold; Bob's pin is to a rank the draft drops, so his two orders make him
    # Silver; Cai drops one rank for inactivity; Dee and Eve move up
    assert [(m.code, m.now, m.draft, m.up, m.down) for m in preview] == [
        ("R", 2, 0, 0, 0),
        ("S", 0, 3, 1, 2),
        ("G", 2, 2, 1, 0),
    ]

    # when: saving it, the review of everyone runs (eagerly, in chunk tasks of two ids)
    with freeze_time(NOW), django_capture_on_commit_callbacks(execute=True):
        save_rank_settings(
            get_host(),
            ranks=DRAFT,
            window=None,
            inactive_months=3,
            version=config.loyalty.ladder_version,
            actor="staff:1",
            now=NOW,
        )

    # then: everyone holds the rank the preview counted
    assert rank_counts() == {"S": 3, "G": 2}
    assert _codes() == {"ann": "G", "bob": "S", "cai": "S", "dee": "S", "eve": "G"}
    bob = MemberRank.objects.get(profile_id=ids["bob"])
    assert (bob.pin_code, bob.pin_reason, bob.pinned_by) == ("", "", "")
    cai = RankChange.objects.filter(profile_id=ids["cai"]).last()
    assert (cai.from_code, cai.to_code, cai.reason) == ("G", "S", "inactive 3 months")
    assert cai.rule_version == get_host().config().loyalty.ladder_version


def test_the_review_after_a_save_runs_in_chunk_tasks_and_again_changes_nothing(settings):
    # given
    settings.CRM_RECOMPUTE_CHUNK_SIZE = 2
    ids = _five_customers()
    config = get_host().config()
    values, _ = draft_settings(config, DRAFT, None, 3)
    with freeze_time(NOW):
        get_host().update_settings(lambda current: values)
    version = get_host().config().loyalty.ladder_version
    low, high = min(ids.values()), max(ids.values())

    # when
    with freeze_time(NOW):
        started = apply_rank_settings_task.delay(version).get()
    changes = RankChange.objects.count()
    with freeze_time(NOW):
        again = apply_rank_settings_task.delay(version).get()

    # then: one chunk task per two profile ids, all of them reviewed; the second run finds
    # every rank as it should be
    assert started == {"chunks": (high - low) // 2 + 1}
    assert again == started
    assert RankChange.objects.count() == changes
    assert _codes() == {"ann": "G", "bob": "S", "cai": "S", "dee": "S", "eve": "G"}


def test_a_chunk_task_of_a_table_saved_over_since_does_nothing():
    # given
    ids = _five_customers()
    before = _codes()
    changes = RankChange.objects.count()

    # when
    result = review_ranks_chunk_task.delay(
        min(ids.values()), max(ids.values()), True, "an-older-table"
    ).get()

    # then
    version = get_host().config().loyalty.ladder_version
    assert result == {"skipped": f"the rank table is now {version}"}
    assert apply_rank_settings_task.delay("an-older-table").get() == result
    assert _codes() == before
    assert RankChange.objects.count() == changes


def test_the_periodic_review_enqueues_chunks_only_when_a_rank_is_due(settings):
    # given: Eve has orders but no rank; the others' next review is in the future
    settings.CRM_RECOMPUTE_CHUNK_SIZE = 100
    _five_customers()

    # when
    with freeze_time(NOW):
        first = review_ranks_task.delay().get()
        second = review_ranks_task.delay().get()

    # then
    assert first == {"chunks": 1}
    assert second == {"chunks": 0}
    assert _codes()["eve"] == "S"


def test_rank_figures_can_be_read_from_the_window_index():
    # given: the other index on the customer's orders is gone (inside this test's transaction)
    _customer("ann", 2, NOW - 10 * DAY)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'saleor_crm_orderrecord' "
            "AND indexdef LIKE '%(profile_id, placed_at)%'"
        )
        (other,) = cursor.fetchone()
        cursor.execute(f'DROP INDEX "{other}"')
        # what is asked is whether the index covers the query, not the planner's preference
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    figures = counted_orders().filter(in_window(NOW - 30 * DAY), profile_id__in=[1, 2])

    # when
    plan = figures.order_by().values("profile_id", "net_spend_amount").explain()

    # then: the window filter and the counted orders match the index's expression and condition
    assert "order_rank_window" in plan
    assert "Index Only Scan" in plan

"""Merging two profiles of one customer and undoing it, on PostgreSQL."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from saleor_crm_plugin.audit.models import AuditEvent
from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.merge_models import ProfileMerge
from saleor_crm_plugin.customers.merges import (
    MergeError,
    figures_of,
    merge_profiles,
    unmerge_profiles,
)
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend, OrderRecord
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.loyalty.orders import settle_loyalty
from saleor_crm_plugin.loyalty.services import balance
from tests.factories import T0, customer, order

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
STAFF = "staff:7"
CONFIG = parse_config(
    {
        "ranks": "Regular (REGULAR)\nGold (GOLD): orders 3; points x2",
        "rank-window": "lifetime",
        "points-earn-rates": "JPY: 1 per 100",
        "points-expiry": "never",
    }
)


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _feed(snapshots, now):
    result = ingest_orders(snapshots)
    settle_loyalty(CONFIG, get_host(), result.profile_ids, now)
    return result


def _state(*profiles):
    """What each profile holds: its orders, points entries and figures."""
    now = T0 + 100 * DAY
    figures = figures_of([p.pk for p in profiles], now)
    return {
        p.pk: (
            sorted(OrderRecord.objects.filter(profile=p).values_list("order_id", "merged_from")),
            sorted(PointsEntry.objects.filter(account__profile=p).values_list("key", "points")),
            balance(p.pk, now).balance + balance(p.pk, now).pending,
            figures[p.pk]["orders"],
            figures[p.pk]["spend"],
        )
        for p in profiles
    }


def _two_accounts():
    """Ann (user 1, 1 order) and her second account (user 2, 2 orders), both with points."""
    ingest_customers([customer("1", email="ann@example.com"), customer("2", email="a2@x.jp")])
    _feed([order("a1", user_id="1", email="ann@example.com", total="5000")], T0)
    _feed(
        [
            order("b1", user_id="2", email="a2@x.jp", total="3000", placed_at=T0 + DAY),
            order("b2", user_id="2", email="a2@x.jp", total="2000", placed_at=T0 + 2 * DAY),
        ],
        T0 + 2 * DAY,
    )
    return CustomerProfile.objects.get(user_id="1"), CustomerProfile.objects.get(user_id="2")


def test_a_merge_moves_the_ledger_and_records_it():
    # given
    ann, second = _two_accounts()
    # when
    merge = merge_profiles(CONFIG, second.pk, ann.pk, STAFF, reason="same person", now=T0 + 3 * DAY)
    # then
    state = _state(ann, second)
    assert state[ann.pk] == (
        [("a1", None), ("b1", second.pk), ("b2", second.pk)],
        # 1 per 100 JPY, +100 on each account's first order
        [("earn:order:a1", 150), ("earn:order:b1", 130), ("earn:order:b2", 20)],
        300,
        3,
        [{"currency": "JPY", "amount": "10000"}],
    )
    assert state[second.pk] == ([], [], 0, 0, [])
    assert not CustomerSpend.objects.filter(profile=second).exists()
    assert merge.moved["order"] == ["b1", "b2"]
    assert merge.moved["points"] == ["earn:order:b1", "earn:order:b2"]
    assert merge.before[str(second.pk)]["orders"] == 2
    assert merge.before[str(second.pk)]["pending_points"] == 150
    # the survivor's rank follows its figures at once
    assert ann.member_rank.code == "GOLD"
    events = AuditEvent.objects.filter(action=AuditEvent.CUSTOMERS_MERGED).order_by("profile_id")
    assert [(e.profile_id, e.actor, e.detail["other"]) for e in events] == sorted(
        [(ann.pk, STAFF, second.pk), (second.pk, STAFF, ann.pk)]
    )
    assert events[0].detail["moved"]["order"] == 2


def test_unmerge_restores_both_sides_including_what_came_after_the_merge():
    # given: the same history in a store that never merges, for comparison
    ann, second = _two_accounts()
    later = order("b3", user_id="2", email="a2@x.jp", total="4000", placed_at=T0 + 5 * DAY)
    refund = replace(
        order("b1", user_id="2", email="a2@x.jp", total="3000", placed_at=T0 + DAY),
        updated_at=T0 + 6 * DAY,
        refunded_amount=Decimal(1500),
        refunded_at=T0 + 6 * DAY,
    )
    own = order("a2", user_id="1", email="ann@example.com", total="1000", placed_at=T0 + 7 * DAY)
    merge = merge_profiles(CONFIG, second.pk, ann.pk, STAFF, now=T0 + 3 * DAY)
    # when: the absorbed account orders and is refunded while merged, the survivor orders
    _feed([later], T0 + 5 * DAY)
    _feed([refund], T0 + 6 * DAY)
    _feed([own], T0 + 7 * DAY)
    merged = _state(ann, second)
    unmerge_profiles(CONFIG, merge.pk, STAFF, now=T0 + 8 * DAY)
    # then: while merged, everything sat on the survivor remembering its origin
    assert merged[ann.pk][0] == [
        ("a1", None),
        ("a2", None),
        ("b1", second.pk),
        ("b2", second.pk),
        ("b3", second.pk),
    ]
    assert merged[second.pk][0] == []
    # and after the unmerge each side holds what it earned, refunds included
    state = _state(ann, second)
    assert state[ann.pk] == (
        [("a1", None), ("a2", None)],
        [("earn:order:a1", 150), ("earn:order:a2", 20)],  # Gold (x2) while merged
        170,
        2,
        [{"currency": "JPY", "amount": "6000"}],
    )
    assert state[second.pk] == (
        [("b1", None), ("b2", None), ("b3", None)],
        [
            ("earn:order:b1", 130),
            ("earn:order:b2", 20),
            ("earn:order:b3", 80),  # earned at the survivor's Gold rate while merged
            ("reverse:order:b1:65", -65),  # half of b1 refunded while merged
        ],
        165,
        3,
        [{"currency": "JPY", "amount": "7500"}],
    )
    merge.refresh_from_db()
    assert merge.unmerged_at == T0 + 8 * DAY
    assert merge.returned["order"] == ["b1", "b2", "b3"]
    assert AuditEvent.objects.filter(action=AuditEvent.CUSTOMERS_UNMERGED).count() == 2


def test_a_guest_and_the_account_of_the_same_person():
    # given: guest orders under a gmail address typed with dots, the account without them
    ingest_customers([customer("1", email="hanakosato@gmail.com")])
    _feed([order("a1", user_id="1", email="hanakosato@gmail.com")], T0)
    _feed([order("g1", email="Hanako.Sato@gmail.com", placed_at=T0 + DAY)], T0 + DAY)
    account = CustomerProfile.objects.get(user_id="1")
    guest = CustomerProfile.objects.get(user_id__isnull=True)
    # when
    merge = merge_profiles(CONFIG, guest.pk, account.pk, STAFF, evidence=["email"])
    # a later guest order of the same address while merged
    _feed([order("g2", email="Hanako.Sato@gmail.com", placed_at=T0 + 2 * DAY)], T0 + 2 * DAY)
    # then: the guest profile stays (a merge holds it) and its orders sit on the account
    assert CustomerProfile.objects.filter(pk=guest.pk).exists()
    assert sorted(
        OrderRecord.objects.filter(profile=account).values_list("order_id", "merged_from")
    ) == [("a1", None), ("g1", guest.pk), ("g2", guest.pk)]
    # when
    unmerge_profiles(CONFIG, merge.pk, STAFF)
    # then
    assert sorted(OrderRecord.objects.filter(profile=guest).values_list("order_id", flat=True)) == [
        "g1",
        "g2",
    ]
    guest.refresh_from_db()
    assert guest.order_count == 2


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("self", "intoCustomerId", "a customer cannot be merged into themselves"),
        ("merged", "customerId", "customer {b} is already merged into customer {a}"),
        ("deleted", "customerId", "customer {b} was deleted in the store"),
        (
            "guest-takes-account",
            "intoCustomerId",
            "a guest cannot take in a registered customer: merge the guest into the account",
        ),
    ],
    ids=["self", "already-merged", "deleted", "guest-takes-account"],
)
def test_refused_merges_name_the_field_and_write_nothing(case, field, message):
    # given
    ann, second = _two_accounts()
    absorbed, survivor = second.pk, ann.pk
    if case == "self":
        survivor = absorbed
    elif case == "merged":
        merge_profiles(CONFIG, second.pk, ann.pk, STAFF)
    elif case == "deleted":
        ingest_customers([customer("2", deleted=True, updated_at=T0 + 9 * DAY)])
    elif case == "guest-takes-account":
        _feed([order("g1", email="guest@example.com")], T0)
        absorbed, survivor = ann.pk, CustomerProfile.objects.get(user_id__isnull=True).pk
    merges, events = ProfileMerge.objects.count(), AuditEvent.objects.count()
    # when
    with pytest.raises(MergeError) as raised:
        merge_profiles(CONFIG, absorbed, survivor, STAFF)
    # then
    assert raised.value.field == field
    assert raised.value.message == message.format(a=ann.pk, b=second.pk)
    assert ProfileMerge.objects.count() == merges
    assert AuditEvent.objects.count() == events


def test_an_unmerge_happens_once():
    # given
    ann, second = _two_accounts()
    merge = merge_profiles(CONFIG, second.pk, ann.pk, STAFF)
    unmerge_profiles(CONFIG, merge.pk, STAFF)
    # when
    with pytest.raises(MergeError) as raised:
        unmerge_profiles(CONFIG, merge.pk, STAFF)
    # then
    assert (raised.value.field, raised.value.message) == (
        "mergeId",
        f"merge {merge.pk} was already undone",
    )
    assert AuditEvent.objects.filter(action=AuditEvent.CUSTOMERS_UNMERGED).count() == 2

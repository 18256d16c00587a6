"""Property: the state replayed for a past moment is the state the services stored at that moment.

Random histories of one customer (orders paid and refunded, points redeemed, adjusted and
expired, rank tables saved, ranks pinned and unpinned, RFM recomputed with changing bins,
period-end reviews) are driven
through the real services on PostgreSQL in time order. After every step the stored state is
read (the rank held and since when, the balance and the next expiry, the spend rows with their
scores), and at the end the replay is asked for each of those moments.
"""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend
from saleor_crm_plugin.customers.snapshots import OrderStatus
from saleor_crm_plugin.history.services import customer_state_at
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.expiry import expire_points
from saleor_crm_plugin.loyalty.membership import pin_rank, review_ranks, save_rank_settings
from saleor_crm_plugin.loyalty.models import MemberRank
from saleor_crm_plugin.loyalty.orders import settle_loyalty
from saleor_crm_plugin.loyalty.services import PointsError, adjust, balance, expiring, redeem
from saleor_crm_plugin.sandbox.models import SandboxUser
from saleor_crm_plugin.segments.bins import parse_fixed_bins
from saleor_crm_plugin.segments.services import recompute_rfm, rescore_profiles
from tests.factories import T0, order

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
TABLES = [
    "Regular (R)\nSilver (S): orders 2\nGold (G): orders 4",
    "Regular (R)\nSilver (S): spend 3000 JPY\nGold (G): orders 3 and spend 6000 JPY",
    "Regular (R)\nSilver (S): points 40; points x2",
]
BINS = [
    parse_fixed_bins("R 7 30 60 120\nF 2 3 4 6\nM JPY 1000 3000 6000 10000"),
    parse_fixed_bins("R 3 10 20 40\nF 2 4 6 8\nM JPY 2000 4000 8000 16000"),
]


@pytest.fixture(autouse=True)
def _store(settings):
    settings.CRM_CONFIG = {
        **settings.CRM_CONFIG,
        "ranks": TABLES[0],
        "rank-window": "rolling 2 months, on day 1",
        "points-earn-rates": "JPY: 1 per 100",
        "points-bonuses": "",
        "points-return-window-days": "14",
        "points-expiry": "2 months after earning",
        "rfm-scoring": "fixed",
        "rfm-fixed-bins": BINS[0].as_text(),
    }
    reset_host()


ORDER = st.tuples(
    st.just("order"),
    st.integers(5, 60).map(lambda hundreds: hundreds * 100),
    st.sampled_from(["JPY", "JPY", "JPY", "USD"]),
    st.booleans(),  # fulfilled at once (the points' return window starts)
)
EVENT = st.one_of(
    ORDER,
    st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from([3, 10])),  # tenths
    st.tuples(st.just("redeem"), st.integers(1, 80)),
    st.tuples(st.just("adjust"), st.integers(-50, 80).filter(bool)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("ranks"), st.integers(0, len(TABLES) - 1)),
    st.tuples(st.just("recompute"), st.integers(0, len(BINS) - 1)),
    st.tuples(st.just("review")),
    st.tuples(st.just("pin"), st.integers(-1, 2)),  # -1: unpin
)
# Hours between events: within a day up to about two months.
GAP = st.sampled_from([1, 5, 20, 49, 24 * 9, 24 * 20, 24 * 45])


def _stored(profile_id: int, at) -> dict:
    member = MemberRank.objects.filter(profile_id=profile_id).first()
    points = balance(profile_id, at)
    soon = expiring(profile_id, at, at + timedelta(days=3650))
    spends = {
        spend.currency: (
            spend.order_count,
            spend.total_spent_amount,
            (spend.r, spend.f, spend.m, spend.segment) if spend.segment is not None else None,
        )
        for spend in CustomerSpend.objects.filter(profile_id=profile_id)
    }
    return {
        "rank": (member.code, member.since) if member else (None, None),
        "points": (points.available, points.pending, points.debt),
        "expiring": soon[0] if soon else (0, None),
        "spends": spends,
    }


def _replayed(state) -> dict:
    scores = {score.group: score for score in state.scores}
    spends = {}
    for spend in state.spends:
        score = scores[spend.currency]
        scored = score.known and score.segment is not None
        spends[spend.currency] = (
            spend.orders,
            spend.spend,
            (score.r, score.f, score.m, score.segment) if scored else None,
        )
    return {
        "rank": (state.rank.code, state.rank.since),
        "points": (state.points.available, state.points.pending, state.points.debt),
        "expiring": (state.points.expiring_points, state.points.expiring_at),
        "spends": spends,
    }


def _run(events) -> None:
    host = get_host()
    config = host.config()
    user = SandboxUser.objects.create(email="ann@example.com", date_joined=T0, updated_at=T0)
    snapshots, refunded = [], set()
    at, profile_id, moments = T0, None, []
    for step, (gap, event) in enumerate(events):
        at += gap * HOUR
        kind = event[0]
        changed = None
        if kind == "order":
            _, total, currency, fulfilled = event
            placed = order(
                f"o{step}",
                user_id=str(user.pk),
                email=user.email,
                total=str(total if currency == "JPY" else total // 100),
                currency=currency,
                placed_at=at,
            )
            if fulfilled:
                placed = replace(placed, status=OrderStatus.FULFILLED, fulfilled_at=at)
            snapshots.append(placed)
            changed = placed
        elif kind == "refund":
            index = event[1] % len(snapshots)
            previous = snapshots[index]
            if previous.order_id not in refunded:
                refunded.add(previous.order_id)
                amount = previous.total_gross * event[2] / 10
                changed = snapshots[index] = replace(
                    previous,
                    updated_at=at,
                    paid_amount=previous.total_gross - amount,
                    refunded_amount=amount,
                    refunded_at=at,
                    status=OrderStatus.RETURNED if event[2] == 10 else previous.status,
                )
        elif kind in ("redeem", "adjust"):
            try:
                if kind == "redeem":
                    redeem(profile_id, event[1], f"redeem:{step}", at)
                else:
                    adjust(profile_id, event[1], f"adjust:{step}", at, reason="test", actor="s")
            except PointsError:
                pass  # refused: more than the customer has; nothing was written
        elif kind == "expire":
            expire_points(config, at)
        elif kind == "ranks":
            save_rank_settings(
                host,
                ranks=TABLES[event[1]],
                window=None,
                inactive_months=None,
                version=config.loyalty.ladder_version,
                actor="staff:1",
                now=at,
            )
            config = host.config()
            review_ranks(config, at, everyone=True)  # what the save's task does
        elif kind == "recompute":
            recompute_rfm(config.zone, as_of=at, segments=config.segment_map, bins=BINS[event[1]])
        elif kind == "pin":
            codes = [rank.code for rank in config.loyalty.ladder.ranks]
            code = None if event[1] < 0 else codes[event[1] % len(codes)]
            profile = CustomerProfile.objects.get(pk=profile_id)
            pin_rank(config, profile, code, "test", at, actor="staff:1")
        else:
            review_ranks(config, at)
        if changed is not None:  # as the intake pipeline does for an order event
            result = ingest_orders([changed])
            profile_id = profile_id or result.profile_ids[0]
            rescore_profiles([profile_id], config.zone, as_of=at, segments=config.segment_map)
            settle_loyalty(config, host, [profile_id], at, order_ids=[changed.order_id])
        # the scores kept current (the intake rescores on orders, the recompute every hour)
        rescore_profiles([profile_id], config.zone, as_of=at, segments=config.segment_map)
        moments.append((at, _stored(profile_id, at)))

    # when: the replay is asked for every moment afterwards
    profile = CustomerProfile.objects.get(pk=profile_id)
    for moment, stored in moments:
        state = customer_state_at(profile, moment, config, now=at)

        # then
        assert _replayed(state) == stored, moment


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=st.tuples(GAP, ORDER), events=st.lists(st.tuples(GAP, EVENT), max_size=15))
def test_the_replay_gives_the_state_stored_at_each_moment(first, events):
    reset_host()
    with transaction.atomic():
        _run([first, *events])
        transaction.set_rollback(True)

"""Rule conditions on what loyalty and subscriptions keep: rank, points balance, subscription."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.loyalty.models import MemberRank
from saleor_crm_plugin.loyalty.services import adjust, balance
from saleor_crm_plugin.segments.rules import compile_rule, validate_rule
from saleor_crm_plugin.subscriptions.schedule import Interval, Unit
from saleor_crm_plugin.subscriptions.services import Rules, act, create_subscription

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def people():
    named = {}
    for name in ("ann", "bob", "cat", "dan"):
        named[name] = CustomerProfile.objects.create(user_id=str(len(named) + 1))
    MemberRank.objects.create(profile=named["ann"], code="GOLD", since=NOW, rule_version="v")
    MemberRank.objects.create(profile=named["bob"], code="SILVER", since=NOW, rule_version="v")
    adjust(
        named["ann"].pk,
        500,
        "a",
        NOW - timedelta(days=2),
        reason="x",
        actor="staff:1",
        currency="JPY",
    )
    adjust(
        named["bob"].pk,
        80,
        "b",
        NOW - timedelta(days=2),
        reason="x",
        actor="staff:1",
        currency="JPY",
    )
    # cat's points expired (not yet written off by the expiry run): the balance says 0
    adjust(
        named["cat"].pk,
        300,
        "c",
        NOW - timedelta(days=40),
        reason="x",
        actor="staff:1",
        expires_at=NOW - timedelta(days=1),
        currency="JPY",
    )
    for name, paused in (("ann", False), ("dan", True)):
        subscription = create_subscription(
            named[name],
            channel="channel-jpy",
            currency="JPY",
            lines=[("v1", 1)],
            interval=Interval(30, Unit.DAY),
            first_delivery=date(2027, 3, 20),
            actor="user:1",
            now=NOW,
            rules=Rules(),
            zone=TOKYO,
        )
        if paused:
            act(subscription.pk, "pause", actor="user:1", now=NOW, rules=Rules(), zone=TOKYO)
    return named


def _members(rule, people):
    validate_rule(rule)
    found = CustomerProfile.objects.filter(compile_rule(rule, NOW, TOKYO))
    names = {profile.pk: name for name, profile in people.items()}
    return sorted(names[pk] for pk in found.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "rank", "op": "in", "value": ["GOLD", "PLATINUM"]}, ["ann"]),
        ({"field": "rank", "op": "in", "value": ["SILVER", "GOLD"]}, ["ann", "bob"]),
        ({"field": "points_balance", "op": "gte", "value": 100}, ["ann"]),
        ({"field": "points_balance", "op": "lt", "value": 100}, ["bob", "cat", "dan"]),
        ({"field": "points_balance", "op": "between", "value": [1, 100]}, ["bob"]),
        ({"field": "active_subscription", "op": "eq", "value": True}, ["ann"]),
        ({"field": "active_subscription", "op": "eq", "value": False}, ["bob", "cat", "dan"]),
    ],
)
def test_rank_points_and_subscription_conditions(people, rule, expected):
    assert _members(rule, people) == expected


def test_the_rule_balance_is_the_ledgers_balance(people):
    for profile in people.values():
        held = balance(profile.pk, NOW).balance
        rule = {"field": "points_balance", "op": "eq", "value": held}
        assert profile.pk in CustomerProfile.objects.filter(
            compile_rule(rule, NOW, TOKYO)
        ).values_list("pk", flat=True)

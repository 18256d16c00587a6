"""Campaign flows as data: validation with the JSON path, the built-ins, who enters on a day."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from saleor_crm_plugin.campaigns.flows import BUILT_IN, FlowError, entering, parse_flow

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = date(2026, 3, 1)  # a Sunday in Tokyo


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("key", sorted(BUILT_IN))
def test_every_built_in_flow_is_valid(key):
    flow = parse_flow(BUILT_IN[key])
    assert flow.steps
    assert flow.name == BUILT_IN[key]["name"]


def test_a_flow_is_read_with_its_steps_rewards_and_exits():
    flow = parse_flow(BUILT_IN["winback"])
    assert (flow.trigger, flow.params, flow.control_share, flow.marketing) == (
        "no_order_for",
        {"days": 90},
        0.1,
        True,
    )
    (step,) = flow.steps
    assert (step.delay_days, step.channel, step.voucher_percent, step.voucher_days) == (
        0,
        "email",
        10,
        30,
    )
    assert flow.exits == ("ordered", "consent_withdrawn", "deleted")


GOOD = {
    "name": "N",
    "trigger": {"kind": "first_order"},
    "steps": [{"delay_days": 3, "channel": "email", "template": "t"}],
}


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"name": " "}, "$.name", "is required"),
        ({"trigger": {"kind": "someday"}}, "$.trigger.kind", "'someday' is not first_order"),
        ({"trigger": {"kind": "nth_order"}}, "$.trigger.n", "is required for nth_order"),
        ({"trigger": {"kind": "nth_order", "n": 1}}, "$.trigger.n", "1 is not 2 or more"),
        ({"trigger": {"kind": "first_order", "days": 3}}, "$.trigger.days", "does not apply"),
        ({"steps": []}, "$.steps", "takes a list of one or more steps"),
        (
            {"steps": [{"delay_days": 3, "channel": "fax", "template": "t"}]},
            "$.steps[0].channel",
            "'fax' is not email, line, webhook",
        ),
        (
            {"steps": [{"delay_days": -1, "channel": "email", "template": "t"}]},
            "$.steps[0].delay_days",
            "-1 is not 0 to 730",
        ),
        (
            {
                "steps": [
                    {"delay_days": 9, "channel": "email", "template": "a"},
                    {"delay_days": 3, "channel": "email", "template": "b"},
                ]
            },
            "$.steps[1].delay_days",
            "comes before the step above it",
        ),
        (
            {
                "steps": [
                    {
                        "delay_days": 0,
                        "channel": "email",
                        "template": "t",
                        "voucher": {"percent": 150, "valid_days": 30},
                    }
                ]
            },
            "$.steps[0].voucher.percent",
            "150 is not 1 to 100",
        ),
        ({"exits": ["bored"]}, "$.exits[0]", "'bored' is not ordered"),
        ({"control_share": 0.9}, "$.control_share", "0.9 is not a share from 0 to 0.5"),
        ({"colour": "red"}, "$.colour", "is not a key of a flow"),
    ],
    ids=[
        "name",
        "kind",
        "n-missing",
        "n-small",
        "extra",
        "no-steps",
        "channel",
        "delay",
        "order",
        "voucher",
        "exit",
        "control",
        "unknown",
    ],
)
def test_a_wrong_flow_names_the_path(change, path, message):
    with pytest.raises(FlowError) as raised:
        parse_flow({**GOOD, **change})
    assert raised.value.path == path
    assert raised.value.message.startswith(message)


FACTS = pd.DataFrame(
    [
        # a: first paid order on 1 March in Tokyo (00:30 JST is 15:30 UTC the day before)
        (
            "a",
            1,
            _utc(2026, 2, 28, 15, 30),
            _utc(2026, 2, 28, 15, 30),
            _utc(2026, 2, 28, 15, 30),
            date(1990, 3, 14),
            None,
        ),
        # b: the third paid order on 1 March; last order 90 days before? no: today
        (
            "b",
            3,
            _utc(2025, 1, 5),
            _utc(2026, 3, 1, 2),
            _utc(2026, 3, 1, 2),
            date(1988, 2, 29),
            _utc(2026, 3, 31, 1),
        ),
        # c: last order 90 Tokyo days before 1 March (1 December), points expiring in 7 days
        (
            "c",
            2,
            _utc(2025, 6, 1),
            _utc(2025, 12, 1, 3),
            _utc(2025, 12, 1, 3),
            None,
            _utc(2026, 3, 8, 3),
        ),
    ],
    columns=[
        "customer_id",
        "order_count",
        "first_paid_at",
        "last_paid_at",
        "last_order_at",
        "birth_date",
        "next_expiry_at",
    ],
)


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ({"kind": "first_order"}, ["a"]),
        ({"kind": "nth_order", "n": 3}, ["b"]),
        ({"kind": "no_order_for", "days": 90}, ["c"]),
        ({"kind": "birthday_month"}, ["a"]),
        ({"kind": "points_expiring", "days": 7}, ["c"]),
        ({"kind": "points_expiring", "days": 30}, ["b"]),
    ],
    ids=["first", "third", "dormant-90", "birthday-month", "expiring-7", "expiring-30"],
)
def test_who_enters_on_a_store_day(trigger, expected):
    flow = parse_flow({**GOOD, "trigger": trigger})
    assert entering(flow, DAY, TOKYO, facts=FACTS) == expected
    # the same figures typed as the facts read gives them (times in microseconds, UTC; birth
    # dates as datetime64, missing ones NaT) enter the same customers
    assert entering(flow, DAY, TOKYO, facts=_typed(FACTS)) == expected


def _typed(facts):
    typed = facts.copy()
    for column in ("first_paid_at", "last_paid_at", "last_order_at", "next_expiry_at"):
        typed[column] = pd.to_datetime(typed[column], utc=True).astype("datetime64[us, UTC]")
    typed["birth_date"] = pd.to_datetime(typed["birth_date"]).astype("datetime64[us]")
    return typed


@pytest.mark.parametrize(
    "trigger",
    [
        {"kind": "first_order"},
        {"kind": "nth_order", "n": 2},
        {"kind": "no_order_for", "days": 90},
        {"kind": "birthday"},
        {"kind": "birthday_month"},
        {"kind": "points_expiring", "days": 7},
    ],
    ids=lambda trigger: trigger["kind"],
)
def test_a_customer_without_the_figure_enters_nobody(trigger):
    # given: d has no paid order times, no birth date and no points expiring (all missing)
    facts = pd.DataFrame([("d", 1, pd.NaT, pd.NaT, pd.NaT, None, pd.NaT)], columns=FACTS.columns)
    flow = parse_flow({**GOOD, "trigger": trigger})

    # when / then
    assert entering(flow, DAY, TOKYO, facts=facts) == []
    assert entering(flow, DAY, TOKYO, facts=_typed(facts)) == []


def test_birthdays_before_1970_and_the_month_on_its_first_day():
    # given: e was born on 3 May 1960 (before the epoch: negative times)
    facts = pd.DataFrame(
        [("e", 1, _utc(2026, 1, 5), _utc(2026, 1, 5), _utc(2026, 1, 5), date(1960, 5, 3), None)],
        columns=FACTS.columns,
    )
    birthday = parse_flow({**GOOD, "trigger": {"kind": "birthday"}})
    month = parse_flow({**GOOD, "trigger": {"kind": "birthday_month"}})

    # when / then: the day itself, and the month on 1 May only
    assert entering(birthday, date(2026, 5, 3), TOKYO, facts=facts) == ["e"]
    assert entering(birthday, date(2026, 5, 4), TOKYO, facts=facts) == []
    assert entering(month, date(2026, 5, 1), TOKYO, facts=facts) == ["e"]
    assert entering(month, date(2026, 5, 2), TOKYO, facts=facts) == []
    assert entering(month, date(2026, 6, 1), TOKYO, facts=facts) == []


def test_a_local_day_before_1970_is_the_store_day():
    # given: f's first order at 16:00 UTC on 31 December 1969 is 1 January 1970 in Tokyo
    at = _utc(1969, 12, 31, 16)
    facts = pd.DataFrame([("f", 1, at, at, at, None, None)], columns=FACTS.columns)
    flow = parse_flow({**GOOD, "trigger": {"kind": "first_order"}})

    # when / then
    assert entering(flow, date(1970, 1, 1), TOKYO, facts=facts) == ["f"]
    assert entering(flow, date(1969, 12, 31), TOKYO, facts=facts) == []


def test_a_leap_day_birthday_is_kept_on_28_february():
    flow = parse_flow({**GOOD, "trigger": {"kind": "birthday"}})
    assert entering(flow, date(2026, 2, 28), TOKYO, facts=FACTS) == ["b"]
    assert entering(flow, date(2028, 2, 29), TOKYO, facts=FACTS) == ["b"]
    assert entering(flow, date(2028, 2, 28), TOKYO, facts=FACTS) == []


def test_event_triggers_read_the_days_events():
    events = pd.DataFrame(
        [
            ("a", "segment_entered", "At Risk"),
            ("b", "segment_entered", "Champions"),
            ("c", "rank_up", None),
            ("a", "subscription_delivery", 3),
        ],
        columns=["customer_id", "kind", "value"],
    )
    at_risk = parse_flow({**GOOD, "trigger": {"kind": "segment_entered", "segment": "At Risk"}})
    third = parse_flow({**GOOD, "trigger": {"kind": "subscription_delivery", "n": 3}})
    assert entering(at_risk, DAY, TOKYO, events=events) == ["a"]
    assert entering(
        parse_flow({**GOOD, "trigger": {"kind": "rank_up"}}), DAY, TOKYO, events=events
    ) == ["c"]
    assert entering(third, DAY, TOKYO, events=events) == ["a"]
    assert entering(at_risk, DAY, TOKYO) == []

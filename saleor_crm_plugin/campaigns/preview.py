"""What staff see before a flow goes out: how many customers its trigger selects on each of
the last days, each step's message rendered for a chosen customer (or sample values), and a
test send of one step to a staff address.

Nothing here writes: no entry, no ledger row, no voucher, no unsubscribe link that works. A
step with a voucher shows `SAMPLE_VOUCHER` (a real code is created only when the step is
sent), and the unsubscribe link points at a token the unsubscribe page refuses, so a test
email's link, followed or one-click posted by a mail client, unsubscribes nobody.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..conf import CRMConfig
from ..customers.models import CustomerProfile
from . import flows as flow_rules
from . import messages
from .models import CampaignFlow, FlowEntry, SegmentWatch
from .services import (
    CampaignError,
    CampaignRefused,
    _Context,
    customer_facts,
    day_events,
    segment_members,
)

__all__ = [
    "PREVIEW_DAYS",
    "SAMPLE_VOUCHER",
    "Entering",
    "preview_entering",
    "render_steps",
    "sample_variables",
    "send_test",
]

PREVIEW_DAYS = 7
SAMPLE_VOUCHER = "CRM-PREVIEW"
SAMPLE_NAME = "Hana"
SAMPLE_POINTS, SAMPLE_EXPIRING, SAMPLE_EXPIRING_DAYS = 1200, 300, 14
TEST_SUBJECT = "[TEST] "


@dataclass(frozen=True)
class Entering:
    """Who the trigger selects: `today`, and `days` ((day, customers), oldest first, today
    last). A segment trigger has no days (who was in the segment on a past day is not kept):
    `segment_members` is how many are in it now."""

    today: int
    days: list[tuple[date, int]]
    segment_members: int | None = None


def preview_entering(
    flow: flow_rules.Flow,
    now: datetime,
    config: CRMConfig,
    host,
    *,
    row: CampaignFlow | None = None,
    kind: str = CampaignFlow.FLOW,
    days: int = PREVIEW_DAYS,
) -> Entering:
    """How many customers `flow` would enter today and on each of the last `days` store days
    (today included), from the customers' figures now, before consent, the control group and
    the weekly cap decide who is messaged; customers who entered already count too.

    A segment send (`kind` broadcast) enters the segment's members who have not entered it yet;
    a segment-triggered flow enters those who came into the segment since it last looked (its
    first look enters nobody: the flow starts with the customers who come in after).
    """
    today = now.astimezone(config.zone).date()
    saved = row is not None and row.pk is not None
    if flow.trigger == "segment_entered":
        members = segment_members(flow.params["segment"], config, now, host)
        if kind == CampaignFlow.BROADCAST:
            entered = (
                set(FlowEntry.objects.filter(flow=row).values_list("profile_id", flat=True))
                if saved
                else set()
            )
            return Entering(len(members - entered), [], len(members))
        seen = (
            set(SegmentWatch.objects.filter(flow=row).values_list("profile_id", flat=True))
            if saved
            else set()
        )
        looked = saved and (row.decided_through is not None or bool(seen))
        return Entering(len(members - seen) if looked else 0, [], len(members))
    facts = customer_facts(now, host) if flow.trigger in flow_rules.FACT_TRIGGERS else None
    counts = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        horizons = [flow.params["days"]] if flow.trigger == "rank_down_soon" else []
        events = (
            day_events(day, config, horizons) if flow.trigger in flow_rules.EVENT_TRIGGERS else None
        )
        entering = flow_rules.entering(flow, day, config.zone, facts=facts, events=events)
        counts.append((day, len(entering)))
    return Entering(counts[-1][1], counts)


@dataclass(frozen=True)
class _PreviewSend:
    """What `messages.variables_for` reads of a ledger row, for a row that is never written."""

    pk: int
    key: str
    flow_id: int | None
    profile_id: int
    step: int
    channel: str
    voucher_code: str
    voucher_ends_at: datetime | None
    entry_id: int | None = None  # no entry: a restock preview names no product


def _unsubscribe_url(host) -> str:
    """A link to the unsubscribe page that unsubscribes nobody (the page refuses the token)."""
    return host.absolute_url("campaigns/unsubscribe/preview")


def _voucher_ends(step: flow_rules.Step, now: datetime) -> datetime | None:
    return now + timedelta(days=step.voucher_days) if step.voucher_percent else None


def sample_variables(flow: flow_rules.Flow, index: int, now: datetime, config, host) -> dict:
    """Every template variable (`messages.variables_for`) with sample values."""
    step = flow.steps[index]
    ranks = config.loyalty.ladder.ranks
    ends = _voucher_ends(step, now)
    return {
        "name": SAMPLE_NAME,
        "rank": ranks[-1].name if ranks else "",
        "points": SAMPLE_POINTS,
        "expiring_points": SAMPLE_EXPIRING,
        "expiring_on": (now + timedelta(days=SAMPLE_EXPIRING_DAYS)).astimezone(config.zone).date(),
        "voucher_code": SAMPLE_VOUCHER if step.voucher_percent else "",
        "voucher_percent": step.voucher_percent,
        "voucher_ends_on": ends.astimezone(config.zone).date() if ends else None,
        "flow": flow.name,
        "unsubscribe_url": _unsubscribe_url(host),
    }


def _customer_variables(
    flow, row: CampaignFlow, profile: CustomerProfile, now, config, host
) -> dict[int, dict]:
    """Each step's variables for `profile`, read as a batch would read them for its sends."""
    sends = [
        _PreviewSend(
            pk=index,
            key=f"preview:{index}",
            flow_id=row.pk,
            profile_id=profile.pk,
            step=index,
            channel=step.channel,
            voucher_code=SAMPLE_VOUCHER if step.voucher_percent else "",
            voucher_ends_at=_voucher_ends(step, now),
        )
        for index, step in enumerate(flow.steps)
    ]
    context = _Context(
        config, now, {row.pk: (row, flow)}, {}, {profile.pk: profile}, set(), set(), Counter()
    )
    found = messages.variables_for(sends, context, host)
    for variables in found.values():
        variables["unsubscribe_url"] = _unsubscribe_url(host)
    return found


def render_steps(
    flow: flow_rules.Flow,
    now: datetime,
    config: CRMConfig,
    host,
    *,
    row: CampaignFlow | None = None,
    profile: CustomerProfile | None = None,
) -> list[messages.Rendered]:
    """Each step's message as `profile` would get it (sample values without one)."""
    row = row if row is not None else CampaignFlow(slug="preview")
    if profile is None:
        variables = {
            index: sample_variables(flow, index, now, config, host)
            for index in range(len(flow.steps))
        }
    else:
        variables = _customer_variables(flow, row, profile, now, config, host)
    return [
        messages.render(step.template, variables[index]) for index, step in enumerate(flow.steps)
    ]


def send_test(
    flow: flow_rules.Flow,
    index: int,
    to: str,
    now: datetime,
    config: CRMConfig,
    host,
    *,
    row: CampaignFlow | None = None,
    profile: CustomerProfile | None = None,
) -> str:
    """Email step `index`'s message (for `profile`, or sample values) to `to`, a staff
    address, through the campaigns' own email path, its subject marked `[TEST]`; recorded
    nowhere. Return the Message-ID."""
    if not 0 <= index < len(flow.steps):
        raise CampaignError(
            "step", f"{index} is not a step of the flow (0 to {len(flow.steps) - 1})"
        )
    to = (to or "").strip()
    try:
        validate_email(to)
    except ValidationError:
        raise CampaignError("email", f"{to!r} is not an email address") from None
    rendered = render_steps(flow, now, config, host, row=row, profile=profile)[index]
    rendered = messages.Rendered(TEST_SUBJECT + rendered.subject, rendered.text, rendered.html)
    key = f"test:{uuid.uuid4().hex}"
    from contextlib import closing

    from .transports import email_connection, from_email, send_email

    message = messages.email_message(key, rendered, to, _unsubscribe_url(host), from_email(config))
    with closing(email_connection(config)) as connection:
        outcome = send_email(connection, message)
    if not outcome.ok:
        raise CampaignRefused(
            "email",
            f"the mail server did not take it: {outcome.error} ({outcome.code})",
            "send_failed",
        )
    return message.extra_headers["Message-ID"]

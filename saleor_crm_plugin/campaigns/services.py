"""Campaign flows at work: who enters, the send ledger, sending due steps exactly once, exits,
unsubscribes and the report.

The life of a message:

1. `decide` (hourly, beat) decides who enters each switched-on flow on the store's recent
   days (`flows.entering` over one frame of every customer's figures and the day's events).
   An entry is unique per flow, customer and occasion (their first order, the dormancy after
   one last order, a birthday's year, a points expiry date ...), so deciding a day again, or a
   day missed, enters nobody twice. Each entry gets its ledger rows at once, one per step
   (`CampaignSend`, key "<entry>:<step>"), due after the step's delay inside the send window,
   spread over the window by a fixed share per customer so a big segment does not go out at
   the same minute. A held-back (control) entry's rows are the same, and are recorded `held`.
2. `dispatch` (every minute, beat) enqueues the due rows of the switched-on flows (a flow
   switched off is paused: its due rows wait until it is on again) in batches of ids, one Celery task
   a batch, only inside the send window (quiet hours), and marks them queued so the next
   minute does not enqueue them again; a batch whose worker died is enqueued again after
   `STALE` (15 minutes; the setting CRM_CAMPAIGN_STALE_SECONDS changes it).
3. `send_batch` claims its rows (`sending`, committed), checks each against the flow's exits
   (ordered again, left the segment, consent withdrawn, deleted), consent and unsubscribes, the
   weekly cap and the address, gives the step's reward (points, a voucher created through the
   host, both once per row), sends through the channel and marks each row `sent` right after
   the channel accepted it. A worker killed mid-batch leaves its unsent rows `sending`; they are
   claimed again after `STALE`, so every message goes out, and the one in flight when it died
   may go twice (with the same Message-ID): at most one per killed worker.
"""

import hashlib
import logging
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ..conf import CRMConfig
from ..customers.models import CustomerProfile, CustomerSpend, OrderRecord
from ..errors import FieldError
from ..loyalty.models import MemberRank, PointsLot, RankChange
from ..rows import add_rows, new_ids
from ..subscriptions.models import Cycle
from . import flows as flow_rules
from .control import Arm, held_back, lift
from .models import CampaignFlow, CampaignSend, FlowEntry, SegmentWatch, Unsubscribe
from .schedule import send_at, spread, step_due

logger = logging.getLogger(__name__)

__all__ = [
    "BATCH_SIZE",
    "CampaignError",
    "CampaignRefused",
    "decide",
    "delete_flow",
    "dispatch",
    "flow_report",
    "install_built_in",
    "save_flow",
    "send_batch",
    "sends_per_day",
    "unsubscribe",
    "unsubscribe_token",
]

BATCH_SIZE = 500  # sends per Celery task
MAX_BATCHES = 400  # batches one dispatch enqueues (the next minute takes the rest)
STALE = timedelta(minutes=15)  # a batch not done after this is taken again (the default)
LOOKBACK_DAYS = 2  # recent days decided again (an order paid late still enters)
CATCH_UP_DAYS = 7  # missed days decided at most
RETRY_AFTER = timedelta(minutes=15)  # a send the channel refused for now is tried again
MAX_ATTEMPTS = 3
UNSUBSCRIBE_SALT = "saleor-crm.unsubscribe"


class CampaignError(FieldError):
    """A flow, template or request is wrong; `field` names the input (with a JSON path)."""


class CampaignRefused(CampaignError):
    """A right request that cannot be done now; `code` says why (enabled, busy, send_failed)."""

    def __init__(self, field: str, message: str, code: str):
        super().__init__(field, message)
        self.code = code


def stale_after() -> timedelta:
    """How long a claimed batch may take before its rows are taken again (its worker died):
    the Django setting CRM_CAMPAIGN_STALE_SECONDS, else `STALE` (15 minutes). It must exceed
    the longest a live batch takes, or a slow batch is sent twice; the crash benchmark sets
    it short so a killed worker's rows come back within the run."""
    seconds = getattr(settings, "CRM_CAMPAIGN_STALE_SECONDS", None)
    return STALE if seconds is None else timedelta(seconds=int(seconds))


def _in_window(now: datetime, config: CRMConfig) -> bool:
    local = now.astimezone(config.zone)
    start, end = config.campaign_send_window
    return start <= local.hour * 60 + local.minute < end


# --- flows ----------------------------------------------------------------------------------


def _check_references(flow: flow_rules.Flow, config: CRMConfig) -> None:
    from ..segments.rule_services import rule_of_segment

    if flow.trigger == "segment_entered":
        name = flow.params["segment"]
        if name not in config.segment_names and rule_of_segment(name, config.dormant_days) is None:
            raise CampaignError(
                "definition.$.trigger.segment", f"{name!r} is no RFM, built-in or saved segment"
            )
    from . import messages

    for index, step in enumerate(flow.steps):
        if not messages.template_exists(step.template):
            raise CampaignError(
                f"definition.$.steps[{index}].template", f"there is no template {step.template!r}"
            )


def parse(definition, config: CRMConfig) -> flow_rules.Flow:
    """Validate a flow's definition (`CampaignError` with the JSON path of the problem)."""
    try:
        flow = flow_rules.parse_flow(definition)
    except flow_rules.FlowError as error:
        raise CampaignError(f"definition.{error.path}", error.message) from None
    _check_references(flow, config)
    return flow


def check_kind(kind: str, flow: flow_rules.Flow) -> None:
    """A flow is of kind flow or broadcast; a broadcast (segment send) names its segment."""
    if kind not in (CampaignFlow.FLOW, CampaignFlow.BROADCAST):
        raise CampaignError("kind", f"{kind!r} is not flow or broadcast")
    if kind == CampaignFlow.BROADCAST and flow.trigger != "segment_entered":
        raise CampaignError("definition.$.trigger.kind", "a segment send names its segment")


def save_flow(
    slug: str,
    definition,
    config: CRMConfig,
    *,
    enabled: bool | None = None,
    kind: str = CampaignFlow.FLOW,
    now: datetime | None = None,
) -> CampaignFlow:
    """Create or change a flow (validated first: nothing is written when it is wrong)."""
    slug = (slug or "").strip()
    if not slug or len(slug) > 64 or not all(c.isalnum() or c in "-_" for c in slug):
        raise CampaignError("slug", "use 1-64 letters, digits, '-' or '_'")
    flow = parse(definition, config)
    check_kind(kind, flow)
    now = now or timezone.now()
    with transaction.atomic():
        row = CampaignFlow.objects.select_for_update().filter(slug=slug).first()
        if row is None:
            row = CampaignFlow(slug=slug, kind=kind)
        elif row.kind != kind:
            raise CampaignError("kind", f"{slug!r} is a {row.kind}")
        row.definition = definition
        if enabled is not None and enabled != row.enabled:
            row.enabled = enabled
            row.enabled_at = now if enabled else row.enabled_at
        row.save()
    return row


def install_built_in(name: str, config: CRMConfig) -> CampaignFlow:
    """Install a built-in flow (switched off) under its own slug; an installed one is kept."""
    if name not in flow_rules.BUILT_IN:
        raise CampaignError("builtIn", f"{name!r} is not {', '.join(flow_rules.BUILT_IN)}")
    row = CampaignFlow.objects.filter(slug=name).first()
    if row is not None:
        return row
    row = save_flow(name, flow_rules.BUILT_IN[name], config)
    CampaignFlow.objects.filter(pk=row.pk).update(built_in=name)
    row.built_in = name
    return row


def delete_flow(slug: str) -> None:
    """Delete a switched-off flow with its entries, its send ledger and so its report; its
    pending sends are cancelled with it. Refused while it is on (it would enter customers
    meanwhile) and while a worker holds one of its sends (`sending`: that message may be on
    its way), so a deleted flow never has a message in flight."""
    with transaction.atomic():
        row = CampaignFlow.objects.select_for_update().filter(slug=slug).first()
        if row is None:
            raise CampaignError("slug", f"there is no flow {slug!r}")
        if row.enabled:
            raise CampaignRefused(
                "slug", f"{slug!r} is switched on: switch it off first", "enabled"
            )
        if CampaignSend.objects.filter(flow=row, status=CampaignSend.SENDING).exists():
            raise CampaignRefused(
                "slug",
                f"a worker is sending {slug!r}'s messages now: try again in a few minutes",
                "busy",
            )
        # the ledger first, in one statement (a send has nothing of its own to cascade to)
        CampaignSend.objects.filter(flow=row).delete()
        row.delete()


# --- who enters -----------------------------------------------------------------------------

FACT_COLUMNS = [
    "customer_id",
    "order_count",
    "first_paid_at",
    "last_paid_at",
    "last_order_at",
    "birth_date",
    "next_expiry_at",
]


# PostgreSQL: one pass over the profiles, hash-joined with the users who have a birth date and
# with the accounts whose next points expire in time; times as microseconds since the epoch
# (numbers parse far faster than timestamps). At 1M customers the correlated lookups this
# replaces (the user, then the lots, one of each per profile) took 15 s of PostgreSQL's time;
# the joins take about 4 s (bench/campaign_entry.py).
_FACTS = """
SELECT p.id, p.order_count, {first}, {last}, u.crm_value, {expiry}
FROM {profiles} p
LEFT JOIN ({users}) u ON u.crm_id = p.user_id
LEFT JOIN (
    SELECT a.profile_id, min(l.expires_at) AS expires_at
    FROM {lots} l JOIN {accounts} a ON a.id = l.account_id
    WHERE l.remaining > 0 AND l.expires_at > %s AND l.expires_at < %s
    GROUP BY a.profile_id
) e ON e.profile_id = p.id
WHERE p.anonymized_at IS NULL AND p.order_count > 0
"""


def _microseconds(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def customer_facts(now: datetime, host, expiring_before: datetime | None = None) -> pd.DataFrame:
    """One row per live customer: the figures `flows.entering` reads (see there).

    `next_expiry_at` is their first points expiry after `now` and before `expiring_before`
    (missing when there is none in between; None: any later expiry), so a decision reads
    only the lots its points flows can act on.
    """
    from django.db.models import Min, OuterRef, Subquery

    until = expiring_before or datetime.max.replace(tzinfo=UTC)
    # The profile keeps the figures as of its latest order, which are those of `now` unless
    # orders were placed after it (a decision replayed for a past day, as the sandbox demo
    # does): then they are counted from the orders placed up to `now`, through the ORM.
    replay = OrderRecord.objects.filter(counts=True, placed_at__gt=now).exists()
    if connection.vendor == "postgresql" and not replay:
        from ..analytics.frames import copy_frame
        from ..loyalty.models import PointsAccount

        users_sql, users_params = host.user_values("birth_date").query.sql_with_params()
        sql = _FACTS.format(
            first=_microseconds("p.first_order_at"),
            last=_microseconds("p.last_order_at"),
            expiry=_microseconds("e.expires_at"),
            profiles=CustomerProfile._meta.db_table,
            users=users_sql,
            lots=PointsLot._meta.db_table,
            accounts=PointsAccount._meta.db_table,
        )
        frame = copy_frame(
            sql,
            [*users_params, now, until],
            [
                "customer_id",
                "order_count",
                "first_paid_at",
                "last_order_at",
                "birth_date",
                "next_expiry_at",
            ],
            {
                "customer_id": "int64",
                "order_count": "int64",
                "first_paid_at": "float64",
                "last_order_at": "float64",
                "birth_date": "string",
                "next_expiry_at": "float64",
            },
        )
        for column in ("first_paid_at", "last_order_at", "next_expiry_at"):
            frame[column] = pd.to_datetime(frame[column], unit="us", utc=True)
    else:
        expiry = (
            PointsLot.objects.filter(
                account__profile=OuterRef("pk"),
                remaining__gt=0,
                expires_at__gt=now,
                expires_at__lt=until,
            )
            .values("account__profile")
            .annotate(first=Min("expires_at"))
            .values("first")[:1]
        )
        rows = CustomerProfile.objects.filter(anonymized_at__isnull=True).annotate(
            crm_birth=host.user_sort_expression("birth_date"), crm_expiry=Subquery(expiry)
        )
        if replay:
            counted = OrderRecord.objects.filter(
                profile=OuterRef("pk"), counts=True, placed_at__lte=now
            )
            rows = rows.annotate(
                crm_count=Subquery(
                    counted.values("profile").annotate(n=Count("pk")).values("n")[:1]
                ),
                crm_first=Subquery(counted.order_by("placed_at").values("placed_at")[:1]),
                crm_last=Subquery(counted.order_by("-placed_at").values("placed_at")[:1]),
            ).filter(crm_count__gt=0)
            figures = ("crm_count", "crm_first", "crm_last")
        else:
            rows = rows.filter(order_count__gt=0)
            figures = ("order_count", "first_order_at", "last_order_at")
        rows = rows.values_list("pk", *figures, "crm_birth", "crm_expiry")
        frame = pd.DataFrame(
            list(rows),
            columns=[
                "customer_id",
                "order_count",
                "first_paid_at",
                "last_order_at",
                "birth_date",
                "next_expiry_at",
            ],
        )
        for column in ("first_paid_at", "last_order_at", "next_expiry_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    frame["last_paid_at"] = frame["last_order_at"]
    frame["birth_date"] = pd.to_datetime(frame["birth_date"], errors="coerce", format="%Y-%m-%d")
    return frame[FACT_COLUMNS]


def _ranks_down_soon(day: date, days: int, config: CRMConfig) -> list[tuple]:
    """Members whose rank is reviewed on the local day `days` after `day` and whom the review
    would move down were their figures to stay as they are: (customer, "rank_down_soon", days,
    occasion). Pinned ranks are left out (a pin holds through a review)."""
    from ..loyalty.membership import NO_FIGURES, held_code, window_figures
    from ..loyalty.ranks import decide as decide_rank

    zone, ladder = config.zone, config.loyalty.ladder
    start = datetime.combine(day + timedelta(days=days), datetime.min.time(), tzinfo=zone)
    members = list(
        MemberRank.objects.filter(
            review_at__gte=start, review_at__lt=start + timedelta(days=1), pin_code=""
        ).select_related("profile")
    )
    if not members:
        return []
    # the window as it will stand at the review, holding the orders placed so far
    figures = window_figures(ladder, zone, start, [m.profile_id for m in members])
    rows = []
    for member in members:
        code = held_code(config.loyalty, member)
        if code is None or code not in ladder.codes or ladder.index(code) == 0:
            continue
        after = decide_rank(
            ladder,
            code,
            figures.get(member.profile_id, NO_FIGURES),
            member.review_at,
            period_end=True,
            last_order_at=member.profile.last_order_at,
            zone=zone,
        )
        if ladder.index(after.code) < ladder.index(code):
            review = member.review_at.astimezone(zone).date().isoformat()
            rows.append((member.profile_id, "rank_down_soon", days, f"rankdue:{review}"))
    return rows


def day_events(day: date, config: CRMConfig, horizons=()) -> pd.DataFrame:
    """The day's rank changes, subscription deliveries, restocks due and (for each of
    `horizons`, days to a rank review) ranks about to go down: customer_id, kind, value,
    occasion."""
    zone = config.zone
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=1)
    ladder = config.loyalty.ladder
    rows = []
    for pk, profile_id, before, after in RankChange.objects.filter(
        at__gte=start, at__lt=end
    ).values_list("pk", "profile_id", "from_code", "to_code"):
        if before and before in ladder.codes and after in ladder.codes and before != after:
            up = ladder.index(after) > ladder.index(before)
            rows.append((profile_id, "rank_up" if up else "rank_down", after, f"rank:{pk}"))
    for subscription_id, profile_id, sequence in Cycle.objects.filter(
        delivery_on=day, status=Cycle.Status.ORDERED
    ).values_list("subscription_id", "subscription__profile_id", "sequence"):
        rows.append(
            (profile_id, "subscription_delivery", sequence, f"sub:{subscription_id}:{sequence}")
        )
    rows.extend(_restocks_due(start, end))
    for days in sorted(set(horizons)):
        rows.extend(_ranks_down_soon(day, days, config))
    return pd.DataFrame(rows, columns=["customer_id", "kind", "value", "occasion"])


def _restocks_due(start: datetime, end: datetime) -> list[tuple]:
    """Customers whose usual interval for a repeat product (the repeat report in force: repeat
    rate at least the recommendations' threshold) ends within [start, end) since they last
    bought it in that channel: (customer, "restock_due", product, occasion)."""
    from ..analytics.models import ProductRepeatRow
    from ..analytics.recommend_services import REPEAT_THRESHOLD
    from ..customers.models import OrderLineRecord

    rows = []
    for channel, product, interval in (
        ProductRepeatRow.objects.filter(
            run__in_force=True,
            level="product",
            first_month="",
            repeat_interval_days__isnull=False,
            repeat_rate__gte=REPEAT_THRESHOLD,
        )
        .exclude(channel="")
        .values_list("channel", "item", "repeat_interval_days")
    ):
        gap = timedelta(days=float(interval))
        last = (
            OrderLineRecord.objects.filter(
                product_id=product, order__channel=channel, order__counts=True
            )
            .values("order__profile_id")
            .annotate(last=Max("order__placed_at"))
            .filter(last__gte=start - gap, last__lt=end - gap)
            .values_list("order__profile_id", "last")
        )
        for profile_id, at in last:
            if profile_id is not None:
                occasion = f"restock:{product}:{at.date().isoformat()}"
                rows.append((profile_id, "restock_due", product, occasion[:64]))
    return rows


def segment_members(name: str, config: CRMConfig, now: datetime, host) -> set[int]:
    """The profile ids in a segment now: an RFM segment (any currency), a built-in or saved
    rule segment."""
    from ..segments.rule_services import members, rule_of_segment

    if name in config.segment_names:
        return set(
            CustomerSpend.objects.filter(segment=name, profile_active=True).values_list(
                "profile_id", flat=True
            )
        )
    rule = rule_of_segment(name, config.dormant_days)
    if rule is None:
        return set()
    return set(members(rule, config, now, host).values_list("pk", flat=True))


def _watch(row: CampaignFlow, name: str, config, now, host) -> tuple[list[int], list[int]]:
    """(entered, left) the segment since the flow last looked, and remember who is in now.
    The first look enters nobody: a flow starts with the customers who come in after."""
    current = segment_members(name, config, now, host)
    seen = set(SegmentWatch.objects.filter(flow=row).values_list("profile_id", flat=True))
    first_look = row.decided_through is None and not seen
    entered, left = sorted(current - seen), sorted(seen - current)
    SegmentWatch.objects.filter(flow=row, profile_id__in=left).delete()
    SegmentWatch.objects.bulk_create(
        [SegmentWatch(flow=row, profile_id=pk) for pk in entered], ignore_conflicts=True
    )
    return ([] if first_look else entered), left


def _occasions(flow: flow_rules.Flow, ids: list, day: date, facts, events) -> dict:
    """customer id -> (occasion, entered_at or None for the decision time)."""
    if not ids:
        return {}
    trigger = flow.trigger
    if trigger in flow_rules.EVENT_TRIGGERS:
        matching = events[events["customer_id"].isin(ids) & (events["kind"] == trigger)]
        return {
            int(c): (o, None)
            for c, o in zip(matching["customer_id"], matching["occasion"], strict=False)
        }
    chosen = facts[facts["customer_id"].isin(ids)]
    out = {}
    for row in chosen.itertuples(index=False):
        if trigger == "first_order":
            out[row.customer_id] = ("order:1", row.first_paid_at.to_pydatetime())
        elif trigger == "nth_order":
            out[row.customer_id] = (f"order:{flow.params['n']}", row.last_paid_at.to_pydatetime())
        elif trigger == "no_order_for":
            out[row.customer_id] = (f"last:{row.last_order_at.date().isoformat()}", None)
        elif trigger in ("birthday", "birthday_month"):
            out[row.customer_id] = (f"birthday:{day.year}", None)
        else:
            expiry = row.next_expiry_at.date().isoformat()
            out[row.customer_id] = (f"expiry:{expiry}", None)
    return out


def _fraction(key: str) -> float:
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


ENTRY_CHUNK = 5000  # entries written (with their ledger rows) in one transaction
_ENTRY_FIELDS = ["id", "flow", "profile", "occasion", "entered_at", "control", "exited_at"]
_SEND_FIELDS = ["key", "entry", "flow", "profile", "step", "channel", "due_at"]


def _send_rows(flow, entries, flow_id: int, now: datetime, config: CRMConfig) -> list[tuple]:
    """The ledger rows of new entries (id, profile, entered_at): one per step, due after the
    step's delay inside the send window, spread over the window by a share fixed per row."""
    rows = []
    for entry_id, profile_id, entered_at in entries:
        for index, step in enumerate(flow.steps):
            key = f"{entry_id}:{index}"
            due = send_at(
                step_due(entered_at, step.delay_days), config.zone, config.campaign_send_window
            )
            if _in_window(max(due, now), config):
                due = spread(
                    max(due, now), config.zone, config.campaign_send_window, _fraction(key)
                )
            rows.append((key, entry_id, flow_id, profile_id, index, step.channel, due))
    return rows


def _enter(row: CampaignFlow, flow, entering: dict, now: datetime, config: CRMConfig) -> int:
    """Create the entries (once per occasion) and their ledger rows; return how many entered.

    The entries already made (deciding the same days again) are read first and left alone, so
    a decision that enters nobody new writes nothing; a decision running beside this one that
    entered a customer first keeps its entry (the unique occasion) and ledger rows.
    """
    share = flow.control_share
    # an order placed after `now` (a decision replayed for a past day) enters on a later run
    customers = sorted(c for c, (_occasion, at) in entering.items() if at is None or at <= now)
    created = 0
    for start in range(0, len(customers), ENTRY_CHUNK):
        part = customers[start : start + ENTRY_CHUNK]
        with transaction.atomic():
            known = set(
                FlowEntry.objects.filter(flow=row, profile_id__in=part).values_list(
                    "profile_id", "occasion"
                )
            )
            new = [c for c in part if (c, entering[c][0]) not in known]
            if not new:
                continue
            ids = new_ids(FlowEntry, len(new))
            entries = {
                pk: (
                    customer,
                    entering[customer][0],
                    entering[customer][1] or now,
                    held_back(str(customer), row.slug, share) if share else False,
                )
                for pk, customer in zip(ids, new, strict=True)
            }
            add_rows(
                FlowEntry,
                [*_ENTRY_FIELDS, "exit_reason"],
                [(pk, row.pk, *values, None, "") for pk, values in entries.items()],
                unique=["flow", "profile", "occasion"],
            )
            written = sorted(FlowEntry.objects.filter(pk__in=ids).values_list("pk", flat=True))
            sends = _send_rows(
                flow,
                [(pk, entries[pk][0], entries[pk][2]) for pk in written],
                row.pk,
                now,
                config,
            )
            add_rows(
                CampaignSend,
                [
                    *_SEND_FIELDS,
                    "status",
                    "reason",
                    "error",
                    "claim",
                    "attempts",
                    "points",
                    "voucher_code",
                ],
                [(*send, CampaignSend.PENDING, "", "", "", 0, 0, "") for send in sends],
                unique=["key"],
            )
            created += len(written)
    return created


def _expiring_before(rows, today: date, config: CRMConfig) -> datetime:
    """The end of the last expiry day a decision's points flows can act on: a flow of N days
    enters on day D the customers whose points expire on D + N, and D is today at the latest
    (the start of today when no flow is about expiring points: no lot is read)."""
    days = [
        flow.params["days"]
        for flow in (flow_rules.parse_flow(row.definition) for row in rows)
        if flow.trigger == "points_expiring"
    ]
    if not days:
        return datetime.combine(today, datetime.min.time(), tzinfo=config.zone)
    last = today + timedelta(days=max(days) + 1)
    return datetime.combine(last, datetime.min.time(), tzinfo=config.zone)


def _fact_flows(rows) -> bool:
    return any(
        flow_rules.parse_flow(row.definition).trigger in flow_rules.FACT_TRIGGERS for row in rows
    )


def decide(now: datetime, config: CRMConfig, host, slugs=None) -> dict[str, int]:
    """Enter the customers of every switched-on flow (or of `slugs`) for the store's recent
    days; return how many entered each flow. Safe to run again: nobody enters twice."""
    rows = list(CampaignFlow.objects.filter(enabled=True, kind=CampaignFlow.FLOW))
    if slugs is not None:
        rows = [row for row in rows if row.slug in set(slugs)]
    if not rows:
        return {}
    today = now.astimezone(config.zone).date()
    facts = (
        customer_facts(now, host, _expiring_before(rows, today, config))
        if _fact_flows(rows)
        else None
    )
    events: dict[date, pd.DataFrame] = {}
    horizons = [
        flow.params["days"]
        for flow in (flow_rules.parse_flow(row.definition) for row in rows)
        if flow.trigger == "rank_down_soon"
    ]
    entered = {}
    for row in rows:
        flow = flow_rules.parse_flow(row.definition)
        first = today - timedelta(days=LOOKBACK_DAYS)
        if row.decided_through is not None:
            first = min(first, row.decided_through + timedelta(days=1))
        first = max(first, today - timedelta(days=CATCH_UP_DAYS))
        entering: dict = {}
        if flow.trigger == "segment_entered":
            came, left = _watch(row, flow.params["segment"], config, now, host)
            entering = {pk: (f"segment:{today.isoformat()}", None) for pk in came}
            _segment_webhooks(row, flow, came, left, now, config)
            if left and "left_segment" in flow.exits:
                _exit(FlowEntry.objects.filter(flow=row, profile_id__in=left), "left_segment", now)
        else:
            day = first
            while day <= today:
                if flow.trigger in flow_rules.EVENT_TRIGGERS and day not in events:
                    events[day] = day_events(day, config, horizons)
                ids = flow_rules.entering(
                    flow, day, config.zone, facts=facts, events=events.get(day)
                )
                for customer, value in _occasions(flow, ids, day, facts, events.get(day)).items():
                    entering.setdefault(customer, value)
                day += timedelta(days=1)
        entered[row.slug] = _enter(row, flow, entering, now, config)
        CampaignFlow.objects.filter(pk=row.pk).update(decided_through=today)
    return entered


def send_to_segment(row: CampaignFlow, now: datetime, config: CRMConfig, host) -> int:
    """A one-off send (kind broadcast) to the segment's members now; once per flow."""
    if row.kind != CampaignFlow.BROADCAST:
        raise CampaignError("slug", f"{row.slug!r} is a flow, not a segment send")
    flow = flow_rules.parse_flow(row.definition)
    members = segment_members(flow.params["segment"], config, now, host)
    entered = _enter(row, flow, dict.fromkeys(sorted(members), ("broadcast", None)), now, config)
    if not row.enabled:  # sending is what switches a segment send on
        CampaignFlow.objects.filter(pk=row.pk).update(enabled=True, enabled_at=now)
        row.enabled = True
    return entered


def _segment_webhooks(row, flow, came, left, now, config) -> None:
    if not getattr(config, "webhook_url", "") or not (came or left):
        return
    from .transports import enqueue_webhook

    day = now.astimezone(config.zone).date().isoformat()
    for event, ids in (("segment.entered", came), ("segment.left", left)):
        profiles = CustomerProfile.objects.filter(pk__in=ids).values_list("pk", "user_id")
        for profile_id, user_id in profiles:
            enqueue_webhook(
                config,
                event,
                {
                    "segment": flow.params["segment"],
                    "flow": row.slug,
                    "profile": profile_id,
                    "user": user_id,
                    "at": now.isoformat(),
                },
                f"{event}:{row.pk}:{profile_id}:{day}",
            )


# --- exits ----------------------------------------------------------------------------------


def _exit(entries, reason: str, now: datetime) -> int:
    ids = list(entries.filter(exited_at__isnull=True).values_list("pk", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        FlowEntry.objects.filter(pk__in=ids).update(exited_at=now, exit_reason=reason)
        CampaignSend.objects.filter(
            entry_id__in=ids, status__in=[CampaignSend.PENDING, CampaignSend.SENDING]
        ).update(status=CampaignSend.SKIPPED, reason=f"exit:{reason}")
    return len(ids)


# --- sending --------------------------------------------------------------------------------


def dispatch(now: datetime, config: CRMConfig, enqueue_batch) -> int:
    """Enqueue the due sends in batches (`enqueue_batch(ids)`), inside the send window only;
    return how many sends were enqueued."""
    if not _in_window(now, config):
        return 0
    stale = now - stale_after()
    total = 0
    for _ in range(MAX_BATCHES):
        with transaction.atomic():
            ids = list(
                CampaignSend.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    Q(status=CampaignSend.PENDING, claim="")
                    | Q(status=CampaignSend.PENDING, claimed_at__lt=stale)
                    | Q(status=CampaignSend.SENDING, claimed_at__lt=stale),
                    due_at__lte=now,
                    flow__enabled=True,
                )
                .order_by("due_at", "pk")
                .values_list("pk", flat=True)[:BATCH_SIZE]
            )
            if not ids:
                break
            # Stale claims (their worker died) go back to pending with the new batch: left
            # `sending` with their old time, the next round of this loop took them again, and
            # one dead batch went out as MAX_BATCHES tasks a minute.
            CampaignSend.objects.filter(pk__in=ids).update(
                status=CampaignSend.PENDING, claim="queued", claimed_at=now
            )
            transaction.on_commit(lambda ids=ids: enqueue_batch(ids))
        total += len(ids)
    return total


@dataclass
class _Context:
    """What one batch reads once for all its rows."""

    config: CRMConfig
    now: datetime
    flows: dict
    entries: dict
    profiles: dict
    consent: set
    unsubscribed: set
    sent_this_week: Counter
    # profile id -> when their counting orders up to `now` were placed
    orders: dict = field(default_factory=dict)


def _claim(ids, now: datetime) -> tuple[str, list[CampaignSend]]:
    claim = uuid.uuid4().hex
    with transaction.atomic():
        rows = list(
            CampaignSend.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                Q(status=CampaignSend.PENDING)
                | Q(status=CampaignSend.SENDING, claimed_at__lt=now - stale_after()),
                pk__in=list(ids),
                due_at__lte=now,
                flow__enabled=True,
            )
        )
        CampaignSend.objects.filter(pk__in=[r.pk for r in rows]).update(
            status=CampaignSend.SENDING, claim=claim, claimed_at=now
        )
    return claim, rows


def _context(rows, now: datetime, config: CRMConfig, host) -> _Context:
    flows = {
        row.pk: (row, flow_rules.parse_flow(row.definition))
        for row in CampaignFlow.objects.filter(pk__in={r.flow_id for r in rows})
    }
    entries = FlowEntry.objects.in_bulk({r.entry_id for r in rows})
    profiles = CustomerProfile.objects.in_bulk({r.profile_id for r in rows})
    user_ids = [p.user_id for p in profiles.values() if p.user_id]
    consent = set()
    if user_ids and any(flow.marketing for _row, flow in flows.values()):
        consent = set(
            CustomerProfile.objects.filter(
                pk__in=list(profiles), user_id__in=host.users_where("marketing_consent", True)
            ).values_list("user_id", flat=True)
        )
    unsubscribed = set(
        Unsubscribe.objects.filter(profile_id__in=list(profiles)).values_list(
            "profile_id", "channel"
        )
    )
    week = Counter(
        dict(
            CampaignSend.objects.filter(
                profile_id__in=list(profiles),
                status=CampaignSend.SENT,
                sent_at__gt=now - timedelta(days=7),
            )
            .values_list("profile_id")
            .annotate(n=Count("pk"))
        )
    )
    orders = defaultdict(list)
    since = min(entry.entered_at for entry in entries.values())
    for profile_id, placed_at in OrderRecord.objects.filter(
        profile_id__in=list(profiles), counts=True, placed_at__gt=since, placed_at__lte=now
    ).values_list("profile_id", "placed_at"):
        orders[profile_id].append(placed_at)
    return _Context(config, now, flows, entries, profiles, consent, unsubscribed, week, orders)


def _verdict(send: CampaignSend, context: _Context) -> tuple[str, str] | None:
    """Why this row is not sent: (status, reason), or None to send it."""
    _row, flow = context.flows[send.flow_id]
    entry, profile = context.entries[send.entry_id], context.profiles[send.profile_id]
    if entry.exited_at is not None:
        return CampaignSend.SKIPPED, f"exit:{entry.exit_reason}"
    if profile.anonymized_at is not None:
        return "exit", "deleted"
    if "ordered" in flow.exits and any(
        at > entry.entered_at for at in context.orders.get(send.profile_id, ())
    ):
        return "exit", "ordered"
    if entry.control:
        return CampaignSend.HELD, "control"
    if (send.profile_id, send.channel) in context.unsubscribed:
        return (
            ("exit", "consent_withdrawn")
            if "consent_withdrawn" in flow.exits
            else (
                CampaignSend.SKIPPED,
                "unsubscribed",
            )
        )
    if flow.marketing and (profile.user_id is None or str(profile.user_id) not in context.consent):
        if "consent_withdrawn" in flow.exits:
            return "exit", "consent_withdrawn"
        return CampaignSend.SKIPPED, "no_consent"
    if not flow.marketing and not context.config.campaign_service_notices:
        return CampaignSend.SKIPPED, "service_notices_off"
    if context.sent_this_week[send.profile_id] >= context.config.campaign_weekly_cap:
        return CampaignSend.SKIPPED, "weekly_cap"
    return None


def _finish(send: CampaignSend, claim: str, **fields) -> None:
    CampaignSend.objects.filter(pk=send.pk, claim=claim).update(**fields)


def _reward(send: CampaignSend, step, context: _Context, host) -> None:
    """The step's points and voucher, once per row (a retried row keeps its code)."""
    profile = context.profiles[send.profile_id]
    row, _flow = context.flows[send.flow_id]
    if step.points and not send.points:
        from ..loyalty.services import adjust

        adjust(
            send.profile_id,
            step.points,
            f"campaign:{send.key}",
            context.now,
            reason=f"campaign {row.slug}, step {send.step + 1}",
            actor="system:campaigns",
        )
        send.points = step.points
        CampaignSend.objects.filter(pk=send.pk).update(points=step.points)
    if step.voucher_percent and not send.voucher_code and profile.user_id:
        ends = context.now + timedelta(days=step.voucher_days)
        with transaction.atomic():
            code = host.issue_voucher(
                str(profile.user_id),
                step.voucher_percent,
                f"CRM {row.slug} ({send.key})",
                ends_at=ends,
                single_use=True,
            )
            CampaignSend.objects.filter(pk=send.pk).update(voucher_code=code, voucher_ends_at=ends)
        send.voucher_code, send.voucher_ends_at = code, ends


def _record(send: CampaignSend, result, claim: str, now: datetime, outcome: Counter) -> None:
    """Write one message's result at once (a crash later does not send it again)."""
    attempts = send.attempts + 1
    if result.ok:
        _finish(send, claim, status=CampaignSend.SENT, sent_at=now, attempts=attempts)
        outcome[CampaignSend.SENT] += 1
    elif result.retryable and attempts < MAX_ATTEMPTS:
        _finish(
            send,
            claim,
            status=CampaignSend.PENDING,
            claim="",
            attempts=attempts,
            due_at=now + RETRY_AFTER,
            error=result.error[:2000],
            reason=result.code,
        )
        outcome["retry"] += 1
    else:
        _finish(
            send,
            claim,
            status=CampaignSend.FAILED,
            reason=result.code or "failed",
            error=result.error[:2000],
            attempts=attempts,
        )
        outcome[CampaignSend.FAILED] += 1


def send_batch(ids, now: datetime, config: CRMConfig, host) -> Counter:
    """Send the due rows among `ids` (see the module); return how many ended in each status."""
    from . import messages

    outcome = Counter()
    if not _in_window(now, config):
        return outcome
    claim, rows = _claim(ids, now)
    if not rows:
        return outcome
    context = _context(rows, now, config, host)
    exits = defaultdict(list)
    to_send = []
    for send in rows:
        verdict = _verdict(send, context)
        if verdict is None:
            to_send.append(send)
            context.sent_this_week[send.profile_id] += 1
        elif verdict[0] == "exit":
            exits[verdict[1]].append(send.entry_id)
        else:
            _finish(send, claim, status=verdict[0], reason=verdict[1])
            outcome[verdict[0]] += 1
    for reason, entry_ids in exits.items():
        _exit(FlowEntry.objects.filter(pk__in=entry_ids), reason, now)
        outcome[CampaignSend.SKIPPED] += len(entry_ids)
    if not to_send:
        return outcome
    by_channel = defaultdict(list)
    for send in to_send:
        by_channel[send.channel].append(send)
    for channel, sends in by_channel.items():
        for send in sends:
            _row, flow = context.flows[send.flow_id]
            try:
                _reward(send, flow.steps[send.step], context, host)
            except Exception as error:  # a reward that cannot be given: the step fails
                logger.exception("CRM campaign reward failed for send %s", send.key)
                _finish(
                    send,
                    claim,
                    status=CampaignSend.FAILED,
                    reason="reward",
                    error=str(error)[:2000],
                )
                outcome[CampaignSend.FAILED] += 1
                send.channel = ""
        sends = [s for s in sends if s.channel]
        messages.deliver(
            channel,
            sends,
            context,
            host,
            lambda send, result: _record(send, result, claim, now, outcome),
        )
    return outcome


# --- unsubscribing --------------------------------------------------------------------------


def unsubscribe_token(profile_id: int, flow_id: int | None, channel: str = "email") -> str:
    """A signed token for the unsubscribe link of one customer (no expiry: mail is old)."""
    return signing.dumps({"p": profile_id, "f": flow_id, "c": channel}, salt=UNSUBSCRIBE_SALT)


def read_token(token: str) -> dict:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise CampaignError("token", "is not a valid unsubscribe link") from None
    return data


def unsubscribe(token: str, source: str, now: datetime, config: CRMConfig, host) -> bool:
    """Record the customer's no to marketing on the channel: our own record, and their
    consent key set to "false" in their private metadata (what the rules read). Returns False
    when they were unsubscribed already."""
    data = read_token(token)
    profile = CustomerProfile.objects.filter(pk=data["p"]).first()
    if profile is None:
        raise CampaignError("token", "the customer no longer exists")
    with transaction.atomic():
        _row, created = Unsubscribe.objects.get_or_create(
            profile=profile,
            channel=data["c"],
            defaults={"at": now, "source": source, "flow_id": data["f"]},
        )
        if profile.user_id:
            host.write_private_metadata({str(profile.user_id): {config.consent_key: "false"}})
    return created


# --- the report -----------------------------------------------------------------------------

_ARMS = """
SELECT e.control, o.currency, e.id, count(o.id), sum(o.total_gross_amount)
FROM {entries} e
LEFT JOIN {orders} o ON o.profile_id = e.profile_id AND o.counts
     AND o.placed_at > e.entered_at AND o.placed_at <= e.entered_at + %s * interval '1 day'
WHERE e.flow_id = %s AND e.entered_at <= %s
GROUP BY e.control, o.currency, e.id
"""


def _arms(row: CampaignFlow, now: datetime, days: int) -> dict:
    """Per currency (and "" for conversion alone): (messaged Arm, control Arm)."""
    customers = Counter(
        dict(
            FlowEntry.objects.filter(flow=row, entered_at__lte=now)
            .values_list("control")
            .annotate(n=Count("pk"))
        )
    )
    converted: dict[bool, set] = {False: set(), True: set()}
    revenue = defaultdict(lambda: {False: [0.0, 0.0], True: [0.0, 0.0]})
    if connection.vendor == "postgresql":
        sql = _ARMS.format(entries=FlowEntry._meta.db_table, orders=OrderRecord._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(sql, [days, row.pk, now])
            rows = cursor.fetchall()
    else:
        rows = []
        for entry in FlowEntry.objects.filter(flow=row, entered_at__lte=now):
            orders = (
                OrderRecord.objects.filter(
                    profile_id=entry.profile_id,
                    counts=True,
                    placed_at__gt=entry.entered_at,
                    placed_at__lte=entry.entered_at + timedelta(days=days),
                )
                .values("currency")
                .annotate(n=Count("pk"), total=Sum("total_gross_amount"))
            )
            rows.extend(
                (entry.control, o["currency"], entry.pk, o["n"], o["total"]) for o in orders
            )
    for control, currency, entry_id, count, total in rows:
        if count:
            converted[control].add(entry_id)
            sums = revenue[currency][control]
            sums[0] += float(total or 0)
            sums[1] += float(total or 0) ** 2
    arms = {
        "": (
            Arm(customers[False], len(converted[False])),
            Arm(customers[True], len(converted[True])),
        )
    }
    for currency, groups in revenue.items():
        arms[currency] = tuple(
            Arm(customers[c], len(converted[c]), groups[c][0], groups[c][1]) for c in (False, True)
        )
    return arms


def flow_report(row: CampaignFlow, now: datetime, config: CRMConfig) -> dict:
    """Entered, sent, failed (why), unsubscribed, converted and revenue per step and channel,
    the lift against the control group per currency, and the plain attribution (orders within
    the attribution window after a send, labelled as such)."""
    days = config.campaign_attribution_days
    steps = defaultdict(Counter)
    reasons = defaultdict(Counter)
    for step, channel, status, reason, n in (
        CampaignSend.objects.filter(flow=row)
        .values_list("step", "channel", "status", "reason")
        .annotate(n=Count("pk"))
    ):
        steps[(step, channel)][status] += n
        if status in (CampaignSend.FAILED, CampaignSend.SKIPPED) and reason:
            reasons[(step, channel)][reason] += n
    arms = _arms(row, now, days)
    lifts = {}
    for currency, (messaged, control) in arms.items():
        lifts[currency] = {
            "messaged": messaged,
            "control": control,
            "lift": lift(messaged, control),
        }
    attributed = {}
    window_start = ExpressionWrapper(
        OuterRef("placed_at") - timedelta(days=days), output_field=DateTimeField()
    )
    after_a_send = CampaignSend.objects.filter(
        flow=row,
        status=CampaignSend.SENT,
        profile_id=OuterRef("profile_id"),
        sent_at__lt=OuterRef("placed_at"),
        sent_at__gte=window_start,
    )
    for currency, n, total in (
        OrderRecord.objects.filter(Exists(after_a_send), counts=True)
        .values_list("currency")
        .annotate(n=Count("pk"), total=Sum("total_gross_amount"))
    ):
        attributed[currency] = {"orders": n, "revenue": total}
    return {
        "flow": row.slug,
        "entered": FlowEntry.objects.filter(flow=row).count(),
        "exited": dict(
            FlowEntry.objects.filter(flow=row, exited_at__isnull=False)
            .values_list("exit_reason")
            .annotate(n=Count("pk"))
        ),
        "unsubscribed": Unsubscribe.objects.filter(flow=row).count(),
        "steps": [
            {"step": step, "channel": channel, **counts, "reasons": dict(reasons[(step, channel)])}
            for (step, channel), counts in sorted(steps.items())
        ],
        "window_days": days,
        "lift": lifts,
        "attributed": attributed,
    }


def sends_per_day(row: CampaignFlow, since: date, config: CRMConfig) -> list[tuple]:
    """(store-local day, status, sends) of the flow's ledger from `since` on: a sent message
    on the day it went out, any other (pending, held, skipped, failed) on the day it was due,
    so the days to come show what is scheduled."""
    day = TruncDate(Coalesce("sent_at", "due_at"), tzinfo=config.zone)
    return list(
        CampaignSend.objects.filter(flow=row)
        .annotate(day=day)
        .filter(day__gte=since)
        .values_list("day", "status")
        .annotate(n=Count("pk"))
        .order_by("day", "status")
    )


def rank_of(profile_ids) -> dict[int, str]:
    return dict(
        MemberRank.objects.filter(profile_id__in=list(profile_ids)).values_list(
            "profile_id", "code"
        )
    )


def points_of(profile_ids, now: datetime) -> dict[int, int]:
    from ..loyalty.services import balances

    return {pk: b.balance for pk, b in balances(profile_ids, now).items()}


def expiring_of(profile_ids, now: datetime, days: int) -> dict[int, tuple[int, datetime]]:
    """(points, first expiry) of what each customer's lots lose within `days`."""
    out = {}
    for profile_id, points, first in (
        PointsLot.objects.filter(
            account__profile_id__in=list(profile_ids),
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        )
        .values_list("account__profile_id")
        .annotate(points=Sum("remaining"), first=Min("expires_at"))
    ):
        out[profile_id] = (points, first)
    return out

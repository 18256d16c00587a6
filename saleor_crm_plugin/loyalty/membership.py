"""Membership ranks kept in the database: evaluation after orders, the period-end review, pins.

Every change of a customer's rank is a `RankChange` row: from, to, the rule's reason, the rank
configuration's version and the orders the figures counted, and who (staff) when it was not
the rules.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from ..audit import services as audit
from ..audit.models import AuditEvent
from ..conf import RANK_INACTIVE_MONTHS, RANK_WINDOW, RANKS, CRMConfig, parse_config
from ..customers.models import CustomerProfile, OrderRecord, profile_id_ranges
from ..customers.snapshots import NOT_PLACED
from ..customers.snapshots import paid_in_full as snapshot_paid_in_full
from ..dates import add_months
from ..errors import FieldError
from ..history.versions import record_rank_table
from ..money import quantize_amount
from ..task_options import enqueue
from .config import LoyaltyConfig, format_window
from .lots import Kind
from .models import MemberRank, PointsEntry, RankChange
from .ranks import Decision, Figures, Pin, Progress, RankLadder, decide, progress

__all__ = [
    "Membership",
    "Progress",
    "RankInputError",
    "RankMove",
    "apply_rank_effects",
    "counted_orders",
    "evaluate_ranks",
    "held_code",
    "in_window",
    "is_paid",
    "membership",
    "pin_rank",
    "preview_ladder",
    "rank_type_slug",
    "review_due",
    "review_ranks",
    "window_figures",
]

_UNPLACED = {status.value for status in NOT_PLACED}
# Orders a rank decision names (the newest first), enough to answer "why is this customer Gold?".
_DECIDING_ORDERS = 100
NO_FIGURES = Figures()  # nothing in the window


class RankInputError(FieldError):
    """A staff request about a rank is wrong; `field` names the input."""


def is_paid(order: OrderRecord) -> bool:
    """Paid in full (`customers.snapshots.paid_in_full`)."""
    return snapshot_paid_in_full(
        order.status, order.total_gross_amount, order.paid_amount, order.refunded_amount
    )


def paid_in_full() -> Q:
    """`customers.snapshots.paid_in_full` as a filter on `OrderRecord`."""
    return (
        Q(total_gross_amount__gt=0)
        & Q(paid_amount__gte=F("total_gross_amount") - F("refunded_amount"))
        & ~Q(status__in=list(_UNPLACED))
    )


def in_window(start: datetime | None):
    """A filter on `OrderRecord`: the orders inside a window starting at `start` (None: all),
    paid since then, or placed since then while unpaid. Its expression is the one index
    `order_rank_window` holds."""
    if start is None:
        return Q()
    return GreaterThanOrEqual(Coalesce("paid_at", "placed_at"), start)


def counted_orders():
    """The orders rank figures count: counted and paid in full."""
    return OrderRecord.objects.filter(paid_in_full(), counts=True)


def window_figures(
    ladder: RankLadder, zone: ZoneInfo, now: datetime, profile_ids
) -> dict[int, Figures]:
    """What each customer did within the ladder's window at `now`: counted, paid orders, spend
    per currency and points earned by orders (read only when a rank has a points threshold).
    A customer who did nothing there is left out (`Figures()`).

    Two queries for any number of customers, each read from an index alone (count(*): the
    order's id is not in it).
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return {}
    start = ladder.window.period_start(now, zone)
    rows = counted_orders().filter(in_window(start))
    if ids[-1] - ids[0] < 2 * len(ids):  # dense: one stretch of the index, read in order
        rows = rows.filter(profile_id__gte=ids[0], profile_id__lte=ids[-1])
    else:
        rows = rows.filter(profile_id__in=ids)
    found: dict[int, list] = {}  # profile id -> [orders, {currency: spend}]
    for profile_id, currency, count, amount in (
        rows.values("profile_id", "currency")
        .annotate(count=Count("*"), amount=Sum("net_spend_amount"))
        .values_list("profile_id", "currency", "count", "amount")
    ):
        entry = found.get(profile_id)
        if entry is None:
            found[profile_id] = entry = [0, {}]
        entry[0] += count
        entry[1][currency] = quantize_amount(amount, currency)
    points: dict[int, int] = {}
    if any(rank.min_points is not None for rank in ladder.ranks):
        earned = PointsEntry.objects.filter(
            account__profile_id__in=ids, kind__in=[Kind.EARN.value, Kind.REVERSE.value]
        ).exclude(order_id="")
        if start is not None:
            earned = earned.filter(at__gte=start)
        points = dict(
            earned.values("account__profile_id")
            .annotate(total=Sum("points"))
            .values_list("account__profile_id", "total")
        )
    wanted = set(ids)
    figures = {
        profile_id: Figures(orders=orders, spend=spend, points=points.pop(profile_id, 0) or 0)
        for profile_id, (orders, spend) in found.items()
        if profile_id in wanted
    }
    figures.update((profile_id, Figures(points=total or 0)) for profile_id, total in points.items())
    return figures


def _deciding_orders(start: datetime | None, profile_ids: list[int]) -> dict[int, list[str]]:
    """The newest counted orders (up to `_DECIDING_ORDERS`) of each customer, in one query."""
    if not profile_ids:
        return {}
    newest = Window(RowNumber(), partition_by=F("profile_id"), order_by=F("placed_at").desc())
    rows = (
        counted_orders()
        .filter(in_window(start), profile_id__in=profile_ids)
        .annotate(place=newest)
        .filter(place__lte=_DECIDING_ORDERS)
        .order_by("profile_id", "place")
        .values_list("profile_id", "order_id")
    )
    deciding: dict[int, list[str]] = defaultdict(list)
    for profile_id, order_id in rows:
        deciding[profile_id].append(order_id)
    return deciding


def _review_at(loyalty: LoyaltyConfig, config: CRMConfig, now: datetime) -> datetime:
    """The next period end; a lifetime ladder is reviewed on the 1st of each month."""
    end = loyalty.ladder.window.period_end(now, config.zone)
    if end is not None:
        return end
    local = now.astimezone(config.zone)
    return add_months(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0), 1)


def held_code(loyalty: LoyaltyConfig, member: MemberRank | None) -> str | None:
    """The code the customer holds, if it is still on the ladder (else: start again lowest)."""
    if member is None:
        return None
    return member.code if member.code in loyalty.ladder.codes else None


def _state(member: MemberRank) -> tuple:
    return (
        member.code,
        member.since,
        member.rule_version,
        member.review_at,
        member.pin_code,
        member.pin_reason,
        member.pin_expires_at,
        member.pinned_by,
    )


def _decision(
    ladder: RankLadder,
    zone: ZoneInfo,
    now: datetime,
    code: str | None,
    pin: Pin | None,
    figures: Figures,
    last_order_at: datetime | None,
    *,
    period_end: bool,
) -> Decision:
    """The rank of a customer holding `code` (None: none yet) under `ladder`: the one rule an
    order event, a review and the what-if preview apply.

    A rank or a pin the ladder does not have counts as none (the customer starts again from
    the lowest rank).
    """
    if pin is not None and _pin_ended(ladder, pin, now):
        pin = None
    return decide(
        ladder,
        code if code in ladder.codes else None,
        figures,
        now,
        period_end=period_end,
        pin=pin,
        last_order_at=last_order_at,
        zone=zone,
    )


def _pin(member: MemberRank | None) -> Pin | None:
    if member is None or not member.pin_code:
        return None
    return Pin(member.pin_code, member.pin_reason, member.pin_expires_at)


def _pin_ended(ladder: RankLadder, pin: Pin, now: datetime) -> bool:
    """Whether a pin no longer holds: it expired, or its rank is not on the ladder."""
    return pin.code not in ladder.codes or (pin.expires_at is not None and now >= pin.expires_at)


_MEMBER_FIELDS = [
    "code",
    "since",
    "rule_version",
    "review_at",
    "pin_code",
    "pin_reason",
    "pin_expires_at",
    "pinned_by",
    "updated_at",
]


def evaluate_ranks(
    config: CRMConfig, profile_ids, now: datetime, *, period_end: bool = False, actor: str = ""
) -> list[int]:
    """Evaluate these customers' ranks under row locks and record each change; return the ids
    whose rank changed.

    Without `period_end` a rank only goes up (a paid order crossed a threshold); with it (the
    review at the period end) it may go down, and the next review is set. A customer without a
    rank gets their first. A few queries for any number of customers; rows are written only
    where something changed.
    """
    ids = sorted({int(profile_id) for profile_id in profile_ids})
    if not ids:
        return []
    try:
        with transaction.atomic():
            return _evaluate(config, ids, now, period_end, actor)
    except IntegrityError:
        # Another evaluation gave one of them a first rank meanwhile; its row is locked now.
        with transaction.atomic():
            return _evaluate(config, ids, now, period_end, actor)


def _evaluate(
    config: CRMConfig, ids: list[int], now: datetime, period_end: bool, actor: str
) -> list[int]:
    loyalty, zone = config.loyalty, config.zone
    ladder = loyalty.ladder
    # The table the changes below name is kept, whichever way it was saved (a no-op when it
    # is the one in force already): the state on a past date replays under it.
    record_rank_table(loyalty, now)
    members = {
        member.profile_id: member
        for member in MemberRank.objects.select_for_update()
        .filter(profile_id__in=ids)
        .order_by("profile_id")
    }
    last_orders = dict(
        CustomerProfile.objects.filter(pk__in=ids).values_list("pk", "last_order_at")
    )
    top = ladder.ranks[-1].code

    def settled(profile_id: int) -> bool:  # nothing above to reach, nothing can go down now
        member = members.get(profile_id)
        return not period_end and _pin(member) is None and held_code(loyalty, member) == top

    figures = window_figures(
        ladder, zone, now, [profile_id for profile_id in last_orders if not settled(profile_id)]
    )
    version, review_at = loyalty.ladder_version, _review_at(loyalty, config, now)
    created, updated, changes, changed = [], [], [], []
    for profile_id in sorted(last_orders):
        member = members.get(profile_id)
        saved = _state(member) if member is not None else None
        held, pin = held_code(loyalty, member), _pin(member)
        # A pin that ended (expired, or to a rank the table dropped) leaves the rank to the
        # figures at once, as unpinning does: not the pinned rank until the period end.
        ended = pin is not None and _pin_ended(ladder, pin, now)
        decision = _decision(
            ladder,
            zone,
            now,
            held,
            pin,
            figures.get(profile_id, NO_FIGURES),
            last_orders[profile_id],
            period_end=period_end or ended,
        )
        if member is None:
            member = MemberRank(profile_id=profile_id, code=decision.code, since=now)
        if saved is None or held is None or decision.code != member.code:
            changes.append(
                RankChange(
                    profile_id=profile_id,
                    from_code="" if saved is None else member.code,
                    to_code=decision.code,
                    reason=decision.reason if decision.changed else "the starting rank",
                    at=now,
                    rule_version=version,
                    actor=actor,
                )
            )
            member.code, member.since = decision.code, now
            changed.append(profile_id)
        if ended:
            member.pin_code, member.pin_reason, member.pin_expires_at = "", "", None
            member.pinned_by = ""
        member.rule_version = version
        if period_end or ended or member.review_at is None:
            member.review_at = review_at
        if saved is None:
            created.append(member)
        elif _state(member) != saved:  # most order events change nothing: no write then
            member.updated_at = timezone.now()
            updated.append(member)
    deciding = _deciding_orders(ladder.window.period_start(now, zone), changed)
    for change in changes:
        change.order_ids = deciding.get(change.profile_id, [])
    MemberRank.objects.bulk_create(created)  # a rank created meanwhile: IntegrityError, retried
    # One INSERT … ON CONFLICT DO UPDATE: bulk_update's CASE per row grows with the square of
    # the batch (it took most of a review's time at 1,000 a batch).
    MemberRank.objects.bulk_create(
        updated, update_conflicts=True, unique_fields=["profile"], update_fields=_MEMBER_FIELDS
    )
    RankChange.objects.bulk_create(changes)
    return changed


@dataclass
class ReviewReport:
    reviewed: int = 0
    changed: int = 0
    profile_ids: list[int] = field(default_factory=list)


def _in_batches(queryset, column: str, batch: int):
    """The values of `column` (a unique key) in batches, by keyset: rows the work changed are
    not read twice, and rows it leaves as they were do not loop."""
    last = None
    while True:
        page = queryset if last is None else queryset.filter(**{f"{column}__gt": last})
        ids = list(page.order_by(column).values_list(column, flat=True)[:batch])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _ranked(low: int | None, high: int | None):
    """The ranks held by profile ids `low` to `high` (None: no bound)."""
    ranks = MemberRank.objects.all()
    if low is not None:
        ranks = ranks.filter(profile_id__gte=low)
    if high is not None:
        ranks = ranks.filter(profile_id__lte=high)
    return ranks


def _due(now: datetime, low: int | None, high: int | None):
    """The ranks of profile ids `low` to `high` whose review is due (their period ended)."""
    return _ranked(low, high).filter(Q(review_at__lte=now) | Q(review_at__isnull=True))


def _unranked(low: int | None, high: int | None):
    """Registered customers with orders but no rank yet (orders from a backfill), by id."""
    ranks = _ranked(low, high).filter(profile_id=OuterRef("pk"))
    profiles = CustomerProfile.objects.filter(
        ~Exists(ranks), user_id__isnull=False, anonymized_at__isnull=True, order_count__gt=0
    )
    if low is not None:
        profiles = profiles.filter(pk__gte=low)
    if high is not None:
        profiles = profiles.filter(pk__lte=high)
    return profiles


def review_ranks(
    config: CRMConfig,
    now: datetime,
    batch: int = 1_000,
    *,
    everyone: bool = False,
    low: int | None = None,
    high: int | None = None,
) -> ReviewReport:
    """The periodic rank review of profile ids `low` to `high` (None: all): ranks whose period
    ended are evaluated with downgrades (`everyone`: every rank, as after the rank table
    changed), and registered customers with orders but no rank yet get their first.
    """
    report = ReviewReport()
    if not config.loyalty.enabled:
        return report
    due = _ranked(low, high) if everyone else _due(now, low, high)
    for queryset, column, period_end in (
        (due, "profile_id", True),
        (_unranked(low, high), "pk", False),
    ):
        for ids in _in_batches(queryset, column, batch):
            changed = evaluate_ranks(config, ids, now, period_end=period_end)
            report.reviewed += len(ids)
            report.changed += len(changed)
            report.profile_ids.extend(changed)
    return report


def review_due(config: CRMConfig, now: datetime) -> bool:
    """Whether the periodic review has anything to do now."""
    if not config.loyalty.enabled:
        return False
    return _due(now, None, None).exists() or _unranked(None, None).exists()


def draft_settings(
    config: CRMConfig, ranks: str, window: str | None, inactive_months: int | None
) -> tuple[dict[str, str], RankLadder]:
    """A draft of the rank settings (None: keep the current value), as the settings to write
    and the ladder they make. Raises `ConfigError` naming the wrong setting."""
    ladder = config.loyalty.ladder
    values = {
        RANKS: ranks,
        RANK_WINDOW: format_window(ladder.window) if window is None else window,
        RANK_INACTIVE_MONTHS: str(
            (ladder.inactive_months or 0) if inactive_months is None else inactive_months
        ),
    }
    return values, parse_config(values).loyalty.ladder


def save_rank_settings(
    host,
    *,
    ranks: str,
    window: str | None,
    inactive_months: int | None,
    version: str,
    actor: str,
    now: datetime,
) -> CRMConfig:
    """Save a rank table staff previewed (`version`: the table's digest they previewed against),
    audited; every customer's rank is then reviewed under it (`apply_rank_settings_task`).

    Raises `RankInputError("version")` when the table changed since (someone else saved: preview
    again), `ConfigError` naming the wrong setting; nothing is saved then.
    """
    before: dict[str, str] = {}

    def change(current: CRMConfig) -> dict[str, str]:
        if current.loyalty.ladder_version != version:
            raise RankInputError(
                "version",
                "the rank table changed since this preview (someone saved it); "
                "preview the draft again",
            )
        values, _ = draft_settings(current, ranks, window, inactive_months)
        before.update(draft_settings(current, current.loyalty.ladder_text, None, None)[0])
        return values

    with transaction.atomic():
        config = host.update_settings(change)
        record_rank_table(config.loyalty, now, actor)
        after, _ = draft_settings(config, config.loyalty.ladder_text, None, None)
        audit.record(
            AuditEvent.RANK_TABLE_SAVED,
            actor,
            now,
            detail={
                "before": before,
                "after": after,
                "version": config.loyalty.ladder_version,
            },
        )
        from .tasks import apply_rank_settings_task  # the task module imports this one

        enqueue(apply_rank_settings_task, config.loyalty.ladder_version)
    return config


def pin_rank(
    config: CRMConfig,
    profile: CustomerProfile,
    code: str | None,
    reason: str,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    actor: str,
) -> MemberRank:
    """Pin the customer's rank to `code` until `expires_at` (None: until unpinned), or unpin
    (`code` None or empty). Staff only; recorded with `actor` and `reason`. Raises
    `RankInputError` naming the input; nothing changes then.
    """
    codes = [rank.code for rank in config.loyalty.ladder.ranks]
    reason = (reason or "").strip()
    if code and code not in codes:
        raise RankInputError("code", f"'{code}' is not a rank; the ranks are {', '.join(codes)}")
    if not reason:
        raise RankInputError("reason", "is required: say why, for the customer's history")
    if len(reason) > 200:
        raise RankInputError("reason", "is longer than 200 characters")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise RankInputError("expires_at", "must be a future time with a time zone")
    with transaction.atomic():
        member = MemberRank.objects.select_for_update().filter(profile=profile).first()
        if member is None:
            evaluate_ranks(config, [profile.pk], now)
            member = MemberRank.objects.select_for_update().get(profile=profile)
        if code:
            member.pin_code, member.pin_reason = code, reason
            member.pin_expires_at, member.pinned_by = expires_at, actor
            member.save()
            evaluate_ranks(config, [profile.pk], now, actor=actor)
            audit.record(
                AuditEvent.RANK_PINNED,
                actor,
                now,
                profile_id=profile.pk,
                code=code,
                reason=reason,
                detail={"expires_at": expires_at.isoformat() if expires_at else None},
            )
        else:
            member.pin_code, member.pin_reason, member.pin_expires_at = "", "", None
            member.pinned_by = ""
            member.save()
            RankChange.objects.create(
                profile=profile,
                from_code=member.code,
                to_code=member.code,
                reason=f"unpinned by staff: {reason}",
                at=now,
                rule_version=config.loyalty.ladder_version,
                actor=actor,
            )
            audit.record(AuditEvent.RANK_UNPINNED, actor, now, profile_id=profile.pk, reason=reason)
            # the rank by the rules: what the figures reach now, up or down
            evaluate_ranks(config, [profile.pk], now, period_end=True, actor=actor)
        return MemberRank.objects.get(profile=profile)


@dataclass(frozen=True)
class Membership:
    rank: object  # ranks.Rank
    since: datetime | None
    next_rank: object | None
    # None: no rank above, or the next one needs spend in a currency the customer never bought
    # in (`ranks.progress`)
    progress: Progress | None
    expires_at: datetime | None  # when the rank can next go down (None: not before a review)
    pinned: bool
    voucher_code: str | None = None  # the rank's discount as the customer's own code


def membership(config: CRMConfig, profile: CustomerProfile | None, now: datetime) -> Membership:
    """The customer's rank, how far the next one is, and until when the rank holds.

    `profile` None (a customer without orders yet): the lowest rank, all still to do.
    """
    ladder = config.loyalty.ladder
    member = MemberRank.objects.filter(profile=profile).first() if profile else None
    code = held_code(config.loyalty, member) or ladder.ranks[0].code
    position = ladder.index(code)
    rank = ladder.ranks[position]
    next_rank = ladder.ranks[position + 1] if position + 1 < len(ladder.ranks) else None
    remaining = None
    if next_rank is not None:
        figures, currencies = NO_FIGURES, []
        if profile is not None:
            figures = window_figures(ladder, config.zone, now, [profile.pk]).get(
                profile.pk, NO_FIGURES
            )
            currencies = [spend.currency for spend in profile.spends.all()]
        remaining = progress(next_rank, figures, currencies)
    pinned = bool(member and member.pin_code)
    expires_at = None
    if pinned:
        expires_at = member.pin_expires_at
    elif member is not None and position > 0:
        expires_at = member.review_at
    return Membership(
        rank=rank,
        since=member.since if member else None,
        next_rank=next_rank,
        progress=remaining,
        expires_at=expires_at,
        pinned=pinned,
        voucher_code=(member.voucher_code or None) if member is not None else None,
    )


@dataclass
class RankMove:
    code: str
    name: str
    now: int = 0  # customers holding the rank now
    draft: int = 0  # customers the draft would give it
    up: int = 0  # of `draft`, those coming from a lower rank
    down: int = 0  # of `draft`, those coming from a higher rank


def preview_ladder(
    config: CRMConfig, draft: RankLadder, now: datetime, batch: int = 20_000
) -> list[RankMove]:
    """What a draft ladder would do to today's members, rank by rank, without saving anything.

    Every customer the review after a save reviews (`review_ranks` with `everyone`) is decided
    under the draft as that review will decide them (`_decision`, at a period end: pins,
    inactivity and the draft's own window included). Up and down compare the customer's
    current rank with the draft's by their places on the draft ladder (a rank the draft drops
    counts at its place on the current ladder).
    """
    current = config.loyalty.ladder
    moves = {rank.code: RankMove(rank.code, rank.name) for rank in draft.ranks}
    draft_codes = [rank.code for rank in draft.ranks]
    current_codes = [rank.code for rank in current.ranks]
    places = {code: position for position, code in enumerate(draft_codes)}
    scale = (len(draft_codes) - 1) / max(len(current_codes) - 1, 1)
    for position, code in enumerate(current_codes):
        # a rank the draft drops: where it stood among the current ranks, scaled
        places.setdefault(code, position * scale)
    lowest = current_codes[0]
    for low, high in profile_id_ranges(batch):
        held = {
            profile_id: (code, Pin(pin_code, reason, expires_at) if pin_code else None)
            for profile_id, code, pin_code, reason, expires_at in _ranked(low, high).values_list(
                "profile_id", "code", "pin_code", "pin_reason", "pin_expires_at"
            )
        }
        ids = sorted([*held, *_unranked(low, high).values_list("pk", flat=True)])
        if not ids:
            continue
        last_orders = {}
        if draft.inactive_months is not None:  # only inactivity reads the last order's time
            last_orders = dict(
                CustomerProfile.objects.filter(pk__gte=low, pk__lte=high).values_list(
                    "pk", "last_order_at"
                )
            )
        figures = window_figures(draft, config.zone, now, ids)
        for profile_id in ids:
            code, pin = held.get(profile_id, (lowest, None))
            if code not in places:
                code = lowest
            if code in moves:
                moves[code].now += 1
            reached = _decision(
                draft,
                config.zone,
                now,
                code,
                pin,
                figures.get(profile_id, NO_FIGURES),
                last_orders.get(profile_id),
                period_end=True,
            ).code
            move = moves[reached]
            move.draft += 1
            if places[reached] > places[code]:
                move.up += 1
            elif places[reached] < places[code]:
                move.down += 1
    return [moves[code] for code in draft_codes]


def rank_type_slug(code: str) -> str:
    """The Saleor Customer Type a rank maps to."""
    return f"crm-rank-{code.lower()}"


def _sync_vouchers(config: CRMConfig, host, ids: list[int]) -> None:
    """A rank with a discount: the customer holds one voucher code for it, issued when they
    reach it and revoked when they leave it."""
    ranks = {rank.code: rank for rank in config.loyalty.ladder.ranks}
    members = MemberRank.objects.filter(
        profile_id__in=ids, profile__user_id__isnull=False, profile__anonymized_at__isnull=True
    )
    for member_id, code, voucher_rank in members.values_list("pk", "code", "voucher_rank"):
        rank = ranks.get(code)
        wanted = rank is not None and rank.discount_percent > 0
        if not ((voucher_rank != code) if wanted else bool(voucher_rank)):
            continue  # holds the voucher of its rank, or none and needs none
        with transaction.atomic():
            member = (
                MemberRank.objects.select_for_update().select_related("profile").get(pk=member_id)
            )
            rank = ranks.get(member.code)
            wanted = rank is not None and rank.discount_percent > 0
            if member.voucher_rank == member.code and wanted:
                continue
            if member.voucher_code:
                host.revoke_voucher(member.voucher_code)
            member.voucher_code = member.voucher_rank = ""
            if wanted:
                member.voucher_code = host.issue_voucher(
                    member.profile.user_id,
                    rank.discount_percent,
                    f"{rank.name} member discount ({rank.discount_percent.normalize():f}%)",
                )
                member.voucher_rank = member.code
            member.save(update_fields=["voucher_code", "voucher_rank", "updated_at"])


def apply_rank_effects(host, profile_ids) -> None:
    """Make the store follow these customers' ranks: their discount vouchers, and with the
    option on, their Customer Types."""
    config = host.config()
    loyalty = config.loyalty
    ids = sorted(set(profile_ids))
    if not (loyalty.enabled and ids):
        return
    _sync_vouchers(config, host, ids)
    if not loyalty.customer_types:
        return
    names = {rank.code: rank.name for rank in loyalty.ladder.ranks}
    items = {
        user_id: (rank_type_slug(code), names[code])
        for user_id, code in MemberRank.objects.filter(
            profile_id__in=ids, profile__user_id__isnull=False, profile__anonymized_at__isnull=True
        ).values_list("profile__user_id", "code")
        if code in names
    }
    if items:
        host.set_customer_types(items)


def rank_counts() -> dict[str, int]:
    """How many customers hold each rank now, by rank code."""
    rows = MemberRank.objects.values("code").annotate(n=Count("pk")).values_list("code", "n")
    return dict(rows)

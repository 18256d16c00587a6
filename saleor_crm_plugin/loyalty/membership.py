"""Membership ranks kept in the database: evaluation after orders, the period-end review, pins.

Every change of a customer's rank is a `RankChange` row: from, to, the rule's reason, the rank
configuration's version and the orders the figures counted, and who (staff) when it was not
the rules.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Q, Sum

from ..audit import services as audit
from ..audit.models import AuditEvent
from ..conf import RANK_INACTIVE_MONTHS, RANK_WINDOW, RANKS, CRMConfig, parse_config
from ..customers.models import CustomerProfile, OrderRecord
from ..customers.snapshots import NOT_PLACED
from ..customers.snapshots import paid_in_full as snapshot_paid_in_full
from ..dates import add_months
from ..errors import FieldError
from ..money import quantize_amount
from ..task_options import enqueue
from .config import LoyaltyConfig, format_window
from .lots import Kind
from .models import MemberRank, PointsEntry, RankChange
from .ranks import Figures, Pin, RankLadder, decide, qualifying_rank

__all__ = [
    "Membership",
    "Progress",
    "RankInputError",
    "RankMove",
    "apply_rank_effects",
    "evaluate_rank",
    "held_code",
    "is_paid",
    "membership",
    "pin_rank",
    "preview_ladder",
    "rank_type_slug",
    "review_ranks",
]

_UNPLACED = {status.value for status in NOT_PLACED}
# Orders a rank decision names (the newest first), enough to answer "why is this customer Gold?".
_DECIDING_ORDERS = 100


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


def _in_window(start: datetime | None) -> Q:
    if start is None:
        return Q()
    return Q(paid_at__gte=start) | Q(paid_at__isnull=True, placed_at__gte=start)


def _rank_figures(
    config: CRMConfig, profile_id: int | None, now: datetime
) -> tuple[Figures, list[str]]:
    """The customer's counted, paid orders, spend and order points in the window (by SQL)."""
    if profile_id is None:
        return Figures(), []
    start = config.loyalty.ladder.window.period_start(now, config.zone)
    counted = OrderRecord.objects.filter(
        paid_in_full(), _in_window(start), profile_id=profile_id, counts=True
    )
    orders, spend = 0, {}
    for currency, count, amount in (
        counted.values("currency")
        .annotate(count=Count("pk"), amount=Sum("net_spend_amount"))
        .values_list("currency", "count", "amount")
    ):
        orders += count
        spend[currency] = quantize_amount(amount, currency)
    earned = PointsEntry.objects.filter(
        account__profile_id=profile_id, kind__in=[Kind.EARN.value, Kind.REVERSE.value]
    ).exclude(order_id="")
    if start is not None:
        earned = earned.filter(at__gte=start)
    points = earned.aggregate(total=Sum("points"))["total"] or 0
    deciding = list(
        counted.order_by("-placed_at").values_list("order_id", flat=True)[:_DECIDING_ORDERS]
    )
    return Figures(orders=orders, spend=spend, points=points), deciding


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
    codes = {rank.code for rank in loyalty.ladder.ranks}
    return member.code if member.code in codes else None


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


def evaluate_rank(
    config: CRMConfig,
    profile: CustomerProfile,
    now: datetime,
    *,
    period_end: bool = False,
    actor: str = "",
) -> bool:
    """Evaluate one customer's rank; record the change. True when the rank changed.

    Without `period_end` a rank only goes up (a paid order crossed a threshold); with it (the
    review at the period end) it may go down, and the next review is set.
    """
    loyalty = config.loyalty
    member = MemberRank.objects.select_for_update().filter(profile=profile).first()
    saved = _state(member) if member is not None else None
    pin = None
    if member is not None and member.pin_code:
        pin = Pin(member.pin_code, member.pin_reason, member.pin_expires_at)
    held = held_code(loyalty, member)
    top = loyalty.ladder.ranks[-1].code
    if held == top and pin is None and not period_end:
        figures, deciding = Figures(), []  # nothing above to reach, nothing can go down now
    else:
        figures, deciding = _rank_figures(config, profile.pk, now)
    decision = decide(
        loyalty.ladder,
        held,
        figures,
        now,
        period_end=period_end,
        pin=pin,
        last_order_at=profile.last_order_at,
        zone=config.zone,
    )
    version = loyalty.ladder_version
    changed = member is None or held is None or decision.code != member.code
    if member is None:
        member = MemberRank(profile=profile, code=decision.code, since=now)
    if changed:
        RankChange.objects.create(
            profile=profile,
            from_code="" if held is None and member.pk is None else member.code,
            to_code=decision.code,
            reason=decision.reason if decision.changed else "the starting rank",
            at=now,
            rule_version=version,
            order_ids=deciding,
            actor=actor,
        )
        member.code, member.since = decision.code, now
    if pin is not None and pin.expires_at is not None and now >= pin.expires_at:
        member.pin_code, member.pin_reason, member.pin_expires_at = "", "", None
        member.pinned_by = ""
    member.rule_version = version
    if period_end or member.review_at is None:
        member.review_at = _review_at(loyalty, config, now)
    if member.pk is None or _state(member) != saved:
        member.save()  # most order events change nothing: no write then
    return changed


@dataclass
class ReviewReport:
    reviewed: int = 0
    changed: int = 0
    profile_ids: list[int] = field(default_factory=list)


def _review(config: CRMConfig, profile_ids: list[int], now: datetime, period_end: bool, report):
    for profile in CustomerProfile.objects.filter(pk__in=profile_ids).order_by("pk"):
        with transaction.atomic():
            changed = evaluate_rank(config, profile, now, period_end=period_end)
        report.reviewed += 1
        if changed:
            report.changed += 1
            report.profile_ids.append(profile.pk)


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


def review_ranks(
    config: CRMConfig, now: datetime, batch: int = 1_000, *, everyone: bool = False
) -> ReviewReport:
    """The periodic rank review: ranks whose period ended are evaluated with downgrades
    (`everyone`: every rank, as after the rank table changed).

    Registered customers with orders but no rank yet (orders from a backfill) get their first.
    """
    report = ReviewReport()
    if not config.loyalty.enabled:
        return report
    due = MemberRank.objects.all()
    if not everyone:
        due = due.filter(Q(review_at__lte=now) | Q(review_at__isnull=True))
    for ids in _in_batches(due, "profile_id", batch):
        _review(config, ids, now, True, report)
    unranked = CustomerProfile.objects.filter(
        user_id__isnull=False, anonymized_at__isnull=True, order_count__gt=0, member_rank=None
    )
    for ids in _in_batches(unranked, "pk", batch):
        _review(config, ids, now, False, report)
    return report


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
            evaluate_rank(config, profile, now)
            member = MemberRank.objects.select_for_update().get(profile=profile)
        if code:
            member.pin_code, member.pin_reason = code, reason
            member.pin_expires_at, member.pinned_by = expires_at, actor
            member.save()
            evaluate_rank(config, profile, now, actor=actor)
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
            evaluate_rank(config, profile, now, actor=actor)
        return MemberRank.objects.get(profile=profile)


@dataclass(frozen=True)
class Progress:
    """What the customer still needs for the next rank (None: that threshold is not used)."""

    orders: int | None
    amounts: dict[str, Decimal]  # per currency of the next rank's spend thresholds
    points: int | None
    combine: str  # "any": one of them is enough; "all": every one


@dataclass(frozen=True)
class Membership:
    rank: object  # ranks.Rank
    since: datetime | None
    next_rank: object | None
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
    progress = None
    if next_rank is not None:
        figures, _ = _rank_figures(config, profile.pk if profile else None, now)
        progress = Progress(
            orders=None
            if next_rank.min_orders is None
            else max(0, next_rank.min_orders - figures.orders),
            amounts={
                currency: max(Decimal(0), amount - figures.spend.get(currency, Decimal(0)))
                for currency, amount in sorted(next_rank.min_spend.items())
            },
            points=None
            if next_rank.min_points is None
            else max(0, next_rank.min_points - figures.points),
            combine=next_rank.combine,
        )
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
        progress=progress,
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


def preview_ladder(config: CRMConfig, draft, now: datetime) -> list[RankMove]:
    """What a draft ladder would do to today's members, rank by rank, without saving anything.

    Every registered customer with a rank or a counted order is evaluated under the draft (its
    own window) as a period-end review would: pinned ranks stay. Up and down compare the
    customer's current rank with the draft's by their places on the draft ladder (a rank the
    draft drops counts at its place on the current ladder).
    """
    current = config.loyalty.ladder
    start = draft.window.period_start(now, config.zone)
    orders = OrderRecord.objects.filter(
        paid_in_full(),
        _in_window(start),
        counts=True,
        profile__user_id__isnull=False,
        profile__anonymized_at__isnull=True,
    )
    figures: dict[int, dict] = defaultdict(lambda: {"orders": 0, "spend": {}, "points": 0})
    for profile_id, currency, count, spend in (
        orders.values("profile_id", "currency")
        .annotate(count=Count("pk"), spend=Sum("net_spend_amount"))
        .values_list("profile_id", "currency", "count", "spend")
        .iterator(chunk_size=10_000)
    ):
        figures[profile_id]["orders"] += count
        figures[profile_id]["spend"][currency] = quantize_amount(spend, currency)
    if any(rank.min_points is not None for rank in draft.ranks):
        points = PointsEntry.objects.filter(kind__in=[Kind.EARN.value, Kind.REVERSE.value]).exclude(
            order_id=""
        )
        if start is not None:
            points = points.filter(at__gte=start)
        for profile_id, total in (
            points.values("account__profile_id")
            .annotate(total=Sum("points"))
            .values_list("account__profile_id", "total")
            .iterator(chunk_size=10_000)
        ):
            figures[profile_id]["points"] = total
    held = {
        profile_id: (code, pin)
        for profile_id, code, pin in MemberRank.objects.values_list(
            "profile_id", "code", "pin_code"
        ).iterator(chunk_size=10_000)
    }
    moves = {rank.code: RankMove(rank.code, rank.name) for rank in draft.ranks}
    draft_codes = [rank.code for rank in draft.ranks]
    current_codes = [rank.code for rank in current.ranks]

    def place(code: str) -> float:
        if code in draft_codes:
            return draft_codes.index(code)
        # a rank the draft drops: where it stood among the current ranks, scaled
        return current_codes.index(code) * (len(draft_codes) - 1) / max(len(current_codes) - 1, 1)

    for profile_id in set(figures) | set(held):
        code, pin = held.get(profile_id, (current.ranks[0].code, ""))
        if code not in current_codes:
            code = current.ranks[0].code
        if code in moves:
            moves[code].now += 1
        values = figures.get(profile_id) or {"orders": 0, "spend": {}, "points": 0}
        reached = pin if pin in moves else qualifying_rank(draft, Figures(**values)).code
        move = moves[reached]
        move.draft += 1
        if place(reached) > place(code):
            move.up += 1
        elif place(reached) < place(code):
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

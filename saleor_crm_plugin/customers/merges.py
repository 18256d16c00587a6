"""Merge two profiles of one customer, and undo it exactly. Staff confirm every merge.

`merge_profiles` moves the absorbed profile's ledger (orders, points entries, rank history,
subscriptions, campaign entries) onto the survivor in one transaction, recomputes both sides'
figures, scores, balance and rank with the domains' own services, and records what moved
(`ProfileMerge`) with an audit event on each side. While merged, ingestion routes the absorbed
customer's new orders to the survivor, each remembering where it belongs (`merged_from`).
`unmerge_profiles` sends back what the merge moved and what came after it for the absorbed
side (`customers.merging.plan_unmerge`), then recomputes both again. The store's own accounts
are never touched: a merge is a CRM fact.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..audit import services as audit
from ..audit.models import AuditEvent
from ..campaigns.models import CampaignSend, FlowEntry
from ..conf import CRMConfig
from ..errors import FieldError
from ..loyalty.membership import evaluate_ranks
from ..loyalty.models import MemberRank, PointsAccount, PointsEntry, PointsLot, RankChange
from ..loyalty.services import balances, rebuild_accounts
from ..money import quantize_amount
from ..segments.services import rescore_profiles
from ..subscriptions.models import Subscription
from .ingest import _lock, _settle
from .merge_models import ProfileMerge
from .merging import (
    FLOW_ENTRY,
    KINDS,
    ORDER,
    POINTS,
    RANK_CHANGE,
    SUBSCRIPTION,
    Row,
    plan_merge,
    plan_unmerge,
)
from .models import CustomerProfile, CustomerSpend, OrderRecord

__all__ = ["MergeError", "figures_of", "merge_profiles", "merges_of", "unmerge_profiles"]


class MergeError(FieldError):
    """A merge or unmerge cannot be done as asked; `field` names the input."""


def _ledger_rows(profile_ids: list[int]) -> list[Row]:
    """The rows of these profiles' ledgers, as the pure plan reads them."""
    rows = [
        Row(ORDER, order_id, profile_id, merged_from=merged_from)
        for order_id, profile_id, merged_from in OrderRecord.objects.filter(
            profile_id__in=profile_ids
        ).values_list("order_id", "profile_id", "merged_from_id")
    ]
    rows += [
        Row(POINTS, key, profile_id, order=order_id, lot=lot or "")
        for key, profile_id, order_id, lot in PointsEntry.objects.filter(
            account__profile_id__in=profile_ids
        ).values_list("key", "account__profile_id", "order_id", "lot")
    ]
    rows += [
        Row(RANK_CHANGE, str(pk), profile_id)
        for pk, profile_id in RankChange.objects.filter(profile_id__in=profile_ids).values_list(
            "pk", "profile_id"
        )
    ]
    rows += [
        Row(SUBSCRIPTION, str(pk), profile_id, order=source_order_id)
        for pk, profile_id, source_order_id in Subscription.objects.filter(
            profile_id__in=profile_ids
        ).values_list("pk", "profile_id", "source_order_id")
    ]
    rows += [
        Row(FLOW_ENTRY, str(pk), profile_id, slot=f"{flow_id}:{occasion}")
        for pk, profile_id, flow_id, occasion in FlowEntry.objects.filter(
            profile_id__in=profile_ids
        ).values_list("pk", "profile_id", "flow_id", "occasion")
    ]
    return rows


def _move(moves: dict[str, list[str]], to: int, merged_from: int | None) -> None:
    """Put these rows (by kind, `merging.KINDS`) on profile `to`."""
    if moves.get(ORDER):
        OrderRecord.objects.filter(order_id__in=moves[ORDER]).update(
            profile_id=to, merged_from_id=merged_from
        )
    if moves.get(POINTS):
        account, _ = PointsAccount.objects.get_or_create(profile_id=to)
        PointsEntry.objects.filter(key__in=moves[POINTS]).update(account=account)
        # a lot is keyed by its earning's key: it goes with it (`rebuild_accounts` then
        # rewrites only what the replay on the new side changes)
        PointsLot.objects.filter(key__in=moves[POINTS]).update(account=account)
    if moves.get(RANK_CHANGE):
        RankChange.objects.filter(pk__in=[int(pk) for pk in moves[RANK_CHANGE]]).update(
            profile_id=to
        )
    if moves.get(SUBSCRIPTION):
        Subscription.objects.filter(pk__in=[int(pk) for pk in moves[SUBSCRIPTION]]).update(
            profile_id=to
        )
    if moves.get(FLOW_ENTRY):
        entries = [int(pk) for pk in moves[FLOW_ENTRY]]
        FlowEntry.objects.filter(pk__in=entries).update(profile_id=to)
        CampaignSend.objects.filter(entry_id__in=entries).update(profile_id=to)


def figures_of(profile_ids: Iterable[int], now: datetime) -> dict[int, dict]:
    """What staff compare of each profile: orders, spend per currency, last order, points
    balance (and points pending), and rank (JSON-ready, as a merge record keeps them)."""
    ids = sorted({int(pk) for pk in profile_ids})
    profiles = CustomerProfile.objects.filter(pk__in=ids).values(
        "pk", "order_count", "last_order_at"
    )
    spends = defaultdict(list)
    for profile_id, currency, amount in CustomerSpend.objects.filter(
        profile_id__in=ids
    ).values_list("profile_id", "currency", "total_spent_amount"):
        amount = quantize_amount(amount, currency)
        spends[profile_id].append({"currency": currency, "amount": str(amount)})
    points = balances(ids, now)
    ranks = dict(MemberRank.objects.filter(profile_id__in=ids).values_list("profile_id", "code"))
    return {
        row["pk"]: {
            "orders": row["order_count"],
            "spend": spends[row["pk"]],
            "last_order_at": row["last_order_at"].isoformat() if row["last_order_at"] else None,
            "points": points[row["pk"]].balance if row["pk"] in points else 0,
            "pending_points": points[row["pk"]].pending if row["pk"] in points else 0,
            "rank": ranks.get(row["pk"], ""),
        }
        for row in profiles
    }


def _locked_profiles(absorbed_id: int, survivor_id: int) -> dict[int, CustomerProfile]:
    """Both profiles under row locks (in id order), with ingestion's locks on their users
    and emails so no order of theirs is written meanwhile."""
    profiles = {
        profile.pk: profile
        for profile in CustomerProfile.objects.filter(pk__in=[absorbed_id, survivor_id])
    }
    keys = [f"user:{p.user_id}" for p in profiles.values() if p.user_id]
    keys += [f"email:{p.email_digest}" for p in profiles.values() if p.email_digest]
    _lock(keys)
    return {
        profile.pk: profile
        for profile in CustomerProfile.objects.select_for_update()
        .filter(pk__in=[absorbed_id, survivor_id])
        .order_by("pk")
    }


def _check_merge(profiles: dict, absorbed_id: int, survivor_id: int) -> None:
    if absorbed_id == survivor_id:
        raise MergeError("intoCustomerId", "a customer cannot be merged into themselves")
    for field, pk in (("customerId", absorbed_id), ("intoCustomerId", survivor_id)):
        profile = profiles.get(pk)
        if profile is None:
            raise MergeError(field, f"customer {pk} is not a customer the CRM knows")
        if profile.anonymized_at is not None:
            raise MergeError(field, f"customer {pk} was deleted in the store")
    in_force = ProfileMerge.objects.filter(unmerged_at__isnull=True)
    merged = in_force.filter(absorbed_id=absorbed_id).first()
    if merged is not None:
        raise MergeError(
            "customerId",
            f"customer {absorbed_id} is already merged into customer {merged.survivor_id}",
        )
    merged = in_force.filter(absorbed_id=survivor_id).first()
    if merged is not None:
        raise MergeError(
            "intoCustomerId",
            f"customer {survivor_id} is merged into customer {merged.survivor_id}: "
            f"merge into that one",
        )
    if in_force.filter(survivor_id=absorbed_id).exists():
        raise MergeError(
            "customerId",
            f"customer {absorbed_id} holds other customers merged into them: unmerge those first",
        )
    if profiles[survivor_id].user_id is None and profiles[absorbed_id].user_id is not None:
        raise MergeError(
            "intoCustomerId",
            "a guest cannot take in a registered customer: merge the guest into the account",
        )


def _recompute(config: CRMConfig, ids: list[int], ranked: list[int], now: datetime) -> None:
    """Both sides' balances and scores from the rows they hold now (their figures are
    `_settle`'s), and the rank of `ranked` (registered customers): up at once as after an
    order; a rank the merge raised holds until the period-end review, as any rank does."""
    rebuild_accounts(ids, allow_negative=config.loyalty.allow_negative)
    rescore_profiles(ids, config.zone, as_of=now, segments=config.segment_map)
    if config.loyalty.enabled and ranked:
        evaluate_ranks(config, ranked, now)


def _registered(ids: Iterable[int]) -> list[int]:
    return sorted(
        CustomerProfile.objects.filter(
            pk__in=list(ids), user_id__isnull=False, anonymized_at__isnull=True
        ).values_list("pk", flat=True)
    )


def merge_profiles(
    config: CRMConfig,
    absorbed_id: int,
    survivor_id: int,
    actor: str,
    *,
    reason: str = "",
    evidence: Iterable[str] = (),
    now: datetime | None = None,
) -> ProfileMerge:
    """Merge the absorbed profile's ledger into the survivor's, in one audited transaction.

    Raises `MergeError` naming the field (`customerId`, `intoCustomerId`) when the merge is
    refused: the same customer twice, a customer the CRM does not know or that was deleted,
    one already merged, one that holds merged customers, a guest taking in an account.
    """
    now = now or timezone.now()
    with transaction.atomic():
        profiles = _locked_profiles(absorbed_id, survivor_id)
        _check_merge(profiles, absorbed_id, survivor_id)
        before = figures_of([absorbed_id, survivor_id], now)
        plan = plan_merge(_ledger_rows([absorbed_id, survivor_id]), absorbed_id, survivor_id)
        _move(plan.moves, survivor_id, absorbed_id)
        merge = ProfileMerge.objects.create(
            absorbed_id=absorbed_id,
            survivor_id=survivor_id,
            merged_at=now,
            merged_by=actor,
            reason=reason[:255],
            evidence=sorted(set(evidence)),
            moved={kind: plan.moves[kind] for kind in KINDS},
            kept=plan.kept,
            before={str(pk): figures for pk, figures in before.items()},
        )
        _settle({absorbed_id, survivor_id}, set())
        # The absorbed side holds nothing now: its rank stays as it was until the unmerge.
        _recompute(config, [absorbed_id, survivor_id], _registered([survivor_id]), now)
        counts = {kind: len(plan.moves[kind]) for kind in KINDS}
        for profile_id, other in ((survivor_id, absorbed_id), (absorbed_id, survivor_id)):
            audit.record(
                AuditEvent.CUSTOMERS_MERGED,
                actor,
                now,
                profile_id=profile_id,
                reason=reason,
                detail={
                    "merge": merge.pk,
                    "absorbed": absorbed_id,
                    "survivor": survivor_id,
                    "other": other,
                    "moved": counts,
                },
            )
    return merge


def unmerge_profiles(
    config: CRMConfig, merge_id: int, actor: str, *, now: datetime | None = None
) -> ProfileMerge:
    """Undo a merge: the absorbed profile gets back what the merge moved and what came
    after it for them; both sides are recomputed. Audited on both sides."""
    now = now or timezone.now()
    with transaction.atomic():
        merge = ProfileMerge.objects.filter(pk=merge_id).first()
        if merge is None:
            raise MergeError("mergeId", f"merge {merge_id} does not exist")
        absorbed_id, survivor_id = merge.absorbed_id, merge.survivor_id
        _locked_profiles(absorbed_id, survivor_id)
        merge = ProfileMerge.objects.select_for_update().get(pk=merge_id)
        if merge.unmerged_at is not None:
            raise MergeError("mergeId", f"merge {merge_id} was already undone")
        back = plan_unmerge(_ledger_rows([survivor_id]), merge.moved, absorbed_id, survivor_id)
        _move(back, absorbed_id, None)
        merge.unmerged_at, merge.unmerged_by, merge.returned = now, actor, back
        merge.save(update_fields=["unmerged_at", "unmerged_by", "returned"])
        digests = set(
            CustomerProfile.objects.filter(
                pk__in=[absorbed_id, survivor_id], email_digest__isnull=False
            ).values_list("email_digest", flat=True)
        )
        _settle({absorbed_id, survivor_id}, digests)
        ids = [absorbed_id, survivor_id]
        _recompute(config, ids, _registered(ids), now)
        counts = {kind: len(back[kind]) for kind in KINDS}
        for profile_id, other in ((survivor_id, absorbed_id), (absorbed_id, survivor_id)):
            audit.record(
                AuditEvent.CUSTOMERS_UNMERGED,
                actor,
                now,
                profile_id=profile_id,
                detail={
                    "merge": merge.pk,
                    "absorbed": absorbed_id,
                    "survivor": survivor_id,
                    "other": other,
                    "returned": counts,
                },
            )
    return merge


def merges_of(profile_id: int):
    """The merges a profile took part in, either side, newest first (a queryset)."""
    return ProfileMerge.objects.filter(
        Q(absorbed_id=profile_id) | Q(survivor_id=profile_id)
    ).order_by("-merged_at", "-pk")

"""Keep each registered customer's `crm.*` private metadata in the store equal to the ledger.

Writes go through the host in batches, only for customers whose values differ, and never
through the store's mutations: no hooks fire again and the user's `updated_at` stays.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.utils import timezone

from ..host import Host
from ..loyalty.models import MemberRank
from ..loyalty.services import balances
from .models import CustomerProfile, CustomerSpend
from .summary import summary_metadata

__all__ = ["profile_summaries", "sync_all_customer_metadata", "sync_customer_metadata"]


def profile_summaries(profiles: Iterable[CustomerProfile]) -> dict[int, dict[str, str]]:
    """The `crm.*` summary of each profile, by pk: one query for any number of profiles.

    Spends and scores are read as plain rows (no prefetch: Django's prefetch clones a queryset
    per profile, which cost more than the queries themselves at 2,000 profiles a batch).
    """
    profiles = list(profiles)
    ids = [profile.pk for profile in profiles]
    spends, scores = defaultdict(list), defaultdict(list)
    for pk, currency, total, average, r, f, m, segment in CustomerSpend.objects.filter(
        profile_id__in=ids
    ).values_list(
        "profile_id",
        "currency",
        "total_spent_amount",
        "average_order_amount",
        "r",
        "f",
        "m",
        "segment",
    ):
        spends[pk].append((currency, total, average))
        if segment is not None:
            scores[pk].append((currency, r, f, m, segment))
    ranks = {
        pk: (code, since)
        for pk, code, since in MemberRank.objects.filter(profile_id__in=ids).values_list(
            "profile_id", "code", "since"
        )
    }
    points = {
        pk: (state.balance, state.pending) for pk, state in balances(ids, timezone.now()).items()
    }
    return {
        profile.pk: summary_metadata(
            profile.order_count,
            profile.first_order_at,
            profile.last_order_at,
            sorted(spends[profile.pk]),
            sorted(scores[profile.pk]),
            rank=ranks.get(profile.pk),
            points=points.get(profile.pk),
        )
        for profile in profiles
    }


def _wanted(profiles: Iterable[CustomerProfile]) -> dict[str, dict[str, str]]:
    profiles = list(profiles)
    summaries = profile_summaries(profiles)
    return {profile.user_id: summaries[profile.pk] for profile in profiles}


def _registered():
    return CustomerProfile.objects.filter(user_id__isnull=False, anonymized_at__isnull=True)


def _sync_customer_types(host: Host, ids: list[int]) -> None:
    """With the Customer Types option on, each ranked customer's type is their rank's."""
    loyalty = host.config().loyalty
    if not (loyalty.enabled and loyalty.customer_types):
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


def rank_type_slug(code: str) -> str:
    """The Customer Type a rank maps to."""
    return f"crm-rank-{code.lower()}"


def sync_customer_metadata(host: Host, profile_ids: Iterable[int]) -> int:
    """Write the summary of these profiles' customers; return how many users changed.

    With the Customer Types option on, their Customer Types follow their ranks too.
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return 0
    _sync_customer_types(host, ids)
    return host.write_private_metadata(_wanted(_registered().filter(pk__in=ids)))


def _batches(batch_size: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(
            _registered()
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        last = ids[-1]
        yield ids


def sync_all_customer_metadata(host: Host, batch_size: int = 500) -> int:
    """Write every registered customer's summary, batch by batch; return how many changed."""
    return sum(sync_customer_metadata(host, ids) for ids in _batches(batch_size))

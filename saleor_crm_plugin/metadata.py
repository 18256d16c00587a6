"""Keep each registered customer's `crm.*` private metadata in the store equal to the ledger.

Writes go through the host in batches, only for customers whose values differ, and never
through the store's mutations: no hooks fire again and the user's `updated_at` stays.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.utils import timezone

from .analytics.models import CustomerPrediction
from .customers.models import CustomerProfile, CustomerSpend
from .customers.summary import summary_metadata
from .host import Host
from .loyalty.membership import apply_rank_effects
from .loyalty.models import MemberRank
from .loyalty.services import balances

__all__ = [
    "profile_summaries",
    "sync_all_customer_metadata",
    "sync_customer_metadata",
    "sync_many_customer_metadata",
]


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
    predictions = defaultdict(list)
    for pk, *row in CustomerPrediction.objects.filter(profile_id__in=ids).values_list(
        "profile_id", "currency", "p_alive", "clv", "next_order_at", "overdue"
    ):
        predictions[pk].append(tuple(row))
    return {
        profile.pk: summary_metadata(
            profile.order_count,
            profile.first_order_at,
            profile.last_order_at,
            sorted(spends[profile.pk]),
            sorted(scores[profile.pk]),
            rank=ranks.get(profile.pk),
            points=points.get(profile.pk),
            predictions=predictions[profile.pk],
        )
        for profile in profiles
    }


def _wanted(profiles: Iterable[CustomerProfile]) -> dict[str, dict[str, str]]:
    profiles = list(profiles)
    summaries = profile_summaries(profiles)
    return {profile.user_id: summaries[profile.pk] for profile in profiles}


def _registered():
    return CustomerProfile.objects.filter(user_id__isnull=False, anonymized_at__isnull=True)


def sync_customer_metadata(host: Host, profile_ids: Iterable[int]) -> int:
    """Write the summary of these profiles' customers; return how many users changed.

    Their rank's effects in the store (Customer Type, discount voucher) follow first.
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return 0
    apply_rank_effects(host, ids)
    return host.write_private_metadata(_wanted(_registered().filter(pk__in=ids)))


def sync_many_customer_metadata(
    host: Host, profile_ids: Iterable[int], batch_size: int = 500
) -> int:
    """`sync_customer_metadata` for any number of profiles, `batch_size` at a time."""
    ids = sorted(set(profile_ids))
    return sum(
        sync_customer_metadata(host, ids[start : start + batch_size])
        for start in range(0, len(ids), batch_size)
    )


def _batches(batch_size: int, after: int = 0, until: int | None = None) -> Iterator[list[int]]:
    last = after
    registered = _registered() if until is None else _registered().filter(pk__lte=until)
    while True:
        ids = list(
            registered.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        last = ids[-1]
        yield ids


def sync_all_customer_metadata(
    host: Host, batch_size: int = 500, after: int = 0, until: int | None = None
) -> int:
    """Write every registered customer's summary (with profile ids after `after`, up to
    `until`), batch by batch; return how many changed."""
    return sum(sync_customer_metadata(host, ids) for ids in _batches(batch_size, after, until))

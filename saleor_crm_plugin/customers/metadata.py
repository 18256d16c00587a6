"""Keep each registered customer's `crm.*` private metadata in the store equal to the ledger.

Writes go through the host in batches, only for customers whose values differ, and never
through the store's mutations: no hooks fire again and the user's `updated_at` stays.
"""

from collections.abc import Iterable, Iterator

from ..host import Host
from .models import CustomerProfile
from .summary import summary_metadata

__all__ = ["sync_all_customer_metadata", "sync_customer_metadata"]


def profile_summary(profile: CustomerProfile) -> dict[str, str]:
    """The `crm.*` summary of one profile (prefetch its `spends` and `scores`)."""
    return summary_metadata(
        profile.order_count,
        profile.first_order_at,
        profile.last_order_at,
        [(s.currency, s.total_spent_amount, s.average_order_amount) for s in profile.spends.all()],
        [(s.group, s.r, s.f, s.m, s.segment) for s in profile.scores.all()],
    )


def _wanted(profiles: Iterable[CustomerProfile]) -> dict[str, dict[str, str]]:
    return {profile.user_id: profile_summary(profile) for profile in profiles}


def _registered():
    return CustomerProfile.objects.filter(
        user_id__isnull=False, anonymized_at__isnull=True
    ).prefetch_related("spends", "scores")


def sync_customer_metadata(host: Host, profile_ids: Iterable[int]) -> int:
    """Write the summary of these profiles' customers; return how many users changed."""
    ids = sorted(set(profile_ids))
    if not ids:
        return 0
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

"""The duplicate search: contact facts from the store, candidate pairs into `DuplicateCandidate`.

The CRM holds no contact data, so each run reads it from the host: registered customers from
their account and address book (`Host.user_contacts`, streamed), guests from their latest
order (`Host.order_contacts`). The pure core (`customers.duplicates`) finds the pairs; the run
replaces the stored pairs in one transaction, so staff page through a consistent list while
the next run computes. A million profiles take a periodic task, not a request.
"""

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Q

from ..conf import CRMConfig
from ..rows import add_rows
from .duplicates import KINDS, candidate_pairs, region_of_zone
from .merge_models import DuplicateCandidate, ProfileMerge
from .models import CustomerProfile, OrderRecord

__all__ = ["SearchReport", "contact_frame", "find_duplicates"]

COLUMNS = ["profile_id", "email", "first_name", "last_name", "phone", "postal_code"]
# Guests' latest orders are read from the store this many at a time.
_ORDER_BATCH = 20_000


@dataclass
class SearchReport:
    profiles: int = 0
    contacts: int = 0
    pairs: int = 0
    crowded: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "profiles": self.profiles,
            "contacts": self.contacts,
            "pairs": self.pairs,
            "crowded": self.crowded,
        }


def _latest_guest_orders() -> list[tuple[int, str]]:
    """(guest profile id, its latest order id) of every guest not deleted nor merged."""
    sql = f"""
        SELECT DISTINCT ON (o.profile_id) o.profile_id, o.order_id
        FROM {OrderRecord._meta.db_table} o
        JOIN {CustomerProfile._meta.db_table} p ON p.id = o.profile_id
        WHERE p.user_id IS NULL AND p.anonymized_at IS NULL AND o.merged_from_id IS NULL
        ORDER BY o.profile_id, o.placed_at DESC, o.order_id DESC
    """
    if connection.vendor != "postgresql":
        latest = {}
        for profile_id, order_id in (
            OrderRecord.objects.filter(
                profile__user_id__isnull=True,
                profile__anonymized_at__isnull=True,
                merged_from__isnull=True,
            )
            .order_by("profile_id", "-placed_at", "-order_id")
            .values_list("profile_id", "order_id")
        ):
            latest.setdefault(profile_id, order_id)
        return list(latest.items())
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def contact_frame(host, batch_size: int = 50_000) -> pd.DataFrame:
    """Every active profile's contact facts as the pure core reads them (`COLUMNS`).

    Profiles merged into another are left out: they are no candidates while merged.
    """
    absorbed = ProfileMerge.objects.filter(unmerged_at__isnull=True).values("absorbed_id")
    active = CustomerProfile.objects.filter(anonymized_at__isnull=True).exclude(pk__in=absorbed)
    registered = dict(active.filter(user_id__isnull=False).values_list("user_id", "pk"))
    frames = []
    for batch in host.user_contacts(batch_size):
        frame = pd.DataFrame(batch, columns=["user_id", *COLUMNS[1:]])
        frame["profile_id"] = frame["user_id"].map(registered)
        frame = frame[frame["profile_id"].notna()]
        frames.append(frame[COLUMNS])
    # An absorbed guest's orders sit on its survivor: the query leaves it out by itself.
    by_order = {order_id: pk for pk, order_id in _latest_guest_orders()}
    order_ids = list(by_order)
    for start in range(0, len(order_ids), _ORDER_BATCH):
        rows = host.order_contacts(order_ids[start : start + _ORDER_BATCH])
        frame = pd.DataFrame(rows, columns=["order_id", *COLUMNS[1:]])
        frame["profile_id"] = frame["order_id"].map(by_order)
        frames.append(frame[COLUMNS])
    if not frames:
        return pd.DataFrame({column: [] for column in COLUMNS})
    contacts = pd.concat(frames, ignore_index=True)
    contacts["profile_id"] = contacts["profile_id"].astype(np.int64)
    return contacts


def find_duplicates(host, config: CRMConfig, now: datetime, max_group: int = 10) -> SearchReport:
    """Find the candidate pairs of every customer and replace the stored ones with them.

    National phone numbers are read in the country of the store's time zone. Pairs merged
    since stay out of the list by the query that shows it, not by this run.
    """
    contacts = contact_frame(host)
    found = candidate_pairs(contacts, region_of_zone(config.store_time_zone), max_group)
    pairs = found.pairs
    rows = list(
        zip(
            pairs["profile_id"].tolist(),
            pairs["other_id"].tolist(),
            *(pairs[kind].tolist() for kind in KINDS),
            [now] * len(pairs),
            strict=True,
        )
    )
    with transaction.atomic():
        DuplicateCandidate.objects.all().delete()
        add_rows(DuplicateCandidate, ["profile", "other", *KINDS, "found_at"], rows)
    return SearchReport(
        profiles=int(contacts["profile_id"].nunique()),
        contacts=len(contacts),
        pairs=len(rows),
        crowded=found.crowded,
    )


def candidates_of(profile_id: int):
    """The stored pairs a profile is in (a queryset)."""
    return DuplicateCandidate.objects.filter(Q(profile_id=profile_id) | Q(other_id=profile_id))

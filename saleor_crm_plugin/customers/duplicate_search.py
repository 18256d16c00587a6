"""The duplicate search: contact facts from the store, candidate pairs into `DuplicateCandidate`.

The CRM holds no contact data, so each run reads it from the host: registered customers from
their account and address book (`Host.user_contacts`), guests from their latest order
(`Host.order_contacts`), joined with the profiles in one query read in bulk. The pure core (`customers.duplicates`) finds the pairs; the run
replaces the stored pairs in one transaction, so staff page through a consistent list while
the next run computes. A million profiles take a periodic task, not a request.
"""

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import OuterRef, Q

from ..conf import CRMConfig
from ..rows import add_rows
from .duplicates import KINDS, candidate_pairs, region_of_zone
from .merge_models import DuplicateCandidate, ProfileMerge
from .models import CustomerProfile, OrderRecord

__all__ = ["SearchReport", "contact_frame", "find_duplicates"]

COLUMNS = ["profile_id", "email", "first_name", "last_name", "phone", "postal_code"]
# Rows fetched from the database at a time.
_FETCH = 100_000


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


def _latest_guest_orders():
    """(profile_id, order_id) of every guest not deleted nor merged and its latest order (one
    index lookup a guest, newest first, ties broken by order id; None without one)."""
    latest = (
        OrderRecord.objects.filter(profile_id=OuterRef("pk"), merged_from__isnull=True)
        .order_by("-placed_at", "-order_id")
        .values("order_id")[:1]
    )
    return (
        CustomerProfile.objects.filter(user_id__isnull=True, anonymized_at__isnull=True)
        .annotate(crm_order_id=latest)
        .order_by()
        .values_list("pk", "crm_order_id")
    )


def _read(sql: str, params, names: list[str], integers: tuple = ()) -> pd.DataFrame:
    """The rows of a query as a DataFrame, the `integers` columns as int64 and the others as
    Python objects (text, None where missing): fetched in batches of `_FETCH` rows from a
    server-side cursor and turned into columns, no object a row."""
    columns = [[] for _ in names]
    with transaction.atomic():  # a server-side cursor lives in a transaction
        if connection.vendor == "postgresql":
            with connection.cursor() as settings:
                # Every row is read: plan for it, and skip compiling the plan (JIT).
                settings.execute("SET LOCAL jit = off")
                settings.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(_FETCH):
                for column, values in zip(columns, zip(*rows, strict=True), strict=True):
                    column.append(np.array(values, dtype=object))
        finally:
            cursor.close()
    return pd.DataFrame(
        {
            name: (
                np.concatenate(column).astype(np.int64 if name in integers else object)
                if column
                else np.array([], dtype=np.int64 if name in integers else object)
            )
            for name, column in zip(names, columns, strict=True)
        }
    )


def contact_frame(host) -> pd.DataFrame:
    """Every active profile's contact facts as the pure core reads them (`COLUMNS`).

    Three bulk reads (COPY on PostgreSQL, no row objects): the registered customers'
    accounts and address books joined with their profiles in one query, the guests' latest
    orders, and those orders' contact facts. Profiles merged into another are left out: they
    are no candidates while merged (an absorbed guest's orders sit on its survivor, so the
    latest-order query leaves it out by itself).
    """
    absorbed = ProfileMerge.objects.filter(unmerged_at__isnull=True).values("absorbed_id")
    registered = (
        CustomerProfile.objects.filter(anonymized_at__isnull=True, user_id__isnull=False)
        .exclude(pk__in=absorbed)
        .order_by()
        .values_list("pk", "user_id")
    )
    users_sql, users_params = host.user_contacts().query.sql_with_params()
    profiles_sql, profiles_params = registered.query.sql_with_params()
    facts = ", ".join(COLUMNS[1:])
    picked = ", ".join(f"c.{column}" for column in COLUMNS[1:])
    accounts = _read(
        f"WITH crm_users (id, {facts}) AS ({users_sql}), "
        f"crm_profiles (profile_id, user_id) AS ({profiles_sql}) "
        f"SELECT p.profile_id, {picked} FROM crm_profiles p JOIN crm_users c ON c.id = p.user_id",
        [*users_params, *profiles_params],
        COLUMNS,
        integers=("profile_id",),
    )
    guests_sql, guests_params = _latest_guest_orders().query.sql_with_params()
    latest = _read(guests_sql, guests_params, ["profile_id", "order_id"], ("profile_id",))
    latest = latest[latest["order_id"].notna()]
    orders_sql, orders_params = host.order_contacts(
        latest["order_id"].tolist()
    ).query.sql_with_params()
    orders = _read(orders_sql, orders_params, ["order_id", *COLUMNS[1:]])
    by_order = pd.Series(latest["profile_id"].to_numpy(), index=latest["order_id"].to_numpy())
    orders["profile_id"] = orders["order_id"].map(by_order).astype(np.int64)
    return pd.concat([accounts, orders[COLUMNS]], ignore_index=True)


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

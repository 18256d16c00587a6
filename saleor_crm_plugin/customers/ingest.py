"""Ingestion: the single door through which orders and customers enter the ledger.

Idempotent and order-independent. Every snapshot carries a version (`updated_at`, then a
fingerprint) and the ledger keeps the newest one per order or customer. Which profile an order
belongs to, and every figure of a profile, is then *derived* from the stored rows by one rule,
never adjusted by deltas:

- an order placed by a user belongs to that user's profile;
- a guest order belongs to the registered profile with the same email, when that profile stands
  on its own (a customer snapshot, or orders the user placed), else to the guest profile of
  that email; a customer whose email is not confirmed (`CustomerSnapshot.email_confirmed`)
  has no email to the ledger yet, so their guest history waits for the confirmation;
- a registered profile known only from orders takes its email from the user's latest order;
- a profile with no orders, no customer snapshot and no deletion record goes;
- a deleted customer's profile keeps its orders and aggregates without any email digest;
- while staff have merged a profile into another (`customers.merges`), a row that belongs to
  it by these rules sits on the survivor and remembers where it belongs (`merged_from`).

Feeding the same snapshots twice, or in another order or batching, leaves the same rows.
"""

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Self

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from ..expressions import AnyOf
from ..money import THREE_DECIMAL, ZERO_DECIMAL, quantize_amount
from ..rows import add_objects, add_rows, new_ids, update_rows
from .merge_models import ProfileMerge
from .merging import route
from .models import (
    PROFILE_COPIES,
    UNSCORED,
    CustomerProfile,
    CustomerSpend,
    OrderLineRecord,
    OrderRecord,
)
from .snapshots import CustomerSnapshot, OrderSnapshot, email_digest

logger = logging.getLogger(__name__)

__all__ = [
    "IngestResult",
    "digest_for",
    "erase_guest_profiles",
    "ingest_customers",
    "ingest_orders",
    "recompute_profiles",
    "settle_profiles",
]

_ORDER_FIELDS = [  # the order row's fields after `order_id`, as `_order_values` gives them
    "number",
    "profile",
    "user_id",
    "email_digest",
    "channel",
    "currency",
    "status",
    "counts",
    "placed_at",
    "paid_at",
    "refunded_at",
    "cancelled_at",
    "fulfilled_at",
    "shipping_gross_amount",
    "shipping_net_amount",
    "total_gross_amount",
    "total_net_amount",
    "paid_amount",
    "refunded_amount",
    "net_spend_amount",
    "source_updated_at",
    "source_fingerprint",
    "merged_from",
]


@dataclass
class IngestResult:
    """What one call did. `profile_ids` lists the profiles it changed (`+=` adds counts only)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    profile_ids: list[int] = field(default_factory=list)

    def __iadd__(self, other: "IngestResult") -> Self:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _digest_key() -> bytes:
    key = getattr(settings, "CRM_EMAIL_DIGEST_KEY", None) or settings.SECRET_KEY
    return hashlib.sha256(b"saleor-crm:email:" + str(key).encode()).digest()


def digest_for(email: str | None) -> str | None:
    """Return the keyed digest under which the ledger knows this email."""
    return email_digest(email, _digest_key())


def _lock(keys: Iterable[str]) -> None:
    """Serialize writers of the same orders, users and emails until the transaction ends.

    PostgreSQL: transaction-level advisory locks, taken in one sorted pass so two batches
    never deadlock. SQLite serializes writers by itself.
    """
    keys = sorted(set(keys))
    if not keys or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM ("
            " SELECT DISTINCT hashtextextended(x, 7171) AS k FROM unnest(%s::text[]) AS x"
            " ORDER BY k) AS s",
            [keys],
        )


def _newest(snapshots: Iterable, key_of, rank=lambda s: s.version_key()) -> dict:
    winners = {}
    for snapshot in snapshots:
        key = key_of(snapshot)
        current = winners.get(key)
        if current is None or rank(snapshot) > rank(current):
            winners[key] = snapshot
    return winners


# --- profiles -----------------------------------------------------------------------------


def merges_in_force(profile_ids: Iterable[int]) -> dict[int, int]:
    """Absorbed profile -> survivor, of the merges in force among these profiles."""
    ids = {pk for pk in profile_ids if pk is not None}
    if not ids:
        return {}
    return dict(
        ProfileMerge.objects.filter(absorbed_id__in=ids, unmerged_at__isnull=True).values_list(
            "absorbed_id", "survivor_id"
        )
    )


def _own(outer: str = "pk") -> Q:
    """The orders that belong to the profile `outer` names, wherever a merge keeps them."""
    return Q(profile=OuterRef(outer), merged_from__isnull=True) | Q(merged_from=OuterRef(outer))


# What ingestion reads of the profiles it writes orders and customers to (no other field of
# them is read: a deferred field would cost a query a profile).
_PROFILE_KEYS = ("pk", "user_id", "email_digest", "anonymized_at")


def _user_profiles(wanted: dict[str, str | None]) -> dict[str, CustomerProfile]:
    """Return the profile of each user id, creating missing ones.

    `wanted` maps user id -> an email digest seen with it; a new user profile takes over the
    guest profile of that email (keeping its id) when there is one. A few queries for any
    number of users (a takeover, rare, is one UPDATE each).
    """
    profiles = {
        p.user_id: p
        for p in CustomerProfile.objects.filter(AnyOf("user_id", wanted)).only(*_PROFILE_KEYS)
    }
    missing = sorted(set(wanted) - set(profiles))
    if not missing:
        return profiles
    guests = {
        guest.email_digest: guest
        for guest in CustomerProfile.objects.filter(
            user_id__isnull=True,
            anonymized_at__isnull=True,
            email_digest__in={wanted[user_id] for user_id in missing} - {None},
        ).only(*_PROFILE_KEYS)
    }
    new = []
    for user_id in missing:
        digest = wanted[user_id]
        guest = guests.pop(digest, None)  # one user takes it; the next one of the email is new
        if guest is not None:
            guest.user_id = user_id
            guest.save(update_fields=["user_id", "updated_at"])
            profiles[user_id] = guest
        else:
            new.append(CustomerProfile(user_id=user_id, email_digest=digest))
    if new:
        add_objects(CustomerProfile, new)
        created = CustomerProfile.objects.filter(AnyOf("user_id", [p.user_id for p in new]))
        created = created.only(*_PROFILE_KEYS)
        profiles.update((profile.user_id, profile) for profile in created)
    return profiles


def _guest_profiles(digests: Iterable[str]) -> dict[str, int]:
    """Return the guest profile id of each email digest, creating missing ones."""
    digests = sorted(set(digests))
    if not digests:
        return {}
    guests = CustomerProfile.objects.filter(
        AnyOf("email_digest", digests), user_id__isnull=True, anonymized_at__isnull=True
    )
    found = dict(guests.values_list("email_digest", "pk"))
    missing = [d for d in digests if d not in found]
    if missing:
        CustomerProfile.objects.bulk_create(
            [CustomerProfile(email_digest=d) for d in missing], ignore_conflicts=True
        )
        found = dict(guests.values_list("email_digest", "pk"))
    return found


def _derive_registered_emails(profile_ids: set[int]) -> set[str]:
    """Give registered profiles known only from orders the email of the user's latest order.

    Returns every digest those profiles had before or have after (their guest orders may move).
    """
    derived = CustomerProfile.objects.filter(
        pk__in=profile_ids,
        user_id__isnull=False,
        source_updated_at__isnull=True,
        anonymized_at__isnull=True,
    )
    before = list(derived.values_list("pk", "email_digest"))
    if not before:
        return set()
    derived = CustomerProfile.objects.filter(pk__in=[pk for pk, _ in before])
    digests = {digest for _, digest in before}
    latest_own_order = (
        OrderRecord.objects.filter(_own(), user_id=OuterRef("user_id"), email_digest__isnull=False)
        .order_by("-placed_at", "-order_id")
        .values("email_digest")[:1]
    )
    derived.update(email_digest=Subquery(latest_own_order))
    digests |= set(derived.values_list("email_digest", flat=True))
    return {d for d in digests if d}


def _rehome_guest_orders(digests: set[str], touched: set[int]) -> None:
    """Put every guest order of these emails on the profile the rule says it belongs to."""
    digests = {d for d in digests if d}
    if not digests:
        return
    # Two plain lookups instead of a join with the profiles: on tables a backfill has just
    # filled, stale statistics made PostgreSQL join them in a nested loop (170 ms a batch).
    rows = [
        (pk, digest, merged_from or profile_id, (profile_id, merged_from))
        for pk, digest, profile_id, merged_from in OrderRecord.objects.filter(
            AnyOf("email_digest", digests), user_id__isnull=True
        )
        .order_by()
        .values_list("pk", "email_digest", "profile_id", "merged_from_id")
    ]
    anonymized = set(
        CustomerProfile.objects.filter(
            pk__in={home for _, _, home, _ in rows}, anonymized_at__isnull=False
        ).values_list("pk", flat=True)
    )
    rows = [row for row in rows if row[2] not in anonymized]
    if not rows:
        return
    own_orders = OrderRecord.objects.filter(_own(), user_id=OuterRef("user_id"))
    standing = (
        CustomerProfile.objects.filter(
            user_id__isnull=False,
            anonymized_at__isnull=True,
            email_digest__in={digest for _, digest, _, _ in rows},
        )
        .filter(Q(source_updated_at__isnull=False) | Exists(own_orders))
        .order_by("email_digest", "user_id")
        .values_list("email_digest", "pk")
    )
    target: dict[str, int] = {}
    for digest, pk in standing:
        target.setdefault(digest, pk)
    target.update(_guest_profiles({d for _, d, _, _ in rows} - set(target)))
    merges = merges_in_force(target.values())
    moves: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for pk, digest, _, (profile_id, merged_from) in rows:
        place = route(target[digest], merges)
        if (profile_id, merged_from) != place:
            moves[place].append(pk)
            touched.update((profile_id, place[0]))
    for (profile_id, merged_from), order_pks in moves.items():
        OrderRecord.objects.filter(pk__in=order_pks).update(
            profile_id=profile_id, merged_from_id=merged_from
        )


def _settle(touched: set[int], digests: set[str]) -> list[int]:
    """Apply the ownership rule around the touched profiles, then recompute their figures."""
    digests = digests | _derive_registered_emails(touched)
    # Emails found only now (a profile's former or derived email) are locked too. Taken out of
    # sorted order, they can deadlock with another worker: PostgreSQL then aborts one, whose
    # task retries (OperationalError).
    _lock(f"email:{d}" for d in digests)
    _rehome_guest_orders(digests, touched)
    # A profile stands on its orders, a customer snapshot, a deletion record, or a merge.
    CustomerProfile.objects.filter(
        pk__in=touched, source_updated_at__isnull=True, anonymized_at__isnull=True
    ).exclude(Exists(OrderRecord.objects.filter(profile=OuterRef("pk")))).exclude(
        Exists(OrderRecord.objects.filter(merged_from=OuterRef("pk")))
    ).exclude(Exists(ProfileMerge.objects.filter(absorbed=OuterRef("pk")))).exclude(
        Exists(ProfileMerge.objects.filter(survivor=OuterRef("pk")))
    ).delete()
    recompute_profiles(touched)
    return list(
        CustomerProfile.objects.filter(pk__in=touched).order_by("pk").values_list("pk", flat=True)
    )


def settle_profiles(after: int, limit: int, until: int | None = None) -> list[int]:
    """Settle the next `limit` profiles by id after `after` (up to `until`), in one
    transaction: the ownership rule around them, then their figures. Return their ids (none
    when none is left).

    What a backfill runs over every profile once its orders are written unsettled
    (`ingest_orders(..., settle=False)`): settling each profile once is the same as settling
    after each batch, as the rule derives everything from the stored rows.
    """
    with transaction.atomic():
        profiles = CustomerProfile.objects.filter(pk__gt=after)
        if until is not None:
            profiles = profiles.filter(pk__lte=until)
        ids = list(profiles.order_by("pk").values_list("pk", flat=True)[:limit])
        if not ids:
            return ids
        digests = set(
            CustomerProfile.objects.filter(pk__in=ids, email_digest__isnull=False).values_list(
                "email_digest", flat=True
            )
        )
        digests |= set(
            OrderRecord.objects.filter(
                profile_id__in=ids, user_id__isnull=True, email_digest__isnull=False
            )
            .order_by()
            .values_list("email_digest", flat=True)
            .distinct()
        )
        _settle(set(ids), digests)
    return ids


# --- orders -------------------------------------------------------------------------------


def _order_values(
    snapshot: OrderSnapshot, profile_id: int, digest: str | None, merged_from: int | None
) -> tuple:
    """Return the order row's values, in `_ORDER_FIELDS` order after the order id."""
    return (
        snapshot.order_id,
        snapshot.number or "",
        profile_id,
        snapshot.user_id,
        digest,
        snapshot.channel,
        snapshot.currency,
        snapshot.status.value,
        snapshot.counts,
        snapshot.placed_at,
        snapshot.paid_at,
        snapshot.refunded_at,
        snapshot.cancelled_at,
        snapshot.fulfilled_at,
        snapshot.shipping_gross,
        snapshot.shipping_net,
        snapshot.total_gross,
        snapshot.total_net,
        snapshot.paid_amount,
        snapshot.refunded_amount,
        snapshot.net_spend,
        snapshot.updated_at,
        snapshot.fingerprint(),
        merged_from,
    )


def _line_values(snapshot: OrderSnapshot) -> list[tuple]:
    """Return the order's line rows' values, in `_LINE_FIELDS` order after the order."""
    return [
        (
            line.line_id,
            line.sku,
            line.variant_id,
            line.product_id,
            line.category_id,
            line.product_name,
            line.quantity,
            line.unit_price_gross,
            snapshot.currency,
        )
        for line in snapshot.lines
    ]


def ingest_orders(snapshots: Iterable[OrderSnapshot], settle: bool = True) -> IngestResult:
    """Reconcile the ledger with these order snapshots, in one transaction.

    Orders whose stored version is the same or newer are left alone; the profiles around the
    others are settled and their figures recomputed from their orders. With `settle=False`
    (a backfill, which settles every profile once at the end with `settle_profiles`) the
    orders are written to the profile of their user or guest email and `profile_ids` lists
    the profiles left unsettled.
    """
    winners = _newest(snapshots, lambda s: s.order_id)
    result = IngestResult()
    if not winners:
        return result
    key = _digest_key()
    digests = {order_id: email_digest(s.email, key) for order_id, s in winners.items()}
    lock_keys = [f"order:{order_id}" for order_id in winners]
    lock_keys += [f"user:{s.user_id}" for s in winners.values() if s.user_id]
    lock_keys += [f"email:{d}" for d in digests.values() if d]
    with transaction.atomic():
        _lock(lock_keys)
        existing = {
            row["order_id"]: row
            for row in OrderRecord.objects.filter(AnyOf("order_id", winners)).values(
                "order_id",
                "profile_id",
                "email_digest",
                "source_updated_at",
                "source_fingerprint",
                "merged_from_id",
                "profile__anonymized_at",
                "merged_from__anonymized_at",
            )
        }
        fresh = []
        for order_id in sorted(winners):
            row = existing.get(order_id)
            version = row and (row["source_updated_at"], row["source_fingerprint"])
            if row is not None and version >= winners[order_id].version_key():
                result.unchanged += 1
            else:
                fresh.append(winners[order_id])
                if row is None:
                    result.created += 1
                else:
                    result.updated += 1
        if not fresh:
            return result
        kept = {  # orders of deleted customers stay with the anonymous aggregates
            s.order_id
            for s in fresh
            if s.order_id in existing
            and existing[s.order_id][
                "merged_from__anonymized_at"
                if existing[s.order_id]["merged_from_id"]
                else "profile__anonymized_at"
            ]
        }
        users = _user_profiles(
            {s.user_id: digests[s.order_id] for s in fresh if s.user_id and s.order_id not in kept}
        )
        guests = _guest_profiles(
            digests[s.order_id] for s in fresh if not s.user_id and s.order_id not in kept
        )
        touched: set[int] = set()
        affected_digests: set[str] = set()
        homes = {}
        for snapshot in fresh:
            if snapshot.order_id not in kept:
                homes[snapshot.order_id] = (
                    users[snapshot.user_id].pk
                    if snapshot.user_id
                    else guests[digests[snapshot.order_id]]
                )
        merges = merges_in_force(homes.values())
        rows = []
        for snapshot in fresh:
            row = existing.get(snapshot.order_id)
            digest = digests[snapshot.order_id]
            merged_from = None
            if snapshot.order_id in kept:
                profile_id, digest = row["profile_id"], None
                merged_from = row["merged_from_id"]
            elif snapshot.user_id:
                profile = users[snapshot.user_id]
                profile_id = profile.pk
                if profile.anonymized_at is not None:
                    digest = None
            else:
                profile_id = guests[digest]
            if snapshot.order_id not in kept:
                profile_id, merged_from = route(profile_id, merges)
            if row is not None:
                touched.add(row["profile_id"])
                affected_digests.add(row["email_digest"])
            touched.add(profile_id)
            affected_digests.add(digest)
            rows.append(_order_values(snapshot, profile_id, digest, merged_from))
        _write_orders(rows, fresh, stored={s.order_id for s in fresh if s.order_id in existing})
        if settle:
            result.profile_ids = _settle(touched, {d for d in affected_digests if d})
        else:
            result.profile_ids = sorted(touched)
    return result


def _write_orders(rows: list[tuple], snapshots: list[OrderSnapshot], stored: set[str]) -> None:
    """Write the order rows (`_order_values`) and their lines; `stored` names the orders
    already in the ledger, whose rows are updated and whose lines are replaced.

    The orders are locked (`_lock`), so no other writer adds or changes them meanwhile.
    """
    lines = {snapshot.order_id: _line_values(snapshot) for snapshot in snapshots}
    new = [row for row in rows if row[0] not in stored]
    ids = _add_new_orders(new)
    if len(new) < len(rows):
        ids.update(_update_order_rows([row for row in rows if row[0] in stored]))
        OrderLineRecord.objects.filter(order_id__in=[ids[i] for i in stored]).delete()
    add_rows(
        OrderLineRecord,
        ["order", *_LINE_FIELDS],
        [(ids[order_id], *line) for order_id, values in lines.items() for line in values],
    )


_LINE_FIELDS = [  # the line row's fields after `order`, as `_line_values` gives them
    "line_id",
    "sku",
    "variant_id",
    "product_id",
    "category_id",
    "product_name",
    "quantity",
    "unit_price_gross_amount",
    "currency",
]


def _add_new_orders(rows: list[tuple]) -> dict[str, int]:
    """Add these new order rows with their ids taken up front; return the id of each order id.
    `created_at` and `updated_at` are the time of the write."""
    if not rows:
        return {}
    ids = new_ids(OrderRecord, len(rows))
    now = timezone.now()
    add_rows(
        OrderRecord,
        ["id", "order_id", *_ORDER_FIELDS, "created_at", "updated_at"],
        [(pk, *row, now, now) for pk, row in zip(ids, rows, strict=True)],
    )
    return {row[0]: pk for pk, row in zip(ids, rows, strict=True)}


def _update_order_rows(rows: list[tuple]) -> dict[str, int]:
    """Write these stored orders' rows (by order id); return the id of each.

    `updated_at` becomes the time of the write; `created_at` stays.
    """
    now = timezone.now()
    add_rows(
        OrderRecord,
        ["order_id", *_ORDER_FIELDS, "created_at", "updated_at"],
        [(*row, now, now) for row in rows],
        unique=["order_id"],
        update=[*_ORDER_FIELDS, "updated_at"],
    )
    return dict(
        OrderRecord.objects.filter(AnyOf("order_id", [row[0] for row in rows])).values_list(
            "order_id", "pk"
        )
    )


# --- customers ----------------------------------------------------------------------------


def ingest_customers(snapshots: Iterable[CustomerSnapshot], settle: bool = True) -> IngestResult:
    """Reconcile profiles with these customer snapshots, in one transaction.

    A registered customer's profile takes their email, and with it their guest orders; a
    deleted customer's profile loses its email digest (and its orders theirs) while its
    aggregates stay. A deletion is final: nothing older or newer undoes it. With
    `settle=False` (a backfill) the profiles are written and left to `settle_profiles`.
    """
    winners = _newest(snapshots, lambda s: s.user_id, rank=lambda s: (s.deleted, s.version_key()))
    result = IngestResult()
    if not winners:
        return result
    key = _digest_key()
    # An unconfirmed customer's email is not yet theirs: no digest, so neither the guest
    # profile nor the guest orders of that email move to them until it is confirmed.
    digests = {
        user_id: email_digest(s.email, key) if s.email_confirmed else None
        for user_id, s in winners.items()
    }
    lock_keys = [f"user:{user_id}" for user_id in winners]
    lock_keys += [f"email:{d}" for d in digests.values() if d]
    with transaction.atomic():
        _lock(lock_keys)
        existing = {p.user_id: p for p in CustomerProfile.objects.filter(user_id__in=list(winners))}
        fresh = []
        for user_id in sorted(winners):
            snapshot, profile = winners[user_id], existing.get(user_id)
            if profile is not None and (
                profile.anonymized_at is not None
                or (
                    not snapshot.deleted
                    and profile.source_updated_at is not None
                    and (profile.source_updated_at, profile.source_fingerprint)
                    >= snapshot.version_key()
                )
            ):
                result.unchanged += 1
                continue
            fresh.append(snapshot)
            if profile is None:
                result.created += 1
            else:
                result.updated += 1
        profiles = _user_profiles({s.user_id: digests[s.user_id] for s in fresh})
        touched: set[int] = set()
        affected_digests: set[str] = set()
        now = timezone.now()
        registered = []
        for snapshot in fresh:
            profile = profiles[snapshot.user_id]
            affected_digests.update((profile.email_digest, digests[snapshot.user_id]))
            if snapshot.deleted:
                _anonymize(profile, snapshot)
            else:
                profile.email_digest = digests[snapshot.user_id]
                profile.joined_at = snapshot.joined_at
                profile.source_updated_at = snapshot.updated_at
                profile.source_fingerprint = snapshot.fingerprint()
                profile.updated_at = now
                registered.append(profile)
            touched.add(profile.pk)
        update_rows(
            CustomerProfile,
            ["email_digest", "joined_at", "source_updated_at", "source_fingerprint", "updated_at"],
            registered,
        )
        if settle:
            result.profile_ids = _settle(touched, {d for d in affected_digests if d})
        else:
            result.profile_ids = sorted(touched)
    return result


def _anonymize(profile: CustomerProfile, snapshot: CustomerSnapshot) -> None:
    profile.email_digest = None
    profile.anonymized_at = snapshot.updated_at
    profile.source_updated_at = snapshot.updated_at
    profile.source_fingerprint = snapshot.fingerprint()
    profile.save(
        update_fields=[
            "email_digest",
            "anonymized_at",
            "source_updated_at",
            "source_fingerprint",
            "updated_at",
        ]
    )
    OrderRecord.objects.filter(
        Q(profile=profile, merged_from__isnull=True) | Q(merged_from=profile)
    ).update(email_digest=None)
    # A deleted customer is not scored: the rows keep the figures, not the scores.
    CustomerSpend.objects.filter(profile=profile).update(profile_active=False, **UNSCORED)
    # What other rows copied of them (addresses, error texts, webhook payloads) goes too.
    from ..privacy.erasure import erase_copies

    erase_copies([profile.pk], snapshot.updated_at)


def erase_guest_profiles(profile_ids: Iterable[int], at, idle_since=None) -> list[int]:
    """Erase these guest profiles as a deletion erases a customer: the profile and its orders
    lose the email digest (their figures stay, anonymous), the copies other rows hold go
    (`privacy.erasure`). Profiles that are no longer guests, already erased, or (with
    `idle_since`) with an order placed since then are left alone. In one transaction, with
    the emails locked against ingestion; returns the ids erased."""
    with transaction.atomic():
        candidates = CustomerProfile.objects.filter(
            pk__in=sorted(set(profile_ids)), user_id__isnull=True, anonymized_at__isnull=True
        )
        _lock(f"email:{d}" for d in candidates.values_list("email_digest", flat=True) if d)
        # read again under the locks: an order of the email may have just come in
        if idle_since is not None:
            recent = OrderRecord.objects.filter(profile=OuterRef("pk"), placed_at__gte=idle_since)
            candidates = candidates.exclude(Exists(recent))
        profiles = list(
            candidates.select_for_update().order_by("pk").only("pk", "email_digest", "updated_at")
        )
        ids = [profile.pk for profile in profiles]
        if not ids:
            return ids
        CustomerProfile.objects.filter(pk__in=ids).update(
            email_digest=None, anonymized_at=at, updated_at=timezone.now()
        )
        OrderRecord.objects.filter(profile_id__in=ids).update(email_digest=None)
        CustomerSpend.objects.filter(profile_id__in=ids).update(profile_active=False, **UNSCORED)
        from ..privacy.erasure import erase_copies

        erase_copies(ids, at)
    return ids


# --- aggregates ---------------------------------------------------------------------------


# `recompute_profiles` on PostgreSQL, for the profile ids `%(ids)s`. The figures are those of
# the Python path: spend and average rounded half-up to the currency's minor unit
# (`money.quantize_amount`; `round` rounds half away from zero, the same for amounts, which are
# never negative), and `_lapse_at` in whole microseconds rounded half to even, as Python
# divides a timedelta.
_RECOMPUTE_SQL = """
WITH ids AS (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id),
orders AS (
    SELECT o.profile_id, o.currency, count(*) AS n, sum(o.net_spend_amount) AS spent,
           min(o.placed_at) AS first, max(o.placed_at) AS last
    FROM saleor_crm_orderrecord o JOIN ids ON ids.id = o.profile_id
    WHERE o.counts
    GROUP BY o.profile_id, o.currency
),
totals AS (
    SELECT ids.id AS profile_id, coalesce(sum(orders.n), 0)::integer AS n,
           min(orders.first) AS first, max(orders.last) AS last,
           (extract(epoch FROM max(orders.last)) - extract(epoch FROM min(orders.first)))
               * 1000000 AS span
    FROM ids LEFT JOIN orders ON orders.profile_id = ids.id
    GROUP BY ids.id
),
figures AS (
    SELECT t.profile_id, t.n, t.first, t.last,
           CASE WHEN t.n > 1 THEN t.last + (
               div(t.span, t.n - 1)
               + CASE WHEN 2 * mod(t.span, t.n - 1) > t.n - 1
                        OR (2 * mod(t.span, t.n - 1) = t.n - 1
                            AND mod(div(t.span, t.n - 1), 2) = 1)
                      THEN 1 ELSE 0 END
           ) * interval '1 microsecond' END AS lapse
    FROM totals t
),
profiles AS (
    UPDATE saleor_crm_customerprofile p
    SET order_count = f.n, first_order_at = f.first, last_order_at = f.last, lapse_at = f.lapse
    FROM figures f
    WHERE p.id = f.profile_id
      AND (p.order_count, p.first_order_at, p.last_order_at, p.lapse_at)
          IS DISTINCT FROM (f.n, f.first, f.last, f.lapse)
),
gone AS (
    DELETE FROM saleor_crm_customerspend s USING ids
    WHERE s.profile_id = ids.id AND NOT EXISTS (
        SELECT 1 FROM orders o WHERE o.profile_id = s.profile_id AND o.currency = s.currency)
)
INSERT INTO saleor_crm_customerspend AS s (
    profile_id, currency, order_count, total_spent_amount, average_order_amount,
    first_order_at, last_order_at, profile_order_count, profile_first_order_at,
    profile_last_order_at, profile_lapse_at, profile_active)
SELECT o.profile_id, o.currency, o.n, round(o.spent, u.scale), round(o.spent / o.n, u.scale),
       o.first, o.last, f.n, f.first, f.last, f.lapse, p.anonymized_at IS NULL
FROM orders o
JOIN figures f ON f.profile_id = o.profile_id
JOIN saleor_crm_customerprofile p ON p.id = o.profile_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN o.currency = ANY(%(zero)s) THEN 0
                WHEN o.currency = ANY(%(three)s) THEN 3 ELSE 2 END AS scale) u
ORDER BY o.profile_id, o.currency
ON CONFLICT (profile_id, currency) DO UPDATE SET
    order_count = EXCLUDED.order_count,
    total_spent_amount = EXCLUDED.total_spent_amount,
    average_order_amount = EXCLUDED.average_order_amount,
    first_order_at = EXCLUDED.first_order_at,
    last_order_at = EXCLUDED.last_order_at,
    profile_order_count = EXCLUDED.profile_order_count,
    profile_first_order_at = EXCLUDED.profile_first_order_at,
    profile_last_order_at = EXCLUDED.profile_last_order_at,
    profile_lapse_at = EXCLUDED.profile_lapse_at,
    profile_active = EXCLUDED.profile_active
WHERE (s.order_count, s.total_spent_amount, s.average_order_amount, s.first_order_at,
       s.last_order_at, s.profile_order_count, s.profile_first_order_at,
       s.profile_last_order_at, s.profile_lapse_at, s.profile_active)
    IS DISTINCT FROM (EXCLUDED.order_count, EXCLUDED.total_spent_amount,
       EXCLUDED.average_order_amount, EXCLUDED.first_order_at, EXCLUDED.last_order_at,
       EXCLUDED.profile_order_count, EXCLUDED.profile_first_order_at,
       EXCLUDED.profile_last_order_at, EXCLUDED.profile_lapse_at, EXCLUDED.profile_active)
"""


def _lapse_at(order_count: int, first_order_at, last_order_at):
    """Return the last order plus the customer's average gap between orders (None under two)."""
    if order_count < 2:
        return None
    return last_order_at + (last_order_at - first_order_at) / (order_count - 1)


def recompute_profiles(profile_ids: Iterable[int]) -> None:
    """Recompute order count, first/last order and per-currency spend from the orders.

    One aggregate over the profiles' counted orders gives both: a profile's figures are those
    of its currencies together. Only the profiles and spend rows whose figures change are
    written. On PostgreSQL all of it is one statement (`_RECOMPUTE_SQL`); elsewhere the same
    figures are computed here.
    """
    ids = sorted(set(profile_ids))
    if not ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _RECOMPUTE_SQL,
                {"ids": ids, "zero": sorted(ZERO_DECIMAL), "three": sorted(THREE_DECIMAL)},
            )
        return
    _recompute_in_python(ids)


def _recompute_in_python(ids: list[int]) -> None:
    """`recompute_profiles` on any database: the figures computed here from one aggregate."""
    spends = list(
        OrderRecord.objects.filter(AnyOf("profile_id", ids), counts=True)
        .values("profile_id", "currency")
        .annotate(
            n=Count("pk"),
            spent=Sum("net_spend_amount"),
            first=Min("placed_at"),
            last=Max("placed_at"),
        )
        .order_by("profile_id", "currency")
    )
    totals: dict[int, tuple] = {}
    for row in spends:
        count, first, last = totals.get(row["profile_id"], (0, row["first"], row["last"]))
        totals[row["profile_id"]] = (
            count + row["n"],
            min(first, row["first"]),
            max(last, row["last"]),
        )
    profiles = {
        profile.pk: profile
        for profile in CustomerProfile.objects.filter(AnyOf("pk", ids)).only(
            "pk", *PROFILE_COPIES, "anonymized_at"
        )
    }
    changed = []
    for profile in profiles.values():
        count, first, last = totals.get(profile.pk, (0, None, None))
        figures = {
            "order_count": count,
            "first_order_at": first,
            "last_order_at": last,
            "lapse_at": _lapse_at(count, first, last),
        }
        if any(getattr(profile, name) != value for name, value in figures.items()):
            for name, value in figures.items():
                setattr(profile, name, value)
            changed.append(profile)
    update_rows(CustomerProfile, list(PROFILE_COPIES), changed)
    rows = [
        CustomerSpend(
            profile_id=row["profile_id"],
            currency=row["currency"],
            order_count=row["n"],
            total_spent_amount=quantize_amount(row["spent"], row["currency"]),
            average_order_amount=quantize_amount(row["spent"] / row["n"], row["currency"]),
            first_order_at=row["first"],
            last_order_at=row["last"],
            **_profile_copies(profiles[row["profile_id"]]),
        )
        for row in spends
    ]
    # Update in place (the scores on the rows stay until they are rescored); drop the
    # currencies a profile no longer has counted orders in.
    wanted = {(row.profile_id, row.currency) for row in rows}
    gone = [
        pk
        for pk, profile_id, currency in CustomerSpend.objects.filter(
            profile_id__in=ids
        ).values_list("pk", "profile_id", "currency")
        if (profile_id, currency) not in wanted
    ]
    CustomerSpend.objects.filter(pk__in=gone).delete()
    add_objects(
        CustomerSpend,
        rows,
        unique=["profile", "currency"],
        update=[*SPEND_FIGURES, *PROFILE_COPIES.values(), "profile_active"],
    )


SPEND_FIGURES = [
    "order_count",
    "total_spent_amount",
    "average_order_amount",
    "first_order_at",
    "last_order_at",
]


def _profile_copies(profile: CustomerProfile) -> dict:
    copies = {copy: getattr(profile, field) for field, copy in PROFILE_COPIES.items()}
    copies["profile_active"] = profile.anonymized_at is None
    return copies

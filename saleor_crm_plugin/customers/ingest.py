"""Ingestion: the single door through which orders and customers enter the ledger.

Idempotent and order-independent: every snapshot carries a version (`updated_at`, then a
fingerprint), the ledger keeps the newest one per order or customer, and every derived figure
(order count, spend, first/last order) is recomputed from the stored orders, never adjusted by
deltas. Feeding the same snapshots twice, or in another order, leaves the same rows.
"""

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ..money import quantize_amount
from .models import CustomerProfile, CustomerSpend, OrderLineRecord, OrderRecord
from .snapshots import CustomerSnapshot, OrderSnapshot, email_digest

logger = logging.getLogger(__name__)

__all__ = ["IngestResult", "digest_for", "ingest_customers", "ingest_orders", "recompute_profiles"]

_ORDER_FIELDS = [
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
    "total_gross_amount",
    "total_net_amount",
    "paid_amount",
    "refunded_amount",
    "net_spend_amount",
    "source_updated_at",
    "source_fingerprint",
]


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

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
    """Serialize writers of the same orders and customers until the transaction ends.

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


def _absorb_guest(profile: CustomerProfile, digest: str | None, touched: set[int]) -> None:
    """Move the guest profile with this email (if any) into a registered profile."""
    if digest is None:
        return
    guest = CustomerProfile.objects.filter(
        user_id__isnull=True, anonymized_at__isnull=True, email_digest=digest
    ).first()
    if guest is None or guest.pk == profile.pk:
        return
    OrderRecord.objects.filter(profile=guest).update(profile=profile)
    touched.discard(guest.pk)
    guest.delete()
    touched.add(profile.pk)


def _user_profile(user_id: str, digest: str | None, touched: set[int]) -> CustomerProfile:
    """Return the profile of a registered customer, adopting their guest history."""
    profile = CustomerProfile.objects.filter(user_id=user_id).first()
    if profile is None:
        guest = None
        if digest is not None:
            guest = CustomerProfile.objects.filter(
                user_id__isnull=True, anonymized_at__isnull=True, email_digest=digest
            ).first()
        if guest is not None:
            guest.user_id = user_id
            guest.save(update_fields=["user_id", "updated_at"])
            profile = guest
        else:
            profile = CustomerProfile.objects.create(user_id=user_id, email_digest=digest)
    elif profile.anonymized_at is None:
        _absorb_guest(profile, digest, touched)
    touched.add(profile.pk)
    return profile


def _guest_profile(digest: str, touched: set[int]) -> CustomerProfile:
    """Return the registered profile with this email, else the guest profile for it."""
    profile = (
        CustomerProfile.objects.filter(
            user_id__isnull=False, anonymized_at__isnull=True, email_digest=digest
        )
        .order_by("user_id")
        .first()
    )
    if profile is None:
        profile, _ = CustomerProfile.objects.get_or_create(
            user_id=None, anonymized_at=None, email_digest=digest
        )
    touched.add(profile.pk)
    return profile


def _profile_for_order(
    snapshot: OrderSnapshot, digest: str | None, existing: OrderRecord | None, touched: set[int]
) -> CustomerProfile:
    if existing is not None and existing.profile.anonymized_at is not None:
        # The customer was deleted: the order stays with the anonymous aggregates.
        touched.add(existing.profile_id)
        return existing.profile
    if snapshot.user_id is not None:
        return _user_profile(snapshot.user_id, digest, touched)
    return _guest_profile(digest, touched)


# --- orders -------------------------------------------------------------------------------


def _order_record(snapshot: OrderSnapshot, profile: CustomerProfile, digest) -> OrderRecord:
    return OrderRecord(
        order_id=snapshot.order_id,
        number=snapshot.number or "",
        profile=profile,
        user_id=snapshot.user_id,
        email_digest=None if profile.anonymized_at else digest,
        channel=snapshot.channel,
        currency=snapshot.currency,
        status=snapshot.status.value,
        counts=snapshot.counts,
        placed_at=snapshot.placed_at,
        paid_at=snapshot.paid_at,
        refunded_at=snapshot.refunded_at,
        cancelled_at=snapshot.cancelled_at,
        total_gross_amount=snapshot.total_gross,
        total_net_amount=snapshot.total_net,
        paid_amount=snapshot.paid_amount,
        refunded_amount=snapshot.refunded_amount,
        net_spend_amount=snapshot.net_spend,
        source_updated_at=snapshot.updated_at,
        source_fingerprint=snapshot.fingerprint(),
    )


def ingest_orders(snapshots: Iterable[OrderSnapshot]) -> IngestResult:
    """Reconcile the ledger with these order snapshots, in one transaction.

    Orders whose stored version is the same or newer are left alone; profiles touched get
    their aggregates recomputed from their orders.
    """
    winners = _newest(snapshots, lambda s: s.order_id)
    result = IngestResult()
    if not winners:
        return result
    digests = {order_id: digest_for(s.email) for order_id, s in winners.items()}
    lock_keys = [f"order:{order_id}" for order_id in winners]
    lock_keys += [f"user:{s.user_id}" for s in winners.values() if s.user_id]
    lock_keys += [f"email:{d}" for d in digests.values() if d]
    with transaction.atomic():
        _lock(lock_keys)
        existing = {
            record.order_id: record
            for record in OrderRecord.objects.select_related("profile").filter(
                order_id__in=list(winners)
            )
        }
        touched: set[int] = set()
        records = []
        for order_id in sorted(winners):
            snapshot = winners[order_id]
            record = existing.get(order_id)
            if (
                record is not None
                and (
                    record.source_updated_at,
                    record.source_fingerprint,
                )
                >= snapshot.version_key()
            ):
                result.unchanged += 1
                continue
            if record is None:
                result.created += 1
            else:
                result.updated += 1
                touched.add(record.profile_id)
            profile = _profile_for_order(snapshot, digests[order_id], record, touched)
            records.append(_order_record(snapshot, profile, digests[order_id]))
        if records:
            _write_orders(records, [winners[r.order_id] for r in records])
        recompute_profiles(touched)
    return result


def _write_orders(records: list[OrderRecord], snapshots: list[OrderSnapshot]) -> None:
    OrderRecord.objects.bulk_create(
        records, update_conflicts=True, unique_fields=["order_id"], update_fields=_ORDER_FIELDS
    )
    ids = dict(
        OrderRecord.objects.filter(order_id__in=[r.order_id for r in records]).values_list(
            "order_id", "pk"
        )
    )
    OrderLineRecord.objects.filter(order_id__in=ids.values()).delete()
    OrderLineRecord.objects.bulk_create(
        [
            OrderLineRecord(
                order_id=ids[snapshot.order_id],
                line_id=line.line_id,
                sku=line.sku,
                variant_id=line.variant_id,
                product_name=line.product_name,
                quantity=line.quantity,
                unit_price_gross_amount=line.unit_price_gross,
                currency=snapshot.currency,
            )
            for snapshot in snapshots
            for line in snapshot.lines
        ]
    )


# --- customers ----------------------------------------------------------------------------


def ingest_customers(snapshots: Iterable[CustomerSnapshot]) -> IngestResult:
    """Reconcile profiles with these customer snapshots, in one transaction.

    A registered customer adopts the guest profile of their email; a deleted customer's
    profile loses its email digest (and its orders theirs) while its aggregates stay.
    """
    winners = _newest(snapshots, lambda s: s.user_id, rank=lambda s: (s.deleted, s.version_key()))
    result = IngestResult()
    if not winners:
        return result
    digests = {user_id: digest_for(s.email) for user_id, s in winners.items()}
    lock_keys = [f"user:{user_id}" for user_id in winners]
    lock_keys += [f"email:{d}" for d in digests.values() if d]
    with transaction.atomic():
        _lock(lock_keys)
        existing = {p.user_id: p for p in CustomerProfile.objects.filter(user_id__in=list(winners))}
        touched: set[int] = set()
        for user_id in sorted(winners):
            snapshot = winners[user_id]
            profile = existing.get(user_id)
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
            if profile is None:
                result.created += 1
            else:
                result.updated += 1
            if snapshot.deleted:
                profile = profile or CustomerProfile.objects.create(user_id=user_id)
                _anonymize(profile, snapshot)
            else:
                profile = _user_profile(user_id, digests[user_id], touched)
                profile.email_digest = digests[user_id]
                profile.joined_at = snapshot.joined_at
                profile.source_updated_at = snapshot.updated_at
                profile.source_fingerprint = snapshot.fingerprint()
                profile.save(
                    update_fields=[
                        "email_digest",
                        "joined_at",
                        "source_updated_at",
                        "source_fingerprint",
                        "updated_at",
                    ]
                )
            touched.add(profile.pk)
        recompute_profiles(touched)
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
    OrderRecord.objects.filter(profile=profile).update(email_digest=None)


# --- aggregates ---------------------------------------------------------------------------


def recompute_profiles(profile_ids: Iterable[int]) -> None:
    """Recompute order count, first/last order, email and per-currency spend from the orders."""
    ids = sorted(set(profile_ids))
    if not ids:
        return
    counted = OrderRecord.objects.filter(profile=OuterRef("pk"), counts=True)
    per_profile = counted.values("profile")
    latest_order_digest = (
        OrderRecord.objects.filter(profile=OuterRef("pk"), email_digest__isnull=False)
        .order_by("-placed_at", "-order_id")
        .values("email_digest")[:1]
    )
    CustomerProfile.objects.filter(pk__in=ids).update(
        order_count=Coalesce(Subquery(per_profile.annotate(n=Count("pk")).values("n")), Value(0)),
        first_order_at=Subquery(per_profile.annotate(t=Min("placed_at")).values("t")),
        last_order_at=Subquery(per_profile.annotate(t=Max("placed_at")).values("t")),
    )
    # Without a customer snapshot, a registered profile is known by its latest order's email.
    CustomerProfile.objects.filter(
        pk__in=ids,
        user_id__isnull=False,
        source_updated_at__isnull=True,
        anonymized_at__isnull=True,
    ).update(email_digest=Subquery(latest_order_digest))
    spends = (
        OrderRecord.objects.filter(profile_id__in=ids, counts=True)
        .values("profile_id", "currency")
        .annotate(
            n=Count("pk"),
            spent=Sum("net_spend_amount"),
            first=Min("placed_at"),
            last=Max("placed_at"),
        )
        .order_by("profile_id", "currency")
    )
    # A guest profile exists only for its orders: one left without any goes.
    CustomerProfile.objects.filter(
        pk__in=ids, user_id__isnull=True, anonymized_at__isnull=True
    ).exclude(Exists(OrderRecord.objects.filter(profile=OuterRef("pk")))).delete()
    CustomerSpend.objects.filter(profile_id__in=ids).delete()
    CustomerSpend.objects.bulk_create(
        [
            CustomerSpend(
                profile_id=row["profile_id"],
                currency=row["currency"],
                order_count=row["n"],
                total_spent_amount=quantize_amount(row["spent"], row["currency"]),
                average_order_amount=quantize_amount(row["spent"] / row["n"], row["currency"]),
                first_order_at=row["first"],
                last_order_at=row["last"],
            )
            for row in spends
        ]
    )

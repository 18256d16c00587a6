"""What follows a change to orders or customers: the one place that says it, in this order.

1. the ledger (customers first, so an order finds its customer's profile; then orders),
2. RFM scores and predictions (with the fit in force) of the customers touched,
3. points and ranks,
4. subscriptions the orders start,
5. the package inserts of orders first seen paid (decided from how their customers stood before
   the batch: read before step 1), written to the orders' `crm.inserts`,
6. the `crm.*` metadata (and the rank's effects) in the store, except for accounts whose email
   is not confirmed yet (they adopt their guest history, and earn on it, once they confirm).

Every step is idempotent and reads the ledger rather than the previous step's result: a
batch that failed half-way and runs again finishes the follow-ups of orders the first run
already recorded.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ..analytics.predictions import score_profiles
from ..campaigns.insert_services import apply_inserts, insert_standing
from ..conf import CRMConfig
from ..customers.ingest import IngestResult, ingest_customers, ingest_orders
from ..customers.models import CustomerProfile, OrderRecord
from ..customers.snapshots import CustomerSnapshot
from ..host import Host
from ..loyalty.orders import settle_loyalty
from ..metadata import sync_customer_metadata
from ..segments.services import rescore_profiles
from ..subscriptions.orders import start_subscriptions

__all__ = ["Changes", "PipelineReport", "apply"]


@dataclass
class Changes:
    """Store objects that changed: order ids, user ids, and deleted users with the time."""

    orders: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    deletions: list[tuple[str, datetime]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.orders or self.customers or self.deletions)


@dataclass
class PipelineReport:
    orders: IngestResult = field(default_factory=IngestResult)
    customers: IngestResult = field(default_factory=IngestResult)
    # Objects the store no longer has (or, for users, staff accounts): nothing to record.
    missing: int = 0
    points_entries: int = 0
    rank_changes: int = 0
    subscriptions_started: int = 0
    metadata_written: int = 0
    predictions: int = 0  # prediction rows written with the fits in force
    inserts_decided: int = 0  # orders whose package inserts were decided
    inserts_written: int = 0  # orders whose crm.inserts the store wrote

    def as_dict(self) -> dict:
        return {
            "orders": _counts(self.orders),
            "customers": _counts(self.customers),
            "missing": self.missing,
            "points_entries": self.points_entries,
            "rank_changes": self.rank_changes,
            "subscriptions_started": self.subscriptions_started,
            "metadata_written": self.metadata_written,
            "predictions": self.predictions,
            "inserts_decided": self.inserts_decided,
            "inserts_written": self.inserts_written,
        }


def _counts(result: IngestResult) -> dict:
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}


def _profiles_of_orders(order_ids: Iterable[str]) -> set[int]:
    return set(
        OrderRecord.objects.filter(order_id__in=list(order_ids)).values_list(
            "profile_id", flat=True
        )
    )


def _profiles_of_users(user_ids: Iterable[str]) -> set[int]:
    return set(
        CustomerProfile.objects.filter(user_id__in=list(user_ids)).values_list("pk", flat=True)
    )


def apply(host: Host, config: CRMConfig, changes: Changes, now: datetime) -> PipelineReport:
    """Record these changes in the ledger and bring everything that follows up to date."""
    report = PipelineReport()
    customers = host.customer_snapshots(changes.customers)
    orders = host.order_snapshots(changes.orders)
    report.missing = len(set(changes.customers) - set(customers)) + len(
        set(changes.orders) - set(orders)
    )
    deleted = [
        CustomerSnapshot(user_id=str(user_id), updated_at=at, deleted=True)
        for user_id, at in changes.deletions
    ]
    # How the customers stood before these orders (an order that makes them Champions is
    # still the one that found them At Risk).
    standing = insert_standing(host, config, orders.values(), now)
    report.customers = ingest_customers([*customers.values(), *deleted])
    report.orders = ingest_orders(orders.values())

    # The profiles the changes reach now, and those they left (an order that moved).
    customer_profiles = _profiles_of_users(customers) | set(report.customers.profile_ids)
    order_profiles = _profiles_of_orders(orders) | set(report.orders.profile_ids)
    touched = customer_profiles | order_profiles
    # Accounts whose email is not confirmed yet: nothing of theirs goes to the store (their
    # metadata is written once they confirm, with whatever Saleor then links to them).
    unconfirmed = _profiles_of_users(
        user_id for user_id, snapshot in customers.items() if not snapshot.email_confirmed
    )
    rescore_profiles(touched, config.zone, as_of=now, segments=config.segment_map)
    report.predictions = score_profiles(touched, now)
    # A customer who registers adopts their guest orders, which earn now: all their orders.
    adopted = settle_loyalty(config, host, customer_profiles - unconfirmed, now)
    loyalty = settle_loyalty(
        config, host, order_profiles - customer_profiles, now, order_ids=list(orders)
    )
    report.points_entries = loyalty.entries + adopted.entries
    report.rank_changes = loyalty.rank_changes + adopted.rank_changes
    report.subscriptions_started = start_subscriptions(host, config, list(orders.values()), now)
    inserts = apply_inserts(host, config, orders.values(), standing, now)
    report.inserts_decided, report.inserts_written = inserts.decided, inserts.written
    report.metadata_written = sync_customer_metadata(host, touched - unconfirmed)
    return report

"""Erase what CRM rows copy of a customer beyond the ledger's figures.

The ledger keeps ids, digests and figures (STYLE §13); a few rows still carry text that came
from the customer: a subscription's own shipping and billing address, the error a mail server
answered for a send (an SMTP refusal quotes the recipient's address), and the webhook
deliveries about the customer (their payload carries the template variables, the first name
among them), and the texts people typed about them: a staff adjustment's or rank pin's reason
(staff write "Hanako phoned about her parcel"), the audit rows that repeat it, a reason the
customer gave to pause or cancel a subscription. `erase_copies` removes them, keeping every
figure and the reasons the plugin writes itself (`import:<source>`); ingestion calls it when a
customer is deleted in the store, retention when a guest profile is erased.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

__all__ = ["ERASED_REASON", "ERASED_TEXT", "erase_copies"]

# Why a deleted customer's subscriptions end (their `cancel_reason`).
ERASED_REASON = "customer deleted"
# What stands for a text a person typed about the customer once it is erased.
ERASED_TEXT = "(erased)"
# Who types: staff, or the customer (`user:<id>`); the rules and the system do not.
_PEOPLE = Q(actor__startswith="staff:") | Q(actor__startswith="user:")


def _kept(field: str = "reason") -> Q:
    """Reasons kept: none, erased already, or written by the plugin itself."""
    return Q(**{field: ""}) | Q(**{field: ERASED_TEXT}) | Q(**{f"{field}__startswith": "import:"})


def erase_copies(profile_ids: Iterable[int], at: datetime) -> None:
    """End these customers' subscriptions and forget their addresses; blank their sends' error
    texts; drop the webhook deliveries about them. Idempotent, inside the caller's transaction.
    """
    from ..campaigns.models import CampaignSend
    from ..campaigns.webhooks import WebhookDelivery
    from ..subscriptions.models import Subscription, SubscriptionEvent
    from ..subscriptions.services import sync_cycles

    ids = sorted(set(profile_ids))
    if not ids:
        return
    live = Subscription.objects.filter(profile_id__in=ids).exclude(
        status=Subscription.Status.CANCELLED
    )
    for subscription in live.select_for_update().order_by("pk"):
        subscription.status = Subscription.Status.CANCELLED
        subscription.cancel_reason, subscription.cancelled_at = ERASED_REASON, at
        subscription.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
        SubscriptionEvent.objects.create(
            subscription=subscription,
            kind="cancel",
            actor="system",
            at=at,
            data={"reason": ERASED_REASON},
        )
        # a cancelled plan wants no cycles: the rules and the zone are not read
        sync_cycles(subscription, at.date(), rules=None, zone=None)
    Subscription.objects.filter(profile_id__in=ids).filter(
        ~Q(shipping_address={}) | ~Q(billing_address={})
    ).update(shipping_address={}, billing_address={})
    CampaignSend.objects.filter(profile_id__in=ids).exclude(error="").update(error="")
    WebhookDelivery.objects.filter(payload__profile__in=ids).delete()
    _erase_typed_texts(ids)


def _erase_typed_texts(ids: list[int]) -> None:
    from ..audit.models import AuditEvent
    from ..loyalty.models import MemberRank, PointsEntry, RankChange
    from ..subscriptions.models import Subscription, SubscriptionEvent

    # The points ledger is never rewritten but for this: its figures stay as they were.
    PointsEntry.objects.filter(account__profile_id__in=ids).filter(_PEOPLE).exclude(_kept()).update(
        reason=ERASED_TEXT
    )
    AuditEvent.objects.filter(profile_id__in=ids).filter(_PEOPLE).exclude(_kept()).update(
        reason=ERASED_TEXT
    )
    RankChange.objects.filter(profile_id__in=ids).filter(_PEOPLE).exclude(_kept()).update(
        reason=ERASED_TEXT
    )
    MemberRank.objects.filter(profile_id__in=ids).exclude(_kept("pin_reason")).update(
        pin_reason=ERASED_TEXT
    )
    Subscription.objects.filter(profile_id__in=ids).exclude(
        cancel_reason__in=("", ERASED_REASON, ERASED_TEXT)
    ).update(cancel_reason=ERASED_TEXT)
    typed = SubscriptionEvent.objects.filter(subscription__profile_id__in=ids).filter(
        _PEOPLE, data__has_key="reason"
    )
    for event in typed.exclude(data__reason__in=(ERASED_REASON, ERASED_TEXT)):
        event.data = {**event.data, "reason": ERASED_TEXT}
        event.save(update_fields=["data"])

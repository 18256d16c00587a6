"""Emails about subscriptions, through Django's configured email backend.

- A reminder to the customer `subscription-reminder-days` before each renewal order is created,
  sent only inside the store-time send window (the hourly run sends what fell due since).
- A failed renewal: the customer is told (with the next retry, or that staff will act), and so
  are the staff addresses of `subscription-staff-emails`.

Templates are Django templates under `saleor_crm/email/` (a subject and a body each); a store
overrides one by putting a file of the same path in its own templates folder (Saleor's
`templates/`), which Django's loaders read before ours. Every reminder is also recorded as a
`reminder_sent` subscription event, which campaigns can use later. A mail server that fails is
logged and never undoes a renewal; a reminder is marked sent before it goes out, so a crash
sends it at most once.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string

from ..conf import CRMConfig
from .models import Cycle, Subscription, SubscriptionEvent

logger = logging.getLogger(__name__)

__all__ = ["in_send_window", "notify_failure", "send_reminders"]

TEMPLATES = "saleor_crm/email/"


def in_send_window(now: datetime, config: CRMConfig) -> bool:
    local = now.astimezone(config.zone)
    start, end = config.subscription_send_window
    return start <= local.hour * 60 + local.minute < end


def _message(name: str, context: dict, to: list[str]) -> EmailMessage:
    subject = render_to_string(f"{TEMPLATES}{name}_subject.txt", context)
    body = render_to_string(f"{TEMPLATES}{name}.txt", context)
    return EmailMessage(
        " ".join(subject.split()), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, to
    )


def _send(messages: list[EmailMessage]) -> int:
    if not messages:
        return 0
    try:
        return get_connection(fail_silently=False).send_messages(messages) or 0
    except Exception:
        logger.exception("CRM subscription emails not sent (%d)", len(messages))
        return 0


def _contacts(host, subscriptions) -> dict[int, tuple[str, str]]:
    """Each subscription's customer (email, first name), by subscription pk."""
    profiles = {s.profile_id: s.profile for s in subscriptions}
    emails = host.customer_emails(profiles.values())
    details = host.user_details({s.user_id for s in subscriptions})
    contacts = {}
    for subscription in subscriptions:
        email = emails.get(subscription.profile_id)
        if email:
            person = details.get(subscription.user_id)
            contacts[subscription.pk] = (email, person.first_name if person else "")
    return contacts


def _lines(subscription: Subscription, sequence: int) -> list[dict]:
    return [
        {"name": line.product_name or line.variant_id, "quantity": line.quantity}
        for line in subscription.lines.all()
        if line.only_cycle in (None, sequence)
    ]


def send_reminders(host, now: datetime, config: CRMConfig, batch: int = 500) -> int:
    """Remind the customers of the renewals due within the reminder days; return how many."""
    days = config.subscription_reminder_days
    if not days or not in_send_window(now, config):
        return 0
    sent, today = 0, now.astimezone(config.zone).date()
    while True:
        with transaction.atomic():
            cycles = list(
                Cycle.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Cycle.Status.SCHEDULED,
                    reminded_at__isnull=True,
                    renewal_due_at__gt=now,
                    renewal_due_at__lte=now + timedelta(days=days),
                    subscription__status=Subscription.Status.ACTIVE,
                )
                .select_related("subscription__profile")
                .prefetch_related("subscription__lines")
                .order_by("renewal_due_at", "pk")[:batch]
            )
            if not cycles:
                return sent
            Cycle.objects.filter(pk__in=[c.pk for c in cycles]).update(reminded_at=now)
            contacts = _contacts(host, [c.subscription for c in cycles])
            messages, events = [], []
            for cycle in cycles:
                subscription = cycle.subscription
                contact = contacts.get(subscription.pk)
                if contact is None:
                    continue
                change_by = cycle.delivery_on - timedelta(days=config.subscription_cutoff_days)
                context = {
                    "name": contact[1],
                    "delivery_on": cycle.delivery_on,
                    "renewal_on": cycle.renewal_due_at.astimezone(config.zone).date(),
                    "change_by": change_by,
                    "can_change": change_by >= today,
                    "time_slot": subscription.time_slot,
                    "lines": _lines(subscription, cycle.sequence),
                    "subscription_id": subscription.pk,
                    "sequence": cycle.sequence,
                }
                messages.append(_message("subscription_reminder", context, [contact[0]]))
                events.append(
                    SubscriptionEvent(
                        subscription=subscription,
                        kind="reminder_sent",
                        actor="system",
                        at=now,
                        data={
                            "sequence": cycle.sequence,
                            "delivery_on": cycle.delivery_on.isoformat(),
                        },
                    )
                )
            SubscriptionEvent.objects.bulk_create(events)
            transaction.on_commit(lambda messages=messages: _send(messages))
        sent += len(messages)


def notify_failure(host, config: CRMConfig, cycle: Cycle, subscription: Subscription) -> None:
    """Tell the customer and the staff addresses that a renewal failed (after commit)."""
    context = {
        "subscription_id": subscription.pk,
        "sequence": cycle.sequence,
        "delivery_on": cycle.delivery_on,
        "reason": cycle.last_error,
        "attempts": cycle.attempts,
        "retry_at": cycle.retry_at.astimezone(config.zone) if cycle.retry_at else None,
        "attention": subscription.status == Subscription.Status.ATTENTION,
        "customer": subscription.user_id,
    }

    def send():
        messages = []
        contact = _contacts(host, [subscription]).get(subscription.pk)
        if contact is not None:
            messages.append(
                _message("subscription_failed", {**context, "name": contact[1]}, [contact[0]])
            )
        if config.subscription_staff_emails:
            messages.append(
                _message(
                    "subscription_failed_staff",
                    {**context, "customer": contact[0] if contact else subscription.user_id},
                    list(config.subscription_staff_emails),
                )
            )
        _send(messages)

    transaction.on_commit(send)

"""Subscriptions (定期購入) and their cycles: one row per delivery, unique on (subscription, n).

`Subscription.plan` holds the schedule (`subscriptions.schedule.Plan` as JSON); `Cycle` rows are
the upcoming deliveries it dates, rewritten after every change except those already ordered.
Every action is a `SubscriptionEvent` with its actor.
"""

from django.db import models
from django.db.models import Q

from ..customers.models import CustomerProfile, money_field


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        CANCELLED = "cancelled"
        ATTENTION = "attention"  # renewals failed after every retry: staff act on it

    profile = models.ForeignKey(
        CustomerProfile, related_name="subscriptions", on_delete=models.PROTECT
    )
    user_id = models.CharField(max_length=64)  # the store's user
    channel = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    plan = models.JSONField()
    next_delivery_on = models.DateField(null=True, blank=True)  # None: paused, cancelled
    # Deliveries in an average month at the current interval (kept by `sync_cycles`), for the
    # recurring revenue figures.
    per_month = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    preferred_weekday = models.PositiveSmallIntegerField(null=True, blank=True)  # 0 = Monday
    time_slot = models.CharField(max_length=32, blank=True, default="")
    # Renewals are paid with the customer's points first (with `points-on-renewals` on).
    use_points = models.BooleanField(default=False)
    source_order_id = models.CharField(max_length=64, blank=True, default="")
    deliveries = models.PositiveIntegerField(default=0)  # cycles ordered so far
    cancel_reason = models.CharField(max_length=255, blank=True, default="")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            # one subscription per order that started it (a paid event delivered twice)
            models.UniqueConstraint(
                fields=["source_order_id"],
                condition=~Q(source_order_id=""),
                name="subscription_source_order",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_delivery_on"], name="subscription_status_next"),
            models.Index(fields=["profile"], name="subscription_profile"),
        ]


class SubscriptionLine(models.Model):
    subscription = models.ForeignKey(Subscription, related_name="lines", on_delete=models.CASCADE)
    variant_id = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    product_name = models.CharField(max_length=255, blank=True, default="")
    # The gross unit price last ordered (the subscription's currency; None: not ordered yet).
    unit_price = money_field(null=True, blank=True)
    # A one-time item goes with this cycle only (None: every delivery).
    only_cycle = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        app_label = "saleor_crm"


class Cycle(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        SKIPPED = "skipped"
        PAUSED = "paused"
        CLAIMED = "claimed"  # a worker is creating its order
        ORDERED = "ordered"
        FAILED = "failed"  # the last attempt failed; `retry_at` says when to try again

    subscription = models.ForeignKey(Subscription, related_name="cycles", on_delete=models.CASCADE)
    sequence = models.PositiveIntegerField()
    delivery_on = models.DateField()
    renewal_due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    order_id = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=512, blank=True, default="")
    retry_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)  # the customer was reminded
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "sequence"], name="cycle_subscription_sequence"
            )
        ]
        indexes = [
            # what the renewal run claims: due cycles not yet ordered
            models.Index(
                fields=["renewal_due_at"],
                name="cycle_due",
                condition=Q(status__in=["scheduled", "failed"]),
            ),
            # claims whose worker died (claimed again after renewals.STALE_CLAIM)
            models.Index(
                fields=["updated_at"], name="cycle_claimed", condition=Q(status="claimed")
            ),
        ]

    @property
    def idempotency_key(self) -> str:
        """Carried by the renewal order (its metadata): checked before creating one."""
        return f"crm-subscription-{self.subscription_id}-cycle-{self.sequence}"


class SubscriptionEvent(models.Model):
    subscription = models.ForeignKey(Subscription, related_name="events", on_delete=models.CASCADE)
    kind = models.CharField(max_length=32)
    actor = models.CharField(max_length=255)  # user:<id>, staff:<id>, system
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("at", "pk")

"""The webhook delivery log: one row per event sent to the store's webhook URL.

`transports.enqueue_webhook` writes the row in the caller's transaction (a key already there
does nothing), and the delivery tasks post it, signed, until the receiver answers 2xx or the
backoff runs out (`transports.BACKOFF`). The row is both the queue and the log staff read:
attempts, the last answer, when it was delivered.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookDelivery(models.Model):
    """One outbound webhook event, by its idempotency key.

    `next_attempt_at` is when a worker may post it: at once when enqueued, the end of the
    lease while a worker holds it (a worker that dies gives it back then), and the next step
    of the backoff after a failure. It is null once the delivery is delivered or failed.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    key = models.CharField(max_length=255)
    event = models.CharField(max_length=64)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_code = models.CharField(max_length=32, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_crm"
        constraints = [models.UniqueConstraint(fields=["key"], name="unique_webhook_delivery_key")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["-created_at", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self):
        return f"{self.event} {self.key} ({self.status})"

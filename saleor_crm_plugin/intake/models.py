"""The outbox: objects of the store that changed and wait for the drain."""

from django.db import models


class PendingChange(models.Model):
    """One store object that changed since the ledger last recorded it.

    One row per (kind, object): a repeat of the same object while it waits does nothing. A
    repeat while a drain holds the row bumps `version`, so the drain that finishes leaves the
    row for another round instead of deleting it. `available_at` is when a drain may claim it:
    now when it is recorded, the end of the lease while claimed (a drain that dies gives it
    back then), and later after a failure (a backoff per attempt).
    """

    ORDER = "order"
    CUSTOMER = "customer"
    CUSTOMER_DELETED = "customer_deleted"
    KINDS = (ORDER, CUSTOMER, CUSTOMER_DELETED)

    kind = models.CharField(max_length=16)
    object_id = models.CharField(max_length=64)
    # When the change was first noticed (a deletion: when the customer was deleted).
    noticed_at = models.DateTimeField()
    available_at = models.DateTimeField()
    version = models.PositiveBigIntegerField(default=0)
    claim = models.CharField(max_length=32, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        app_label = "saleor_crm"
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="unique_pending_change")
        ]
        indexes = [models.Index(fields=["available_at", "id"], name="pending_change_available")]

    def __str__(self):
        return f"{self.kind} {self.object_id}"

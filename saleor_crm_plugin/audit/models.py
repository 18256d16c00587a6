"""The audit trail's one table. Rows are only ever added (`audit.services.record`)."""

from django.db import models

from ..customers.models import CustomerProfile


class AuditEvent(models.Model):
    """One change staff made by hand (or a read of a customer's record): who, when, what, to
    whom, and why."""

    POINTS_ADJUSTED = "points_adjusted"
    RANK_PINNED = "rank_pinned"
    RANK_UNPINNED = "rank_unpinned"
    RANK_TABLE_SAVED = "rank_table_saved"
    PAID_POINTS_ISSUED = "paid_points_issued"
    CUSTOMERS_MERGED = "customers_merged"
    CUSTOMERS_UNMERGED = "customers_unmerged"
    # Privacy: staff read a customer's full record (the 360° view, the Dashboard widget), or
    # exported everything held about them; retention erased a guest's email.
    CUSTOMER_VIEWED = "customer_viewed"
    CUSTOMER_DATA_EXPORTED = "customer_data_exported"
    GUEST_ERASED = "guest_erased"
    IMPORTED = "imported"  # a "moving in" file applied (imports.services)
    # Staff asked for the free points months to be computed now (loyalty.point_report_services).
    FREE_POINTS_COMPUTE_REQUESTED = "free_points_compute_requested"
    ACTIONS = (
        POINTS_ADJUSTED,
        RANK_PINNED,
        RANK_UNPINNED,
        RANK_TABLE_SAVED,
        PAID_POINTS_ISSUED,
        CUSTOMERS_MERGED,
        CUSTOMERS_UNMERGED,
        CUSTOMER_VIEWED,
        CUSTOMER_DATA_EXPORTED,
        GUEST_ERASED,
        IMPORTED,
        FREE_POINTS_COMPUTE_REQUESTED,
    )

    at = models.DateTimeField()
    actor = models.CharField(max_length=255)
    action = models.CharField(max_length=32)
    # The customer it was done to (None: a store-wide change, such as the rank table).
    profile = models.ForeignKey(
        CustomerProfile, null=True, blank=True, related_name="+", on_delete=models.CASCADE
    )
    points = models.IntegerField(null=True, blank=True)
    code = models.CharField(max_length=64, blank=True, default="")  # a rank's code
    reason = models.CharField(max_length=255, blank=True, default="")
    # What else the change needs to be read later: a setting's text before and after.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("-at", "-pk")
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_event_at"),
            models.Index(fields=["profile", "-at"], name="audit_event_profile_at"),
        ]

"""The points ledger: one account row per customer (locked to spend) and append-only entries."""

from django.db import models

from ..customers.models import CustomerProfile


class PointsAccount(models.Model):
    """A customer's points account; its row is locked while points are spent or taken back."""

    profile = models.OneToOneField(
        CustomerProfile, related_name="points_account", on_delete=models.CASCADE
    )
    # The sum of every entry's points (available, pending and owed together): kept with each
    # entry, so a balance read needs no sum over the entries.
    total = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"


class PointsEntry(models.Model):
    """One change of a customer's points. Never updated or deleted (`loyalty.lots` replays them).

    `key` makes every writer idempotent: `earn:order:<id>`, `reverse:order:<id>:<n>`,
    `redeem:<request id>`, `expire:<lot key>`, `adjust:<staff request id>`.
    """

    account = models.ForeignKey(PointsAccount, related_name="entries", on_delete=models.CASCADE)
    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=16)
    points = models.IntegerField()
    at = models.DateTimeField()
    lot = models.CharField(max_length=255, null=True, blank=True)
    available_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True, default="")
    actor = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("at", "key")
        indexes = [models.Index(fields=["account", "at"], name="points_entry_account_at")]

"""Merges of duplicate customers, and the candidate pairs staff decide on.

A merge is a CRM fact: the store's own accounts are left as they are. `ProfileMerge` records
exactly what moved so the merge can be undone (`customers.merges`); orders also carry the
profile they came from (`OrderRecord.merged_from`) while a merge keeps them on the survivor.
"""

from django.db import models
from django.db.models import Q

from .models import CustomerProfile


class ProfileMerge(models.Model):
    """One merge of `absorbed` into `survivor`, in force until `unmerged_at`."""

    absorbed = models.ForeignKey(
        CustomerProfile, related_name="merges_absorbed", on_delete=models.PROTECT
    )
    survivor = models.ForeignKey(
        CustomerProfile, related_name="merges_survived", on_delete=models.PROTECT
    )
    merged_at = models.DateTimeField()
    merged_by = models.CharField(max_length=255)
    reason = models.CharField(max_length=255, blank=True, default="")
    # The keys that matched (`customers.duplicates.KINDS`) when staff merged from a candidate.
    evidence = models.JSONField(default=list, blank=True)
    # What the merge moved, by kind (`customers.merging.KINDS`): order ids, points entry keys,
    # row ids; and the campaign entries left on the absorbed profile.
    moved = models.JSONField(default=dict)
    kept = models.JSONField(default=list, blank=True)
    # Each side's figures just before the merge (orders, spend, points, rank), as shown later.
    before = models.JSONField(default=dict, blank=True)
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerged_by = models.CharField(max_length=255, blank=True, default="")
    # What the unmerge sent back, by kind (what the merge moved and what came after it).
    returned = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("-merged_at", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["absorbed"],
                condition=Q(unmerged_at__isnull=True),
                name="unique_merge_in_force",
            )
        ]
        indexes = [
            models.Index(fields=["survivor", "-merged_at"], name="merge_survivor"),
            models.Index(fields=["absorbed", "-merged_at"], name="merge_absorbed"),
        ]

    @property
    def in_force(self) -> bool:
        return self.unmerged_at is None


class DuplicateCandidate(models.Model):
    """A pair of profiles that may be one person (`profile` < `other`), with the evidence:
    the kinds of key they share. Written by the periodic search, replaced each run."""

    profile = models.ForeignKey(CustomerProfile, related_name="+", on_delete=models.CASCADE)
    other = models.ForeignKey(
        CustomerProfile, related_name="+", on_delete=models.CASCADE, db_index=False
    )
    email = models.BooleanField(default=False)
    phone = models.BooleanField(default=False)
    name_postal = models.BooleanField(default=False)
    found_at = models.DateTimeField()

    class Meta:
        app_label = "saleor_crm"
        ordering = ("profile", "other")
        constraints = [
            models.UniqueConstraint(fields=["profile", "other"], name="unique_duplicate_pair")
        ]
        indexes = [models.Index(fields=["other"], name="duplicate_other")]

    @property
    def evidence(self) -> list[str]:
        return [kind for kind in ("email", "phone", "name_postal") if getattr(self, kind)]

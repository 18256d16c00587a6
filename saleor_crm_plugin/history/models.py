"""Rule versions: every rank table, RFM cut points and rule segment definition that was in force.

Kept from the day this table exists on (`history.versions` writes them when the rules change),
so a customer's state on a past date is replayed under the rules of that date
(`history.replay`). Rows are only ever added.
"""

from django.db import models


class RuleVersion(models.Model):
    """One version of one rule, in force from `valid_from` until the next row of its (kind, key).

    - `ranks` (key ""): `content` = {"text", "window", "inactive_months"}, `version` the ladder's
      digest (`loyalty.config.ladder_version`);
    - `rfm` (key: the group, a currency): `content` = {"recency", "frequency", "monetary",
      "customers", "method", "segments"} of one recompute, or null when the group stopped
      being scored;
    - `rule_segment` (key: the saved segment's id): `content` = {"name", "rule"}, null once
      the segment was deleted.
    """

    RANKS = "ranks"
    RFM = "rfm"
    RULE_SEGMENT = "rule_segment"
    KINDS = (RANKS, RFM, RULE_SEGMENT)

    kind = models.CharField(max_length=16)
    key = models.CharField(max_length=64, blank=True, default="")
    version = models.CharField(max_length=64, blank=True, default="")
    valid_from = models.DateTimeField()
    content = models.JSONField(null=True, blank=True)
    actor = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("kind", "key", "valid_from", "pk")
        indexes = [
            models.Index(fields=["kind", "key", "valid_from"], name="rule_version_in_force"),
        ]

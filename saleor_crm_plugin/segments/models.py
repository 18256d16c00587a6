"""The cut points of the last full recompute, segment sizes over time, rule segments.

The scores themselves are on each customer's spend row (`customers.models.CustomerSpend`).
"""

from django.db import models

from ..customers.models import money_field


class ScoreCutPoints(models.Model):
    """The boundaries of the last full recompute of one group, to rescore one customer at once."""

    group = models.CharField(max_length=32, unique=True)
    recency = models.JSONField()
    frequency = models.JSONField()
    monetary = models.JSONField()
    customers = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    # "quintiles" (fitted to the group's customers) or "fixed" (the store's bins).
    method = models.CharField(max_length=16, default="quintiles")

    class Meta:
        app_label = "saleor_crm"


class SegmentSize(models.Model):
    """How many customers a segment had, and their spend, at one recompute."""

    computed_at = models.DateTimeField(db_index=True)
    group = models.CharField(max_length=32)
    segment = models.CharField(max_length=64)
    customers = models.PositiveIntegerField()
    revenue_amount = money_field()

    class Meta:
        app_label = "saleor_crm"
        ordering = ("-computed_at", "group", "segment")
        constraints = [
            models.UniqueConstraint(
                fields=["computed_at", "group", "segment"], name="unique_segment_size"
            ),
        ]


class RuleSegment(models.Model):
    """A named rule segment staff saved; `customers` and `evaluated_at` from its last run."""

    name = models.CharField(max_length=128, unique=True)
    rule = models.JSONField()
    customers = models.PositiveIntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("name",)

    def __str__(self):
        return self.name


class RuleSegmentSize(models.Model):
    """How many members a rule segment (saved or built-in) had at one evaluation."""

    # The saved segment; None for a built-in one (named by `name`).
    segment = models.ForeignKey(
        RuleSegment, null=True, blank=True, related_name="sizes", on_delete=models.CASCADE
    )
    name = models.CharField(max_length=128)
    evaluated_at = models.DateTimeField()
    customers = models.PositiveIntegerField()

    class Meta:
        app_label = "saleor_crm"
        ordering = ("-evaluated_at",)
        indexes = [
            models.Index(fields=["segment", "-evaluated_at"]),
            models.Index(fields=["name", "-evaluated_at"]),
        ]


class RecomputeRun(models.Model):
    """One full RFM recompute split into chunks of profile ids that workers score apart.

    The run's cut points are fitted and stored before any chunk starts; every chunk scores its
    ids against them at `computed_at`. The chunk that finds no other chunk left records the
    segment sizes and sets `finished_at`.
    """

    computed_at = models.DateTimeField(unique=True)
    scored = models.PositiveIntegerField()
    chunks = models.PositiveIntegerField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("-computed_at",)


class RecomputeChunk(models.Model):
    """A range of profile ids of one recompute run; `done_at` is set once it is scored."""

    run = models.ForeignKey(RecomputeRun, related_name="chunk_set", on_delete=models.CASCADE)
    low = models.BigIntegerField()
    high = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    written = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    # True when a newer run started before this chunk was scored (the newer one covers it).
    superseded = models.BooleanField(default=False)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("run", "low")
        constraints = [
            models.UniqueConstraint(fields=["run", "low"], name="unique_recompute_chunk"),
        ]

"""Figures kept ready for pages that must answer at once (Dashboard's Overview)."""

from django.db import models


class StoredFigures(models.Model):
    """The latest result of one costly aggregate (`analytics.figures.KINDS`), as JSON."""

    kind = models.CharField(max_length=64, unique=True)
    computed_at = models.DateTimeField()
    data = models.JSONField(default=list)

    class Meta:
        app_label = "saleor_crm"

"""One import of a "moving in" file: what staff uploaded, how far it got, what it found."""

from django.db import models


class ImportRun(models.Model):
    """A dry run or an import of one file (the Dashboard page polls it for the progress bar).

    The uploaded text is kept until the import is applied, so the dry run's report and the
    import read the same file; it is emptied when the run ends.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        REFUSED = "refused"  # a line was refused: nothing was written
        FAILED = "failed"

    kind = models.CharField(max_length=16)
    layout = models.CharField(max_length=16)
    source = models.CharField(max_length=16)
    file_name = models.CharField(max_length=255, blank=True, default="")
    dry_run = models.BooleanField(default=True)
    skip_refused = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    content = models.TextField(blank=True, default="")
    total_lines = models.PositiveIntegerField(default=0)
    done_lines = models.PositiveIntegerField(default=0)
    # The report (`imports.services.ImportReport.as_dict`): counts and the refused lines.
    report = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=512, blank=True, default="")
    actor = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_crm"
        ordering = ("-created_at", "-pk")

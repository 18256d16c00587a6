"""The intake's outbox (`PendingChange`) and its periodic tasks: the drain every 3 seconds,
the catch-up sweep every 15 minutes (the settings' defaults; saving the settings re-times
them)."""

from django.db import migrations, models

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.intake.schedule import apply_schedule


def register(apps, schema_editor):
    apply_schedule(
        parse_config(None),
        apps.get_model("django_celery_beat", "IntervalSchedule"),
        apps.get_model("django_celery_beat", "PeriodicTask"),
    )


class Migration(migrations.Migration):
    dependencies = [("saleor_crm", "0027_rank_window_index")]

    operations = [
        migrations.CreateModel(
            name="PendingChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=16)),
                ("object_id", models.CharField(max_length=64)),
                ("noticed_at", models.DateTimeField()),
                ("available_at", models.DateTimeField()),
                ("version", models.PositiveBigIntegerField(default=0)),
                ("claim", models.CharField(blank=True, max_length=32, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True, default="")),
            ],
            options={
                "indexes": [models.Index(fields=["available_at", "id"], name="pending_change_available")],
                "constraints": [
                    models.UniqueConstraint(fields=("kind", "object_id"), name="unique_pending_change")
                ],
            },
        ),
        migrations.RunPython(register, migrations.RunPython.noop),
    ]

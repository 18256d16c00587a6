"""The intake's outbox (`PendingChange`)."""

from django.db import migrations, models


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
    ]

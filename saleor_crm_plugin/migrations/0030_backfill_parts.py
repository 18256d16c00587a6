"""A backfill stage run by several processes: each part's checkpoint keeps where it ends."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("saleor_crm", "0029_periodic_tasks_saleor_reads")]

    operations = [
        migrations.AddField(
            model_name="backfillcheckpoint",
            name="until",
            field=models.TextField(blank=True, default=""),
        ),
    ]

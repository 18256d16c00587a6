"""A backfill stage run by several processes: each part's checkpoint keeps where it ends.

The column has a database default: the version before this one, still running while a store
migrates, inserts checkpoints without naming it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("saleor_crm", "0029_periodic_tasks_saleor_reads")]

    operations = [
        migrations.AddField(
            model_name="backfillcheckpoint",
            name="until",
            field=models.TextField(blank=True, default="", db_default=""),
        ),
    ]

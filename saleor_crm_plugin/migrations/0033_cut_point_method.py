from django.db import migrations, models


class Migration(migrations.Migration):
    """Which scoring made a group's cut points: quintiles or the store's fixed bins."""

    dependencies = [("saleor_crm", "0032_predictions")]

    operations = [
        migrations.AddField(
            model_name="scorecutpoints",
            name="method",
            field=models.CharField(default="quintiles", max_length=16),
        ),
    ]

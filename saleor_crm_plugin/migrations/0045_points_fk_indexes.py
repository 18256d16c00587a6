import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("saleor_crm", "0044_rule_versions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pointsentry",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="entries",
                to="saleor_crm.pointsaccount",
            ),
        ),
        migrations.AlterField(
            model_name="pointslot",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lots",
                to="saleor_crm.pointsaccount",
            ),
        ),
    ]

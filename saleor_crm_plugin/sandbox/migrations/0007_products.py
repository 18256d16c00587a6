from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("saleor_crm_sandbox", "0006_settings")]

    operations = [
        migrations.CreateModel(
            name="SandboxProduct",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("product_id", models.CharField(max_length=64, unique=True)),
                ("name", models.CharField(max_length=256)),
                ("channels", models.JSONField(default=list)),
            ],
            options={"ordering": ("product_id",)},
        ),
    ]

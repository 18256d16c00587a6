from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("saleor_crm", "0043_privacy"),
    ]

    operations = [
        migrations.CreateModel(
            name="RuleVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=16)),
                ("key", models.CharField(blank=True, default="", max_length=64)),
                ("version", models.CharField(blank=True, default="", max_length=64)),
                ("valid_from", models.DateTimeField()),
                ("content", models.JSONField(blank=True, null=True)),
                ("actor", models.CharField(blank=True, default="", max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ("kind", "key", "valid_from", "pk"),
                "indexes": [
                    models.Index(fields=["kind", "key", "valid_from"], name="rule_version_in_force")
                ],
            },
        ),
    ]

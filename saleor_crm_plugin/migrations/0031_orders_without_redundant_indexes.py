"""Drop the order and line tables' own indexes on their foreign keys.

The composite indexes that lead with the same column serve every lookup by it ((profile,
placed_at) for the orders, `unique_order_line` (order, line_id) for the lines), and every order
and line written paid for both. Only the indexes go: Django's own AlterField would also drop and
re-add (and so re-validate) the foreign keys, minutes of locked tables on a large ledger. On
PostgreSQL the indexes are dropped CONCURRENTLY (the migration is not atomic for that).
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, column, index name Django gave it)
INDEXES = [
    ("saleor_crm_orderlinerecord", "order_id", "saleor_crm_orderlinerecord_order_id_adbf69a6"),
    ("saleor_crm_orderrecord", "profile_id", "saleor_crm_orderrecord_profile_id_d9824700"),
]


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop_indexes(apps, schema_editor):
    for _table, _column, name in INDEXES:
        schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} IF EXISTS {name}")


def create_indexes(apps, schema_editor):
    for table, column, name in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS {name} "
            f"ON {table} ({column})"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("saleor_crm", "0030_backfill_parts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="orderlinerecord",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="saleor_crm.orderrecord",
                    ),
                ),
                migrations.AlterField(
                    model_name="orderrecord",
                    name="profile",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="saleor_crm.customerprofile",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
    ]

"""Index a customer's counted orders by their window time, for rank figures by index alone.

On PostgreSQL the index is built CONCURRENTLY: a store with millions of orders keeps taking
them while it builds (the migration is not atomic for that). Other databases (the sandbox's
SQLite) build it the plain way.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models.functions import Coalesce


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("saleor_crm", "0026_schedule_again"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="orderrecord",
            index=models.Index(
                models.F("profile"),
                Coalesce("paid_at", "placed_at"),
                condition=models.Q(("counts", True)),
                include=(
                    "paid_at",
                    "placed_at",
                    "currency",
                    "net_spend_amount",
                    "total_gross_amount",
                    "paid_amount",
                    "refunded_amount",
                    "status",
                ),
                name="order_rank_window",
            ),
        ),
    ]

"""Migrations 0011/0012: existing scores and profile figures land on the spend rows."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from saleor_crm_plugin.customers.models import CustomerSpend

BEFORE = [("saleor_crm", "0010_search_indexes")]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_scores_and_profile_figures_move_onto_the_spend_rows():
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes("saleor_crm")
    try:
        # given: a ledger as 0010 kept it
        old = _migrate(BEFORE)
        profile_model = old.get_model("saleor_crm", "CustomerProfile")
        spend_model = old.get_model("saleor_crm", "CustomerSpend")
        score_model = old.get_model("saleor_crm", "CustomerScore")
        ann = profile_model.objects.create(
            user_id="1",
            order_count=3,
            first_order_at=T0,
            last_order_at=T0 + timedelta(days=20),
            lapse_at=T0 + timedelta(days=30),
        )
        gone = profile_model.objects.create(
            user_id="2", order_count=1, first_order_at=T0, last_order_at=T0, anonymized_at=T0
        )
        for profile, currency, count in ((ann, "JPY", 2), (ann, "USD", 1), (gone, "JPY", 1)):
            spend_model.objects.create(
                profile=profile,
                currency=currency,
                order_count=count,
                total_spent_amount=Decimal(1000 * count),
                average_order_amount=Decimal(1000),
                first_order_at=T0,
                last_order_at=T0 + timedelta(days=count),
            )
        score_model.objects.create(
            profile=ann, group="JPY", r=5, f=4, m=3, segment="Champions", scored_at=T0
        )

        # when
        _migrate(leaf)

        # then: the JPY score is on ann's JPY row; every row copies its profile's figures
        rows = {(row.profile_id, row.currency): row for row in CustomerSpend.objects.all()}
        jpy, usd, deleted = rows[(ann.pk, "JPY")], rows[(ann.pk, "USD")], rows[(gone.pk, "JPY")]
        assert (jpy.r, jpy.f, jpy.m, jpy.segment, jpy.scored_at) == (5, 4, 3, "Champions", T0)
        assert (usd.segment, usd.r, deleted.segment) == (None, None, None)
        for row in (jpy, usd):
            assert (
                row.profile_order_count,
                row.profile_first_order_at,
                row.profile_last_order_at,
                row.profile_lapse_at,
                row.profile_active,
            ) == (3, T0, T0 + timedelta(days=20), T0 + timedelta(days=30), True)
        assert deleted.profile_active is False
        assert (jpy.order_count, usd.total_spent_amount) == (2, Decimal(1000))
        assert "saleor_crm_customerscore" not in connection.introspection.table_names()
    finally:
        _migrate(leaf)

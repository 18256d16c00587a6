"""Concurrent workers ingesting overlapping events leave the same rows as one worker would."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections

from saleor_crm_plugin.customers.ingest import ingest_customers, ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile, CustomerSpend, OrderRecord
from tests.factories import T0, customer, order

pytestmark = pytest.mark.django_db(transaction=True)


def _run_in_threads(jobs):
    errors = []

    def work(job):
        try:
            job()
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locking is PostgreSQL's")
def test_parallel_workers_on_one_customer():
    # given: twelve orders of one email, half as a guest, half logged in, plus the account
    snapshots = [
        order(
            f"o{i}",
            user_id="7" if i % 2 else None,
            email="ann@example.com",
            total="1000",
            placed_at=T0 + timedelta(days=i),
        )
        for i in range(12)
    ]
    jobs = [lambda s=s: ingest_orders([s]) for s in snapshots]
    jobs += [lambda: ingest_orders(snapshots[::-1])]
    jobs += [lambda: ingest_customers([customer("7", email="ann@example.com")])] * 3

    # when
    errors = _run_in_threads(jobs)

    # then
    assert errors == []
    profile = CustomerProfile.objects.get()
    assert profile.user_id == "7"
    assert profile.order_count == 12
    assert OrderRecord.objects.count() == 12
    assert CustomerSpend.objects.get().total_spent_amount == Decimal(12000)

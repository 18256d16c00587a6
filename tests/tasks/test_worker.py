"""The production path: an enqueued task crosses Redis to a real Celery worker and lands."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from saleor_crm_plugin.customers.models import OrderRecord
from saleor_crm_plugin.sandbox.models import SandboxOrder
from tests.factories import order

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL")
pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="CRM_TEST_REDIS_URL is not set (make test sets it)"),
]


@pytest.fixture
def worker():
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRM_TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CRM_TEST_CELERY_BROKER_URL": REDIS_URL,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saleor_crm_plugin.sandbox.celery:app",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_enqueued_order_reaches_the_ledger_through_a_worker(worker):
    # given: the store has an order, and its event is enqueued on Redis
    snapshot = order("w1", total="6400")
    SandboxOrder.store(snapshot)
    with Celery("sender", broker=REDIS_URL) as sender:
        sender.send_task("saleor_crm.ingest_orders", args=[["w1"]])

    # when: the worker picks it up
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not OrderRecord.objects.filter(order_id="w1").exists():
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.2)
    if not OrderRecord.objects.filter(order_id="w1").exists():
        worker.terminate()
        pytest.fail("the worker did not record the order in 60 s:\n" + worker.communicate()[0])

    # then
    record = OrderRecord.objects.get(order_id="w1")
    assert str(record.total_gross_amount) == "6400.000"
    assert record.profile.order_count == 1

"""The production path: an enqueued task crosses Redis to a real Celery worker and lands."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import OrderRecord
from saleor_crm_plugin.sandbox.models import SandboxOrder
from saleor_crm_plugin.segments.models import RecomputeChunk, RecomputeRun
from tests.factories import T0, order, scored

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL")
pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="CRM_TEST_REDIS_URL is not set (make test sets it)"),
]


def _start_worker(name: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRM_TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CRM_TEST_CELERY_BROKER_URL": REDIS_URL,
        "CRM_TEST_RECOMPUTE_CHUNK_SIZE": "3",
    }
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saleor_crm_plugin.sandbox.celery:app",
            "worker",
            "--pool=solo",
            f"--hostname={name}@%h",
            "--prefetch-multiplier=1",
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


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        return process.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0]


@pytest.fixture
def worker():
    process = _start_worker("crm-test")
    yield process
    _stop(process)


@pytest.fixture
def two_workers():
    processes = [_start_worker("crm-one"), _start_worker("crm-two")]
    yield processes
    for process in processes:
        if process.poll() is None:
            _stop(process)


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


def test_a_recompute_is_split_over_two_workers(two_workers):
    # given: 12 customers, so chunks of 3 profile ids make 4 chunk tasks
    ingest_orders(
        [
            order(
                f"r{i}-{n}",
                email=f"r{i}@example.com",
                total=str(500 * (i + 1)),
                placed_at=T0 + timedelta(days=i),
            )
            for i in range(12)
            for n in range(1 + i % 3)
        ]
    )

    # when: beat's message reaches a worker
    with Celery("sender", broker=REDIS_URL) as sender:
        sender.send_task("saleor_crm.recompute_rfm")
    deadline = time.monotonic() + 90
    while (
        time.monotonic() < deadline
        and not RecomputeRun.objects.filter(finished_at__isnull=False).exists()
    ):
        assert all(p.poll() is None for p in two_workers), [p.stdout.read() for p in two_workers]
        time.sleep(0.2)
    logs = [_stop(p) for p in two_workers]

    # then
    run = RecomputeRun.objects.get()
    assert run.finished_at is not None, logs
    assert (run.chunks, run.scored) == (4, 12)
    assert RecomputeChunk.objects.filter(run=run, done_at__isnull=False).count() == 4
    assert scored().count() == 12
    chunk_tasks = sum(log.count("saleor_crm.recompute_rfm_chunk[") for log in logs)
    assert chunk_tasks >= 4  # received + succeeded lines, over both workers

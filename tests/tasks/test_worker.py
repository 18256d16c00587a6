"""The production path: an enqueued task crosses Redis to a real Celery worker and lands."""

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import OrderRecord
from saleor_crm_plugin.intake.models import PendingChange
from saleor_crm_plugin.intake.outbox import record_changes
from saleor_crm_plugin.intake.schedule import register_periodic_tasks
from saleor_crm_plugin.loyalty.models import PointsEntry
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser
from saleor_crm_plugin.segments.models import RecomputeChunk, RecomputeRun
from tests.factories import T0, order, scored

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL")
pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="CRM_TEST_REDIS_URL is not set (make test sets it)"),
]


def _celery(arguments: list[str], broker: str, **env) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRM_TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CRM_TEST_CELERY_BROKER_URL": broker,
        "CRM_TEST_RECOMPUTE_CHUNK_SIZE": "3",
        **env,
    }
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "celery", "-A", "saleor_crm_plugin.sandbox.celery:app", *arguments],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _start_worker(name: str, broker: str | None = None, **env) -> subprocess.Popen:
    arguments = [
        "worker",
        "--pool=solo",
        f"--hostname={name}@%h",
        "--prefetch-multiplier=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    return _celery(arguments, broker or REDIS_URL, **env)


def _start_beat(broker: str) -> subprocess.Popen:
    """Celery beat on django-celery-beat's database scheduler, as Saleor runs it."""
    arguments = [
        "beat",
        "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
        "--pidfile=",
        "--max-interval=1",
        "--loglevel=INFO",
    ]
    return _celery(arguments, broker)


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


# --- the intake's faults: a broker that is down, a worker killed mid-drain ---------------


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own (it is stopped and started again), on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def start() -> subprocess.Popen:
        server = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server"),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    return server
            time.sleep(0.05)
        pytest.fail("redis-server did not start")

    servers = []
    yield f"redis://127.0.0.1:{port}/0", lambda: servers.append(start()) or servers[-1]
    for server in servers:
        server.kill()
        server.wait()


def _paid_orders_waiting(count: int, customers: int, prefix: str = "k") -> list[str]:
    """Paid orders of registered customers in the store, each recorded as a hook does."""
    now = timezone.now()
    users = [
        SandboxUser.objects.create(
            email=f"{prefix}{n}@example.com", date_joined=now, updated_at=now
        )
        for n in range(customers)
    ]
    snapshots = [
        order(
            f"{prefix}{n}",
            user_id=str(users[n % customers].pk),
            email=users[n % customers].email,
            total="2000",
            placed_at=now - timedelta(hours=1, seconds=n),
        )
        for n in range(count)
    ]
    SandboxOrder.objects.bulk_create([SandboxOrder.from_snapshot(s) for s in snapshots])
    for snapshot in snapshots:  # one hook call per order, as Saleor makes them
        record_changes(PendingChange.ORDER, [snapshot.order_id])
    return [s.order_id for s in snapshots]


def _wait_for(condition, processes, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"a celery process ended early:\n{process.stdout.read()}")
        time.sleep(0.1)
    logs = [_stop(p) for p in processes]
    pytest.fail(f"{what} did not happen in {seconds:.0f} s:\n" + "\n".join(logs))


def _every_order_once(order_ids: list[str]) -> None:
    assert sorted(OrderRecord.objects.values_list("order_id", flat=True)) == sorted(order_ids)
    earned = list(PointsEntry.objects.filter(kind="earn").values_list("order_id", flat=True))
    assert sorted(earned) == sorted(order_ids)  # one earn entry per order, none twice
    assert not PendingChange.objects.exists()


def test_orders_recorded_while_redis_is_down_reach_the_ledger_once_it_is_back(own_redis):
    # given: beat and a worker drain the outbox through Redis
    broker, start_redis = own_redis
    register_periodic_tasks(parse_config({"event-drain-seconds": 1}))
    redis = start_redis()
    processes = [_start_beat(broker), _start_worker("crm-intake", broker)]
    try:
        before = _paid_orders_waiting(20, 5, prefix="a")
        _wait_for(lambda: not PendingChange.objects.exists(), processes, 60, "a first drain")

        # when: Redis stops while 20 more orders are placed, then starts again
        redis.kill()
        redis.wait()
        during = _paid_orders_waiting(20, 5, prefix="b")
        time.sleep(3)
        waiting_while_down = PendingChange.objects.count()
        start_redis()
        _wait_for(
            lambda: (
                not PendingChange.objects.exists()
                and OrderRecord.objects.count() == len(before) + len(during)
            ),
            processes,
            90,
            "draining the outbox after Redis came back",
        )
    finally:
        logs = [_stop(p) for p in processes]

    # then: every order once; nothing was recorded while the broker was away
    assert waiting_while_down == 20
    _every_order_once(before + during)
    assert "saleor_crm.drain_changes" in logs[0]  # beat sent it (django-celery-beat)


def test_a_worker_killed_mid_drain_leaves_no_order_lost_or_paid_twice(own_redis):
    # given: 400 orders waiting, drained 10 at a time, rows held for 3 s by a claim
    broker, start_redis = own_redis
    start_redis()
    register_periodic_tasks(parse_config({"event-drain-seconds": 1}))
    order_ids = _paid_orders_waiting(400, 40)
    small = {"CRM_TEST_DRAIN_BATCH_SIZE": "10", "CRM_TEST_DRAIN_LEASE_SECONDS": "3"}
    beat = _start_beat(broker)
    first = _start_worker("crm-doomed", broker, **small)

    # when: the worker is killed (SIGKILL) while it drains; another worker takes over
    _wait_for(lambda: OrderRecord.objects.count() >= 50, [beat, first], 90, "a first drain")
    first.kill()
    first.wait()
    recorded_at_kill = OrderRecord.objects.count()
    second = _start_worker("crm-heir", broker, **small)
    try:
        _wait_for(
            lambda: not PendingChange.objects.exists(), [beat, second], 120, "the second drain"
        )
    finally:
        _stop(second)
        _stop(beat)

    # then
    assert recorded_at_kill < len(order_ids)  # it died with work left
    _every_order_once(order_ids)

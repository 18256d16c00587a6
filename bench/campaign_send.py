"""Sending 100,000 campaign emails to a local SMTP sink through Celery workers, then again
with a worker killed half-way: every message once.

    bash scripts/bench.sh bench/campaign_send.py [--sends 100000] [--workers 2] [--stale 30]
        [--kills 1] [--no-crash | --crash-only]

Fills by SQL `--sends` customers with a store account and marketing consent, one flow with one
email step (the shipped `thank_you` template), an entry each and its ledger row due an hour ago.
It starts an SMTP sink on 127.0.0.1 in a process of its own (bench/smtp_sink.py: aiosmtpd,
counting messages and distinct Message-IDs; the engine makes the Message-ID from the send's
key) and `--workers` real Celery workers (`--pool=solo`, Redis broker from scripts/bench.sh)
with Django's SMTP backend pointed at the sink (bench/campaign_settings.py). The bench calls
the dispatcher task (`saleor_crm.dispatch_campaigns`, what beat calls every minute) in this
process every two seconds while the broker's queue is empty; the workers run the
`saleor_crm.send_campaign_batch` tasks it enqueues (500 sends each).

1. The clean run: wall time from the first dispatch to the last message at the sink,
   messages per second, and each worker's peak RSS (VmHWM).
2. The crash run (unless `--no-crash`): the same rows made due again (same keys, so the same
   Message-IDs) and a fresh sink; when the sink has received half of them (with `--kills N`,
   at each N+1-th), one worker gets SIGKILL and a new one starts. The rows the dead worker had claimed come back after
   `--stale` seconds (CRM_CAMPAIGN_STALE_SECONDS; 15 minutes by default in production). It
   reports the messages received and the distinct Message-IDs (the aim: exactly `--sends`),
   and which Message-IDs came twice.

Why only while the queue is empty: a batch waiting in the queue longer than the staleness is
enqueued again by the dispatcher (its rows look like a lost task's); with `--stale 30` and a
queue that takes minutes to drain, beat's every-minute call would enqueue each waiting batch
several times (each extra task then claims nothing). With the production 15 minutes a queue
drains long before that.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))


def _free_port(start: int) -> int:
    port = start
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
        port += 1


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stale", type=int, default=30, help="CRM_CAMPAIGN_STALE_SECONDS")
    parser.add_argument(
        "--kills", type=int, default=1, help="workers killed, evenly spread (1: half-way)"
    )
    parser.add_argument("--no-crash", action="store_true")
    parser.add_argument("--crash-only", action="store_true", help="skip the clean run")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--smtp-port", type=int, default=54444)
    return parser.parse_args()


ARGS = _arguments()
os.environ["DJANGO_SETTINGS_MODULE"] = "campaign_settings"
os.environ["CRM_CAMPAIGN_STALE_SECONDS"] = str(ARGS.stale)
os.environ["CRM_BENCH_SMTP_PORT"] = str(_free_port(ARGS.smtp_port))
if "CELERY_BROKER_URL" not in os.environ:
    sys.exit("CELERY_BROKER_URL must name the Redis broker (scripts/bench.sh starts one)")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from saleor_crm_plugin.campaigns import services  # noqa: E402
from saleor_crm_plugin.campaigns.models import CampaignSend  # noqa: E402
from saleor_crm_plugin.campaigns.tasks import dispatch_campaigns_task  # noqa: E402
from saleor_crm_plugin.host import get_host  # noqa: E402
from saleor_crm_plugin.sandbox.celery import app  # noqa: E402

app.set_current()
app.set_default()

FLOW = {
    "name": "Bench thank-you",
    "trigger": {"kind": "first_order"},
    "steps": [{"delay_days": 0, "channel": "email", "template": "thank_you"}],
}
CUSTOMERS = """
TRUNCATE saleor_crm_campaignflow, saleor_crm_flowentry, saleor_crm_campaignsend,
         saleor_crm_unsubscribe, saleor_crm_segmentwatch, saleor_crm_pointslot,
         saleor_crm_pointsentry, saleor_crm_pointsaccount, saleor_crm_memberrank,
         saleor_crm_rankchange, saleor_crm_orderlinerecord, saleor_crm_orderrecord,
         saleor_crm_customerspend, saleor_crm_customerprofile, saleor_crm_sandbox_sandboxuser
         RESTART IDENTITY CASCADE;
INSERT INTO saleor_crm_customerprofile
    (id, user_id, email_digest, order_count, first_order_at, last_order_at, lapse_at,
     source_fingerprint, created_at, updated_at)
SELECT g, g::text, md5(g::text) || md5('x' || g::text), 1, now() - interval '10 days',
       now() - interval '10 days', NULL, '', now(), now()
FROM generate_series(1, %(sends)s) AS g;
INSERT INTO saleor_crm_sandbox_sandboxuser
    (id, email, first_name, last_name, is_staff, is_active, permissions, metadata,
     private_metadata, country, country_area, city, customer_type, date_joined, updated_at)
SELECT g, 'c' || g || '@example.com', 'First' || (g %% 97), 'Last' || (g %% 89), false, true,
       '[]', '{}', '{"marketing_consent": "true"}', 'JP', '東京都', 'City', '',
       now() - interval '30 days', now()
FROM generate_series(1, %(sends)s) AS g;
SELECT setval(pg_get_serial_sequence('saleor_crm_customerprofile', 'id'), %(sends)s);
SELECT setval(pg_get_serial_sequence('saleor_crm_sandbox_sandboxuser', 'id'), %(sends)s);
"""
SENDS = """
INSERT INTO saleor_crm_flowentry
    (id, flow_id, profile_id, occasion, entered_at, control, exited_at, exit_reason)
SELECT g, %(flow)s, g, 'order:1', now() - interval '3 days', false, NULL, ''
FROM generate_series(1, %(sends)s) AS g;
SELECT setval(pg_get_serial_sequence('saleor_crm_flowentry', 'id'), %(sends)s);
INSERT INTO saleor_crm_campaignsend
    (key, entry_id, flow_id, profile_id, step, channel, due_at, status, reason, error, claim,
     claimed_at, attempts, sent_at, voucher_code, voucher_ends_at, points)
SELECT g || ':0', g, %(flow)s, g, 0, 'email', now() - interval '1 hour', 'pending', '', '', '',
       NULL, 0, NULL, '', NULL, 0
FROM generate_series(1, %(sends)s) AS g;
"""
AGAIN = """
UPDATE saleor_crm_campaignsend
SET status = 'pending', claim = '', claimed_at = NULL, attempts = 0, sent_at = NULL,
    reason = '', error = '', due_at = now() - interval '1 hour';
"""


def _fill(sends: int) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(CUSTOMERS, {"sends": sends})
    config = get_host().config()
    flow = services.save_flow("bench-thanks", FLOW, config, enabled=False)
    with connection.cursor() as cursor:
        cursor.execute(SENDS, {"sends": sends, "flow": flow.pk})
        cursor.execute("VACUUM ANALYZE")
    print(
        f"fill {sends:,} consenting customers and due sends: {time.perf_counter() - started:.1f} s"
    )


def _again() -> None:
    with connection.cursor() as cursor:
        cursor.execute(AGAIN)
        cursor.execute("VACUUM ANALYZE saleor_crm_campaignsend")


class Run:
    """The sink and the workers of one run (temporary files in `folder`)."""

    def __init__(self, folder: Path, label: str):
        self.folder, self.label = folder, label
        self.state_path = folder / f"sink-{label}.json"
        self.sink = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
            [
                sys.executable,
                str(BENCH / "smtp_sink.py"),
                os.environ["CRM_BENCH_SMTP_PORT"],
                str(self.state_path),
            ],
        )
        deadline = time.monotonic() + 20
        while not self.state_path.exists():
            if time.monotonic() > deadline or self.sink.poll() is not None:
                sys.exit("the SMTP sink did not start")
            time.sleep(0.1)
        self.workers: dict[str, subprocess.Popen] = {}
        self.peaks: dict[str, int] = {}
        self.cpu: dict[str, float] = {}

    def start_worker(self, name: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "campaign_settings",
        }
        log = open(self.folder / f"{self.label}-{name}.log", "w")
        self.workers[name] = subprocess.Popen(  # noqa: S603 (our own interpreter)
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
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def peak(self, name: str) -> None:
        """Keep the worker's peak RSS (VmHWM: the most the process ever held) and CPU time."""
        pid = self.workers[name].pid
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peaks[name] = max(self.peaks.get(name, 0), int(line.split()[1]))
        # utime and stime, fields 14 and 15 of /proc/<pid>/stat (12 and 13 after the name)
        self.cpu[name] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self, name: str) -> None:
        self.peak(name)
        os.kill(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()
        self.peaks[f"{name} (killed)"] = self.peaks.pop(name, 0)
        self.cpu[f"{name} (killed)"] = self.cpu.pop(name, 0.0)

    def state(self) -> dict:
        for _ in range(10):
            try:
                return json.loads(self.state_path.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(0.05)
        return json.loads(self.state_path.read_text())

    def stop(self) -> dict:
        for name, worker in self.workers.items():
            self.peak(name)
            if worker.poll() is None:
                worker.terminate()
        for worker in self.workers.values():
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        time.sleep(1)  # the sink writes its state twice a second
        self.sink.terminate()
        self.sink.wait(timeout=30)
        return self.state()


def _wait_ready(run: Run) -> None:
    """Wait until every worker answers a ping (booted and consuming)."""
    deadline = time.monotonic() + 120
    names = {f"{name}@{socket.gethostname()}" for name in run.workers}
    while time.monotonic() < deadline:
        answered = {name for reply in app.control.ping(timeout=1.0) for name in reply}
        if names <= answered:
            return
    sys.exit(f"the workers did not start: {sorted(names)}")


def _queue_length(broker) -> int:
    return broker.llen("celery")


def _sent() -> int:
    return CampaignSend.objects.filter(status=CampaignSend.SENT).count()


def _drive(run: Run, sends: int, broker, kills: int = 0) -> float:
    """Dispatch while the queue is empty until every row is sent, killing `kills` workers on
    the way (the oldest live one each time, a new one started at once); return the start."""
    started = time.time()
    thresholds = [sends * (number + 1) // (kills + 1) for number in range(kills)]
    last_dispatch = 0.0
    deadline = time.monotonic() + ARGS.timeout
    while True:
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"not done in {ARGS.timeout} s: {run.state()}, {_sent():,} sent")
        if now - last_dispatch >= 2 and _queue_length(broker) == 0:
            dispatch_campaigns_task()
            last_dispatch = now
        state = run.state()
        if thresholds and state["received"] >= thresholds[0]:
            thresholds.pop(0)
            name = next(n for n, w in run.workers.items() if w.poll() is None)
            run.kill(name)
            claimed = CampaignSend.objects.filter(status=CampaignSend.SENDING).count()
            print(
                f"  killed {name} (SIGKILL) at {state['received']:,} received, "
                f"{time.time() - started:.1f} s in; {claimed:,} rows claimed (its batch and the"
                " live worker's)",
                flush=True,
            )
            run.start_worker(f"{name.split('-r')[0]}-r{len(run.workers)}")
        for name, worker in run.workers.items():
            if worker.poll() is None:
                run.peak(name)
        if state["distinct"] >= sends and _sent() >= sends:
            return started
        time.sleep(0.25)


def _report(label: str, run: Run, started: float, sends: int) -> dict:
    state = run.stop()
    wall = state["last_at"] - started
    sink = state["last_at"] - state["first_at"]
    statuses = dict(CampaignSend.objects.values_list("status").annotate(n=Count("pk")))
    print(
        f"{label}: {state['received']:,} messages received, {state['distinct']:,} distinct "
        f"Message-IDs; {wall:.1f} s from the first dispatch to the last message = "
        f"{sends / wall:,.0f} messages/s ({sink:.1f} s first to last at the sink); "
        f"ledger {statuses}",
        flush=True,
    )
    peaks = ", ".join(f"{name} {kb / 1024:.0f} MB" for name, kb in sorted(run.peaks.items()))
    cpu = sum(run.cpu.values())
    print(
        f"  workers' peak RSS: {peaks}; their CPU {cpu:.1f} s in all = "
        f"{1000 * cpu / state['received']:.2f} ms a message",
        flush=True,
    )
    return state


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")
    call_command("migrate", verbosity=0)
    _fill(ARGS.sends)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    print(
        f"{ARGS.workers} workers, SMTP sink on 127.0.0.1:{settings.EMAIL_PORT}, "
        f"claims stale after {services.stale_after().total_seconds():.0f} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="crm-campaign-send-") as folder:
        if not ARGS.crash_only:
            run = Run(Path(folder), "clean")
            for number in range(ARGS.workers):
                run.start_worker(f"bench-{number + 1}")
            _wait_ready(run)
            started = _drive(run, ARGS.sends, broker)
            _report("clean run", run, started, ARGS.sends)
            if ARGS.no_crash:
                return
            _again()
            broker.delete("celery")
        run = Run(Path(folder), "crash")
        for number in range(ARGS.workers):
            run.start_worker(f"bench-{number + 1}")
        _wait_ready(run)
        started = _drive(run, ARGS.sends, broker, kills=ARGS.kills)
        state = _report(f"crash run ({ARGS.kills} killed)", run, started, ARGS.sends)
        print(
            f"  received {state['received']:,} for {ARGS.sends:,} sends: "
            f"{state['received'] - state['distinct']:,} repeated, "
            f"{ARGS.sends - state['distinct']:,} missing"
        )
        for message_id in state["repeated"]:
            key = message_id.strip("<>").split("@")[0].removeprefix("crm-").replace("-", ":")
            row = CampaignSend.objects.filter(key=key).values("status", "attempts").first()
            print(f"  repeated {message_id}: ledger {row}")
        print(f"  crash run took {time.time() - started:.1f} s in all")


if __name__ == "__main__":
    main()

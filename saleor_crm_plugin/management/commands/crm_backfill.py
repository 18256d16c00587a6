"""`manage.py crm_backfill`: load the store's existing customers and orders into the ledger."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from ...host import get_host
from ...intake.backfill import run_backfill


class ProgressLine:
    """A one-line progress display on stderr: `orders 12,000/30,000 (40%) 2,100/s`."""

    # Without a terminal (logs, CI) a line is written at most this often, and at the end.
    LOG_INTERVAL = 5.0

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.last_kind = None
        self.started = self.last_seen = time.monotonic()
        self.last_written = None

    def __call__(self, kind: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if kind != self.last_kind:
            # This kind's work began when the previous kind's last batch was reported.
            self.started, self.last_kind = self.last_seen, kind
        self.last_seen = now
        rate = done / max(now - self.started, 1e-9)
        share = f"/{total:,} ({100 * done / total:.0f}%)" if total else ""
        line = f"{kind} {done:,}{share} {rate:,.0f}/s"
        if self.interactive:
            self.stream.write("\r" + line.ljust(60))
        elif (
            self.last_written is None
            or now - self.last_written >= self.LOG_INTERVAL
            or (total is not None and done >= total)
        ):
            self.stream.write(line + "\n")
            self.last_written = now
        else:
            return
        self.stream.flush()

    def close(self) -> None:
        if self.interactive and self.last_kind:
            self.stream.write("\n")


class Command(BaseCommand):
    help = "Load the store's existing customers and orders into the CRM ledger (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Processes reading and writing the orders, and settling the customers, at once.",
        )
        parser.add_argument(
            "--restart", action="store_true", help="Start over instead of resuming."
        )

    def handle(self, *args, batch_size, restart, workers, **options):
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, not {batch_size}")
        if workers < 1:
            raise CommandError(f"--workers must be at least 1, not {workers}")
        progress = ProgressLine(self.stderr._out)
        host = get_host()
        try:
            with host.database_access():
                report = run_backfill(
                    host, batch_size=batch_size, restart=restart, progress=progress, workers=workers
                )
        finally:
            progress.close()
        orders, customers = report.orders, report.customers
        self.stdout.write(
            f"{'Resumed' if report.resumed else 'Backfilled'}: "
            f"{orders.total:,} orders ({orders.created:,} new, {orders.updated:,} updated, "
            f"{orders.unchanged:,} unchanged); {customers.total:,} customers "
            f"({customers.created:,} new, {customers.updated:,} updated, "
            f"{customers.unchanged:,} unchanged); {report.scored:,} customers scored (RFM); "
            f"private metadata written for "
            f"{report.metadata_written:,} customers"
        )
        self.stdout.write(
            "Took "
            + ", ".join(f"{stage} {seconds:,.1f} s" for stage, seconds in report.seconds.items())
        )
        if report.skipped:
            self.stdout.write(f"Skipped {len(report.skipped):,} records the store holds:")
            for kind, store_id, reason in report.skipped[:20]:
                self.stdout.write(f"  {kind} {store_id}: {reason}")

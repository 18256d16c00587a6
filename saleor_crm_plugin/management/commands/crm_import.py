"""`manage.py crm_import FILE --kind KIND`: move customers, point lots, ranks, subscriptions
(or, inside Saleor, order history) in from another system."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...host import get_host
from ...imports.files import KINDS, LAYOUTS
from ...imports.services import (
    FileRefused,
    ImportArgumentError,
    import_orders,
    import_path,
)
from .crm_backfill import ProgressLine


class Command(BaseCommand):
    help = (
        "Import a customers, points, ranks or subscriptions CSV file (README: Moving in). "
        "Every line is checked first; a refused line (file, line, column, reason) means "
        "nothing is written unless --skip-refused. Importing the same file again changes "
        "nothing. --kind orders takes a JSON list of Saleor OrderBulkCreateInput objects and "
        "creates them through Saleor's orderBulkCreate."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8), or JSON for --kind orders.")
        parser.add_argument("--kind", required=True, choices=[*KINDS, "orders"])
        parser.add_argument("--layout", default="generic", choices=LAYOUTS)
        parser.add_argument(
            "--source",
            default="import",
            help="Names the old system in the ledger's keys (1-16 of a-z 0-9 - _); import "
            "the files of one system under one source.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report, write nothing.")
        parser.add_argument(
            "--skip-refused",
            action="store_true",
            help="Write the good lines of a file that has refused lines.",
        )
        parser.add_argument("--actor", default="command:crm_import", help="Who, for the audit.")
        parser.add_argument(
            "--with-customers",
            metavar="CUSTOMERS.csv",
            help="With --dry-run of a points, ranks or subscriptions file: the customers file "
            "of the same move, whose customers count as found (dry-run a whole move before "
            "importing anything).",
        )
        parser.add_argument(
            "--with-customers-layout", default="generic", choices=LAYOUTS, help="Its layout."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Processes that check and write parts of the file at once (PostgreSQL; "
            "about the machine's cores). The outcome is the same as with one.",
        )

    def handle(self, *args, file, kind, layout, source, dry_run, skip_refused, actor, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        with_customers = None
        if options.get("with_customers"):
            customers = Path(options["with_customers"])
            if not customers.is_file():
                raise CommandError(f"--with-customers {customers}: no such file")
            with_customers = lambda: customers.open("rb")  # noqa: E731
        host = get_host()
        if kind == "orders":
            try:
                orders = json.loads(path.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                raise CommandError(f"{file}: not a JSON list of orders: {error}") from None
            with host.database_access():
                result = import_orders(host, orders, dry_run=dry_run)
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            if result["refused"]:
                raise CommandError(f"{len(result['refused'])} order(s) refused")
            return
        progress = ProgressLine(self.stderr._out)
        try:
            with host.database_access():
                report = import_path(
                    path,
                    workers=options["workers"],
                    kind=kind,
                    layout=layout,
                    source=source,
                    file_name=path.name,
                    host=host,
                    now=timezone.now(),
                    actor=actor,
                    dry_run=dry_run,
                    skip_refused=skip_refused,
                    progress=progress,
                    with_customers=with_customers,
                    with_customers_layout=options["with_customers_layout"],
                )
        except (FileRefused, ImportArgumentError) as error:
            raise CommandError(str(error)) from None
        finally:
            progress.close()
        for refused in report.refused:
            self.stderr.write(str(refused))
        if report.refused_lines > len(report.refused):
            self.stderr.write(f"... and {report.refused_lines - len(report.refused)} more")
        counts = "; ".join(
            f"{what}: " + ", ".join(f"{n:,} {outcome}" for outcome, n in sorted(outcomes.items()))
            for what, outcomes in sorted(report.counts.items())
        )
        verb = "would import" if dry_run else "imported"
        self.stdout.write(
            f"{path.name}: {report.lines:,} lines, {report.refused_lines:,} refused; "
            f"{verb}: {counts or 'nothing'}"
        )
        if report.refused_lines and not skip_refused and not dry_run:
            raise CommandError(
                f"{report.refused_lines} line(s) refused: nothing was written "
                "(fix them, or --skip-refused)"
            )

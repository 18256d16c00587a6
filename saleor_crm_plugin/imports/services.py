"""Moving in: apply an import file (`imports.files`) to the store and the ledger.

Customers are created in the store through the Host (`Host.create_customers`; an email the
store has is *matched* and left as it is, only its missing CRM metadata keys are filled), and
their CRM profiles come through ingestion. Point lots, ranks and subscriptions land in the
ledger through their own services, keyed `import:<source>:...`, so the same file imported
twice changes nothing the second time.

First every line is checked (and, for a dry run, counted as created, matched or unchanged
against the store and the ledger) and the good rows are kept in a temporary spool file; then,
when no line was refused or the caller said to skip refused lines, they are written in
batches. A refused line means nothing is written
unless `skip_refused` is set; then the other lines are written and the refused ones reported.
"""

import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice, pairwise

from django.db import transaction

from ..audit import services as audit
from ..audit.models import AuditEvent
from ..conf import CRMConfig
from ..customers.ingest import ingest_customers
from ..customers.models import CustomerProfile
from ..errors import FieldError
from ..expressions import AnyOf
from ..host.protocol import NewCustomer
from ..loyalty.lots import Entry, Kind
from ..loyalty.membership import evaluate_ranks
from ..loyalty.models import MemberRank, PointsEntry
from ..loyalty.services import Written, record_opening
from ..rows import update_rows
from ..subscriptions.models import Subscription
from ..subscriptions.services import NewSubscription, create_subscriptions, rules_for
from .files import (
    CustomerRef,
    CustomerRow,
    FileRefused,
    LotRow,
    RankRow,
    Refused,
    SubscriptionRow,
    read_file,
)
from .models import ImportRun

__all__ = [
    "FileRefused",
    "ImportArgumentError",
    "ImportReport",
    "apply_run",
    "check_source",
    "execute_run",
    "import_file",
    "import_orders",
    "import_path",
    "start_run",
]

BATCH = {"customers": 2000, "points": 10000, "ranks": 2000, "subscriptions": 2000}
MAX_LISTED = 200  # refusals kept in a report (the count is always whole)
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,15}$")

Progress = Callable[[str, int, int | None], None]


class ImportArgumentError(FieldError):
    """The import cannot start: `field` names the argument."""


def check_source(source: str) -> str:
    """The import's source name, as keys carry it: 1-16 of a-z, 0-9, '-' and '_'."""
    source = (source or "").strip()
    if not _SOURCE.match(source):
        raise ImportArgumentError(
            "source",
            f"'{source}' is not a source name: 1 to 16 of a-z, 0-9, - and _ (e.g. shopify)",
        )
    return source


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    kind: str
    layout: str
    source: str
    file: str
    dry_run: bool
    lines: int = 0  # data lines read
    # {"customers": {"created": n, "matched": n}, "points": {"created": n, "unchanged": n}, ...}
    counts: dict = field(default_factory=dict)
    refused: list[Refused] = field(default_factory=list)  # the first MAX_LISTED
    refused_lines: int = 0
    written: bool = False

    def count(self, what: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(what, {}).setdefault(outcome, 0)
        self.counts[what][outcome] += n

    @property
    def created(self) -> int:
        return sum(outcomes.get("created", 0) for outcomes in self.counts.values())

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "layout": self.layout,
            "source": self.source,
            "file": self.file,
            "dry_run": self.dry_run,
            "lines": self.lines,
            "counts": self.counts,
            "created": self.created,
            "refused_lines": self.refused_lines,
            "refused": [
                {"file": r.file, "line": r.line, "field": r.field, "reason": r.reason}
                for r in self.refused
            ],
            "written": self.written,
        }


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    while batch := list(islice(rows, size)):
        yield batch


class _Run:
    """One import: the arguments, the report and what the first pass learnt."""

    def __init__(self, host, config: CRMConfig, kind, source, now, actor, report):
        self.host, self.config, self.kind, self.source = host, config, kind, source
        self.now, self.actor, self.report = now, actor, report
        self.ranks = {rank.code for rank in config.loyalty.ladder.ranks}
        self.refused_at: set[int] = set()
        self.emails: dict[str, int] = {}  # customers: the line of each email seen
        self.external_ids: dict[str, int] = {}
        # A dry run's customers file (`with_customers`): the emails and external ids it
        # would create or match, found here as if they were in the store already.
        self.planned: tuple[set[str], set[str]] = (set(), set())

    def refuse(self, refused: Refused) -> None:
        if refused.line not in self.refused_at:
            self.report.refused_lines += 1
            self.refused_at.add(refused.line)
        if len(self.report.refused) < MAX_LISTED:
            self.report.refused.append(refused)

    def refuse_row(self, row, column: str, reason: str) -> None:
        self.refuse(Refused(self.report.file, row.line, column, reason))

    # --- the first pass: checks that need the store or the ledger -----------------------

    def check_customers(self, rows: list[CustomerRow], dry_run: bool) -> list[CustomerRow]:
        good = []
        for row in rows:
            first = self.emails.setdefault(row.email, row.line)
            if first != row.line:
                self.refuse_row(row, "email", f"is on line {first} already")
                continue
            if row.external_id:
                first = self.external_ids.setdefault(row.external_id, row.line)
                if first != row.line:
                    self.refuse_row(row, "external_id", f"is on line {first} already")
                    continue
            if not self._rank_allowed(row, row.rank):
                continue
            good.append(row)
        good = self._external_ids_free(good)
        if dry_run and good:
            found, _ = self.host.find_users([row.email for row in good])
            for row in good:
                user_id = found.get(row.email)
                self.report.count("customers", "matched" if user_id else "created")
            self._dry_extras(
                [
                    (found.get(row.email), row.points, row.rank)
                    for row in good
                    if row.points or row.rank
                ]
            )
        return good

    def _external_ids_free(self, rows: list[CustomerRow]) -> list[CustomerRow]:
        """Refuse the rows whose external id the store gives another customer (an external
        reference is unique in the store): the row's email and that id name two people."""
        references = [row.external_id for row in rows if row.external_id]
        if not references:
            return rows
        by_email, by_reference = self.host.find_users([row.email for row in rows], references)
        good = []
        for row in rows:
            holder = by_reference.get(row.external_id) if row.external_id else None
            if holder is not None and holder != by_email.get(row.email):
                self.refuse_row(
                    row,
                    "external_id",
                    f"'{row.external_id}' belongs to another customer of the store "
                    f"(user {holder}), not to {row.email}",
                )
                continue
            good.append(row)
        return good

    def _rank_allowed(self, row, rank: RankRow | None) -> bool:
        if rank is not None and rank.code not in self.ranks:
            self.refuse_row(
                row,
                "rank",
                f"'{rank.code}' is not a rank of the store; the ranks are "
                + ", ".join(sorted(self.ranks)),
            )
            return False
        return True

    def resolve(self, rows) -> dict[int, str | None]:
        """The user id of each row's customer (by line; None: a customer of the dry run's
        customers file not in the store yet); refuse the rows naming nobody."""
        refs: list[CustomerRef] = [row.customer for row in rows]
        by_email, by_reference = self.host.find_users(
            {ref.email for ref in refs if ref.email},
            {ref.external_id for ref in refs if ref.external_id and not ref.email},
        )
        found = {}
        planned_emails, planned_references = self.planned
        for row in rows:
            ref = row.customer
            user_id = by_email.get(ref.email) if ref.email else by_reference.get(ref.external_id)
            if user_id is None and (
                ref.email in planned_emails if ref.email else ref.external_id in planned_references
            ):
                found[row.line] = None  # the customers file (dry run) brings them
                continue
            if user_id is None:
                column = "email" if ref.email else "external_id"
                self.refuse_row(
                    row, column, f"no customer {ref} in the store: import the customers first"
                )
            else:
                found[row.line] = user_id
        return found

    def check_refs(self, rows: list, dry_run: bool) -> tuple[list, dict[int, str]]:
        rows = [row for row in rows if self._row_allowed(row)]
        users = self.resolve(rows)
        good = [row for row in rows if row.line in users]
        if dry_run and good:
            if self.kind == "subscriptions":
                keys = {self.subscription_key(row): row for row in good}
                known = set(
                    Subscription.objects.filter(source_order_id__in=list(keys)).values_list(
                        "source_order_id", flat=True
                    )
                )
                for key in keys:
                    self.report.count("subscriptions", "unchanged" if key in known else "created")
            elif self.kind == "points":
                self._dry_extras([(users[row.line], row, None) for row in good])
            else:
                self._dry_extras([(users[row.line], None, row) for row in good])
        return good, users

    def _row_allowed(self, row) -> bool:
        if isinstance(row, RankRow):
            return self._rank_allowed(row, row)
        return True

    def _dry_extras(self, items: list[tuple[str | None, LotRow | None, RankRow | None]]) -> None:
        """Count the lots and ranks that would be written, for (user id or None: a customer
        still to create, lot, rank)."""
        lots = {self.lot_key(lot, user_id): lot for user_id, lot, _ in items if lot and user_id}
        known = set(
            PointsEntry.objects.filter(AnyOf("key", list(lots))).values_list("key", flat=True)
        )
        for user_id, lot, _ in items:
            if lot is not None:
                new = user_id is None or self.lot_key(lot, user_id) not in known
                self.report.count("points", "created" if new else "unchanged")
        ranked = [(user_id, rank) for user_id, _, rank in items if rank]
        profiles = dict(
            CustomerProfile.objects.filter(
                user_id__in=[user_id for user_id, _ in ranked if user_id]
            ).values_list("user_id", "pk")
        )
        members = {
            member.profile_id: member
            for member in MemberRank.objects.filter(profile_id__in=list(profiles.values()))
        }
        for user_id, rank in ranked:
            member = members.get(profiles.get(user_id))
            same = member is not None and self._pinned(member, rank)
            self.report.count("ranks", "unchanged" if same else "created")

    # --- keys -----------------------------------------------------------------------------

    def lot_key(self, lot: LotRow, user_id: str) -> str:
        if lot.lot_id == "opening":  # the balance on a customer's line: one per customer
            return f"import:{self.source}:opening:{user_id}"
        return f"import:{self.source}:lot:{lot.lot_id}"

    def subscription_key(self, row: SubscriptionRow) -> str:
        return f"import:{self.source}:{row.subscription_id}"

    def _pinned(self, member: MemberRank, rank: RankRow) -> bool:
        return (member.pin_code, member.pin_expires_at, member.pin_reason) == (
            rank.code,
            rank.expires_at,
            f"import:{self.source}",
        )

    # --- the second pass: writing ---------------------------------------------------------

    def profiles(self, user_ids: Iterable[str]) -> dict[str, int]:
        """The CRM profile of each user, ingesting the users the CRM has not seen yet."""
        user_ids = set(user_ids)
        found = dict(
            CustomerProfile.objects.filter(AnyOf("user_id", list(user_ids))).values_list(
                "user_id", "pk"
            )
        )
        missing = [user_id for user_id in user_ids if user_id not in found]
        if missing:
            ingest_customers(list(self.host.customer_snapshots(missing).values()))
            found.update(
                CustomerProfile.objects.filter(user_id__in=missing).values_list("user_id", "pk")
            )
        return found

    def write_customers(self, rows: list[CustomerRow]) -> None:
        config = self.config
        found, _ = self.host.find_users([row.email for row in rows])
        new = [row for row in rows if row.email not in found]
        created = self.host.create_customers(
            [
                NewCustomer(
                    email=row.email,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    address=row.address.as_input() if row.address else {},
                    phone=row.phone,
                    note=row.note,
                    external_reference=row.external_id,
                    private_metadata=self._metadata(row),
                )
                for row in new
            ]
        )
        self.report.count("customers", "created", len(created))
        self.report.count("customers", "matched", len(rows) - len(created))
        users = {**found, **created}
        # A matched customer gets only the CRM keys it lacks: the store's values win.
        matched = [row for row in rows if row.email in found]
        if matched:
            keys = [config.birth_date_key, config.line_user_id_key, config.consent_key]
            held = self.host.private_metadata([found[row.email] for row in matched], keys)
            missing = {}
            for row in matched:
                user_id = found[row.email]
                wanted = {
                    key: value
                    for key, value in self._metadata(row).items()
                    if key not in held.get(user_id, {})
                }
                if wanted:
                    missing[user_id] = wanted
            if missing:
                self.host.write_private_metadata(missing)
        profiles = self.profiles(users.values())
        self.write_lots(
            [(profiles[users[r.email]], users[r.email], r.points) for r in rows if r.points]
        )
        self.write_ranks([(profiles[users[r.email]], r.rank) for r in rows if r.rank])

    def _metadata(self, row: CustomerRow) -> dict[str, str]:
        config, values = self.config, {}
        if row.birth_date is not None:
            values[config.birth_date_key] = row.birth_date.isoformat()
        if row.line_user_id:
            values[config.line_user_id_key] = row.line_user_id
        if row.marketing_consent is not None:
            values[config.consent_key] = "true" if row.marketing_consent else "false"
        return values

    def write_lots(self, items: list[tuple[int, str, LotRow]]) -> None:
        by_profile: dict[int, list[Written]] = {}
        reason = f"import:{self.source}"
        for profile_id, user_id, lot in items:
            entry = Entry(
                self.lot_key(lot, user_id),
                Kind.EARN,
                lot.points,
                lot.earned_at,
                expires_at=lot.expires_at,
                funding=lot.funding,
                paid_amount=lot.paid_amount,
            )
            by_profile.setdefault(profile_id, []).append(
                Written(entry, reason, self.actor, lot.currency)
            )
        written = record_opening(by_profile)
        self.report.count("points", "created", written)
        self.report.count("points", "unchanged", len(items) - written)

    def write_ranks(self, items: list[tuple[int, RankRow]]) -> None:
        if not items:
            return
        wanted = dict(items)  # a later line for the same customer wins
        ids = sorted(wanted)
        with transaction.atomic():
            first = set(ids) - set(
                MemberRank.objects.filter(profile_id__in=ids).values_list("profile_id", flat=True)
            )
            if first:
                evaluate_ranks(self.config, first, self.now)
            changed = []
            for member in MemberRank.objects.select_for_update().filter(profile_id__in=ids):
                rank = wanted[member.profile_id]
                if not self._pinned(member, rank):
                    member.pin_code, member.pin_expires_at = rank.code, rank.expires_at
                    member.pin_reason, member.pinned_by = f"import:{self.source}", self.actor
                    changed.append(member)
            update_rows(
                MemberRank, ["pin_code", "pin_expires_at", "pin_reason", "pinned_by"], changed
            )
            if changed:
                evaluate_ranks(
                    self.config,
                    [member.profile_id for member in changed],
                    self.now,
                    actor=self.actor,
                )
        self.report.count("ranks", "created", len(changed))
        self.report.count("ranks", "unchanged", len(ids) - len(changed))

    def write_refs(self, rows: list, users: dict[int, str]) -> None:
        """Write these checked rows; `users`: the user id of each row's customer, by line."""
        profiles = self.profiles(users.values())
        if self.kind == "points":
            self.write_lots([(profiles[users[row.line]], users[row.line], row) for row in rows])
        elif self.kind == "ranks":
            self.write_ranks([(profiles[users[row.line]], row) for row in rows])
        else:
            starts = [
                NewSubscription(
                    profile_id=profiles[users[row.line]],
                    user_id=users[row.line],
                    key=self.subscription_key(row),
                    channel=row.channel,
                    currency=row.currency,
                    lines=row.items,
                    interval=row.interval,
                    next_delivery=row.next_delivery,
                    shipping_address=row.address.as_input() if row.address else {},
                )
                for row in rows
            ]
            created = create_subscriptions(
                starts,
                actor=self.actor,
                now=self.now,
                rules=rules_for(self.config),
                zone=self.config.zone,
            )
            self.report.count("subscriptions", "created", created)
            self.report.count("subscriptions", "unchanged", len(starts) - created)


def _planned_customers(
    with_customers: Callable[[], Iterable] | None, layout: str, kind: str, dry_run: bool, zone, now
) -> tuple[set[str], set[str]]:
    """The emails and external ids of the good lines of a dry run's customers file (none
    without one). Raises `ImportArgumentError` for a real import or a customers file."""
    emails, references = set(), set()
    if with_customers is None:
        return emails, references
    if not dry_run:
        raise ImportArgumentError(
            "with_customers", "is for a dry run: import the customers file first, then this one"
        )
    if kind == "customers":
        raise ImportArgumentError("with_customers", "is for a points, ranks or subscriptions file")
    for row in read_file(
        with_customers(), kind="customers", layout=layout, file="", zone=zone, as_of=now
    ):
        if isinstance(row, CustomerRow):
            emails.add(row.email)
            if row.external_id:
                references.add(row.external_id)
    return emails, references


def import_file(
    opener: Callable[[], Iterable],
    *,
    kind: str,
    layout: str = "generic",
    source: str,
    file_name: str = "",
    host,
    now: datetime,
    actor: str,
    dry_run: bool = False,
    skip_refused: bool = False,
    progress: Progress | None = None,
    with_customers: Callable[[], Iterable] | None = None,
    with_customers_layout: str = "generic",
) -> ImportReport:
    """Check an import file, then (unless `dry_run`) apply it; return the report.

    `opener()` gives the file's lines (read once: the checked rows wait in a spool file). Refused lines are reported
    with the file, line number, column and reason; with any of them nothing is written unless
    `skip_refused`. Raises `FileRefused` when the file cannot be read at all (nothing written)
    and `ImportArgumentError` for a wrong argument. `progress(stage, lines done, lines in all or
    None)` is called after every batch (`stage` is "checking" or "importing").

    `with_customers` (a dry run of a points, ranks or subscriptions file only) gives the lines
    of the customers file of the same move, in `with_customers_layout`: the customers it would
    import count as found, so a whole move can be dry-run before anything is written.
    """
    source = check_source(source)
    config = host.config()
    report = ImportReport(kind, layout, source, file_name, dry_run)
    run = _Run(host, config, kind, source, now, actor, report)
    run.planned = _planned_customers(
        with_customers, with_customers_layout, kind, dry_run, config.zone, now
    )

    # What the check found good, a batch at a time, is written to a spool file and read back
    # to write it: the file is parsed and its customers looked up once.
    with tempfile.TemporaryFile() as spool:
        last_line = _check_pass(run, opener(), layout, file_name, 0, dry_run, spool, progress)
        report.lines = last_line - 1 if last_line else 0
        if report.refused:
            report.lines = max(report.lines, max(r.line for r in report.refused) - 1)
        if dry_run or (report.refused_lines and not skip_refused):
            return report
        run.report.counts = {}
        _write_pass(run, spool, set(), progress, report.lines + 1)
    return _finish(run)


def _check_pass(run, lines, layout, file_name, line_offset, dry_run, spool, progress) -> int:
    """Check the lines (a file, or its header and then a part of it) in batches, keeping the
    good rows in `spool` unless `dry_run`; return the last line number read (0: none)."""

    def rows() -> Iterator:
        for item in read_file(
            lines,
            kind=run.kind,
            layout=layout,
            file=file_name,
            zone=run.config.zone,
            as_of=run.now,
            line_offset=line_offset,
        ):
            if isinstance(item, Refused):
                run.refuse(item)
                continue
            yield item

    last_line = 0
    for batch in _batches(rows(), BATCH[run.kind]):
        if run.kind == "customers":
            checked = (run.check_customers(batch, dry_run), {})
        else:
            checked = run.check_refs(batch, dry_run)
        if not dry_run:
            pickle.dump(checked, spool, protocol=pickle.HIGHEST_PROTOCOL)
        last_line = batch[-1].line
        if progress:
            progress("checking", last_line, None)
    return max(last_line, max(run.refused_at, default=0))


def _write_pass(run, spool, skip: set[int], progress, total: int) -> None:
    """Write the rows `_check_pass` kept, but those of the lines in `skip`."""
    spool.seek(0)
    while True:
        try:
            good, users = pickle.load(spool)  # noqa: S301 (our own file, written above)
        except EOFError:
            break
        if skip:
            good = [row for row in good if row.line not in skip]
        if not good:
            continue
        if run.kind == "customers":
            run.write_customers(good)
        else:
            run.write_refs(good, users)
        if progress:
            progress("importing", good[-1].line, total)


def _finish(run) -> ImportReport:
    """The report of a written import, audited when it created anything."""
    report = run.report
    report.refused_lines = len(run.refused_at)
    report.written = report.created > 0
    if report.written:
        audit.record(
            AuditEvent.IMPORTED,
            run.actor,
            run.now,
            reason=f"import:{run.source}",
            detail=report.as_dict() | {"refused": report.refused_lines},
        )
    return report


# --- one file in several processes (`crm_import --workers N`) ---------------------------------


def _parts(path, count: int) -> tuple[bytes, list[tuple[int, int, int]]]:
    """The file's header line and `count` parts of the rest, cut at line ends outside quotes
    (a CSV value may hold a line break): (start byte, end byte, lines before the part)."""
    size = path.stat().st_size
    bounds, lines = [], 0
    with path.open("rb") as file:
        header = file.readline()
        position, quotes, wanted = len(header), 0, 1
        bounds.append((position, 0))
        for raw in file:
            quotes += raw.count(b'"')
            position += len(raw)
            lines += 1
            if quotes % 2 == 0 and wanted < count and position >= size * wanted / count:
                bounds.append((position, lines))
                wanted += 1
    bounds.append((size, lines))
    parts = [(start, end, before) for (start, before), (end, _) in pairwise(bounds) if end > start]
    return header, parts


def _part_lines(path, header: bytes, start: int, end: int) -> Iterator[bytes]:
    yield header
    with path.open("rb") as file:
        file.seek(start)
        position = start
        for raw in file:
            if position >= end:
                return
            position += len(raw)
            yield raw


def _part_worker(channel, path, header, part, arguments) -> None:
    """One process's part: check it, tell the parent what it found, then write it (or not)
    as the parent says, and tell it what was written."""
    from django.db import connections

    start, end, before = part
    try:
        run = _Run(*arguments["run"])
        run.planned = arguments["planned"]
        with tempfile.TemporaryFile() as spool:

            def progress(stage, line, total):
                channel.send(("progress", stage, line))

            last = _check_pass(
                run,
                _part_lines(path, header, start, end),
                arguments["layout"],
                run.report.file,
                before,
                arguments["dry_run"],
                spool,
                progress,
            )
            channel.send(
                ("checked", run.report, sorted(run.refused_at), last, run.emails, run.external_ids)
            )
            order, skip = channel.recv()
            if order == "write":
                run.report.counts = {}
                _write_pass(run, spool, skip, progress, 0)
                channel.send(("written", run.report.counts))
    except Exception as error:  # reported to the parent, which raises it
        channel.send(("failed", error))
    finally:
        connections.close_all()
        channel.close()


def import_path(path, *, workers: int = 1, progress: Progress | None = None, **options):
    """`import_file` of a file on disk, checked and written by `workers` processes at once,
    each taking a part of the file (PostgreSQL writes one part while Python reads another).

    The same outcome as one process: every part is checked before anything is written, and
    a refused line anywhere writes nothing (unless `skip_refused`); a customer's email or
    external id seen on an earlier line of another part is refused as in one process.
    `options` are `import_file`'s. Workers only on PostgreSQL (SQLite writes one at a time).
    """
    from multiprocessing import connection as mp_connection
    from multiprocessing import get_context

    from django.db import connection, connections

    if workers < 1:
        raise ImportArgumentError("workers", f"must be 1 or more, not {workers}")
    kind = options["kind"]
    if workers == 1 or connection.vendor != "postgresql":
        return import_file(lambda: path.open("rb"), progress=progress, **options)
    with_customers = options.pop("with_customers", None)
    layout = options.get("layout", "generic")
    source = check_source(options["source"])
    host, now, actor = options["host"], options["now"], options["actor"]
    dry_run, skip_refused = options.get("dry_run", False), options.get("skip_refused", False)
    file_name = options.get("file_name", "")
    config = host.config()
    planned = _planned_customers(
        with_customers,
        options.pop("with_customers_layout", "generic"),
        kind,
        dry_run,
        config.zone,
        now,
    )
    # The file as a whole first (its header, an unknown column): refused before any process.
    header, parts = _parts(path, workers)
    next(
        read_file([header], kind=kind, layout=layout, file=file_name, zone=config.zone, as_of=now),
        None,
    )
    arguments = {
        "layout": layout,
        "dry_run": dry_run,
        "planned": planned,
        "run": (
            host,
            config,
            kind,
            source,
            now,
            actor,
            ImportReport(kind, layout, source, file_name, dry_run),
        ),
    }
    connections.close_all()  # each process opens its own connection
    context = get_context("fork")
    channels, processes = [], []
    for part in parts:
        mine, theirs = context.Pipe()
        process = context.Process(
            target=_part_worker, args=(theirs, path, header, part, arguments), daemon=True
        )
        process.start()
        theirs.close()
        channels.append(mine)
        processes.append(process)
    progressed: dict = {}

    def gather(expected: str) -> dict:
        answers = {}
        waiting = set(range(len(channels)))
        while waiting:
            for channel in mp_connection.wait([channels[i] for i in waiting]):
                index = channels.index(channel)
                message = channel.recv()
                if message[0] == "progress":
                    progressed[index] = message[2] - parts[index][2] - 1
                    if progress:
                        stage = "checking" if expected == "checked" else "importing"
                        progress(stage, sum(progressed.values()), None)
                    continue
                if message[0] == "failed":
                    for process in processes:
                        process.kill()
                    raise message[1]
                answers[index] = message
                waiting.discard(index)
        return answers

    try:
        checked = gather("checked")
        report = ImportReport(kind, layout, source, file_name, dry_run)
        refused_at: set[int] = set()
        first_email: dict[str, int] = {}
        first_reference: dict[str, int] = {}
        skip: dict[int, set[int]] = {index: set() for index in checked}
        late: list[Refused] = []
        for index in sorted(checked):
            _, part_report, part_refused, last, emails, references = checked[index]
            for what, outcomes in part_report.counts.items():
                for outcome, n in outcomes.items():
                    report.count(what, outcome, n)
            report.refused.extend(part_report.refused)
            refused_at.update(part_refused)
            report.lines = max(report.lines, last - 1)
            # A customer on an earlier part's line: refused here, as one process would.
            for email, line in emails.items():
                if email in first_email:
                    late.append(
                        Refused(
                            file_name, line, "email", f"is on line {first_email[email]} already"
                        )
                    )
                    skip[index].add(line)
                else:
                    first_email[email] = line
            for reference, line in references.items():
                if line in skip[index]:
                    continue
                if reference in first_reference:
                    late.append(
                        Refused(
                            file_name,
                            line,
                            "external_id",
                            f"is on line {first_reference[reference]} already",
                        )
                    )
                    skip[index].add(line)
                else:
                    first_reference[reference] = line
        refused_at.update(refused.line for refused in late)
        report.refused = sorted([*report.refused, *late], key=lambda r: (r.line, r.field))[
            :MAX_LISTED
        ]
        report.refused_lines = len(refused_at)
        write = not dry_run and not (refused_at and not skip_refused)
        for index, channel in enumerate(channels):
            channel.send(("write" if write else "stop", skip[index]))
        if not write:
            return report
        written = gather("written")
        for _, counts in written.values():
            for what, outcomes in counts.items():
                for outcome, n in outcomes.items():
                    report.count(what, outcome, n)
    finally:
        for channel in channels:
            channel.close()  # a process still waiting for its order ends
        for process in processes:
            process.join(timeout=60)
    run = _Run(host, config, kind, source, now, actor, report)
    run.refused_at = refused_at
    return _finish(run)


ORDER_BATCH = 50  # orders a call of Saleor's orderBulkCreate (its own limit is higher)


def import_orders(host, orders: list, *, dry_run: bool = False) -> dict:
    """Create historical orders through the store's own bulk import (Saleor's
    `orderBulkCreate`, `Host.create_orders_in_bulk`), which fires `order_bulk_created`: the
    intake records them like any order. `orders` are `OrderBulkCreateInput` objects; give each
    an `externalReference` so Saleor refuses the same order twice. Returns
    {"created": [order ids], "refused": [{"index", "errors"}]}; a dry run checks only that it
    is a list of objects.
    """
    if not isinstance(orders, list) or not all(isinstance(order, dict) for order in orders):
        raise ImportArgumentError("orders", "must be a list of OrderBulkCreateInput objects")
    created, refused = [], []
    if dry_run:
        return {"created": [], "refused": [], "orders": len(orders)}
    for start in range(0, len(orders), ORDER_BATCH):
        for offset, result in enumerate(
            host.create_orders_in_bulk(orders[start : start + ORDER_BATCH])
        ):
            if result["order_id"]:
                created.append(result["order_id"])
            else:
                refused.append({"index": start + offset, "errors": result["errors"]})
    return {"created": created, "refused": refused, "orders": len(orders)}


# --- runs from the Dashboard page (an `ImportRun` row a file) --------------------------------

MAX_UPLOAD = 50_000_000  # characters of one uploaded file (larger ones: the command)


def start_run(
    *,
    kind: str,
    layout: str,
    source: str,
    file_name: str,
    content: str,
    dry_run: bool,
    skip_refused: bool,
    actor: str,
) -> ImportRun:
    """Keep an uploaded file as an `ImportRun` to check (and, unless `dry_run`, import) in
    the background (`run_import_task`, after the commit). Raises `ImportArgumentError`."""
    from .files import KINDS, LAYOUTS

    if kind not in KINDS:
        raise ImportArgumentError("kind", f"'{kind}' is not one of {', '.join(KINDS)}")
    if layout not in LAYOUTS:
        raise ImportArgumentError("layout", f"'{layout}' is not one of {', '.join(LAYOUTS)}")
    if not content.strip():
        raise ImportArgumentError("content", "the file is empty")
    if len(content) > MAX_UPLOAD:
        raise ImportArgumentError(
            "content", f"is larger than {MAX_UPLOAD:,} characters: use the crm_import command"
        )
    run = ImportRun.objects.create(
        kind=kind,
        layout=layout,
        source=check_source(source),
        file_name=(file_name or f"{kind}.csv")[:255],
        content=content,
        dry_run=dry_run,
        skip_refused=skip_refused,
        actor=actor,
    )
    _enqueue(run.pk)
    return run


def apply_run(run_id: int, *, skip_refused: bool, actor: str) -> ImportRun:
    """Import the file of a finished dry run (the same file, as uploaded)."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise ImportArgumentError("id", f"no import {run_id}")
        if not run.dry_run or run.status != ImportRun.Status.DONE or not run.content:
            raise ImportArgumentError("id", "only a finished dry run can be imported")
        run.dry_run, run.skip_refused, run.actor = False, skip_refused, actor
        run.status, run.done_lines, run.report = ImportRun.Status.PENDING, 0, {}
        run.save()
        _enqueue(run.pk)
    return run


def _enqueue(run_id: int) -> None:
    from .tasks import run_import_task

    transaction.on_commit(lambda: run_import_task.delay(run_id))


def execute_run(run_id: int, host) -> None:
    """Check or import the run's file, writing its progress and report to the row. A run
    that is not pending (done, or taken by another worker) is left alone."""
    from django.utils import timezone

    claimed = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.PENDING).update(
        status=ImportRun.Status.RUNNING
    )
    if not claimed:
        return
    run = ImportRun.objects.get(pk=run_id)
    run.total_lines = max(run.content.count("\n"), 1)

    def progress(stage, done, total):
        ImportRun.objects.filter(pk=run_id).update(
            # a dry run is all checking; an import checks (first half), then writes
            done_lines=done
            if run.dry_run
            else (done // 2 if stage == "checking" else (run.total_lines + done) // 2),
            total_lines=run.total_lines,
            updated_at=timezone.now(),
        )

    try:
        report = import_file(
            lambda: run.content.splitlines(keepends=True),
            kind=run.kind,
            layout=run.layout,
            source=run.source,
            file_name=run.file_name,
            host=host,
            now=timezone.now(),
            actor=run.actor,
            dry_run=run.dry_run,
            skip_refused=run.skip_refused,
            progress=progress,
        )
    except (FileRefused, ImportArgumentError) as error:
        run.status, run.error = ImportRun.Status.REFUSED, str(error)[:512]
        run.report = {}
    except Exception as error:
        run.status, run.error = ImportRun.Status.FAILED, str(error)[:512]
        run.save()
        raise
    else:
        run.report = report.as_dict()
        refused = report.refused_lines and not run.skip_refused and not run.dry_run
        run.status = ImportRun.Status.REFUSED if refused else ImportRun.Status.DONE
    run.done_lines = run.total_lines
    run.finished_at = timezone.now()
    if not run.dry_run:
        run.content = ""  # imported: the personal data stays in the store only
    run.save()

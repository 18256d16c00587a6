"""`saleor-crm import orders.csv`: load a merchant's order export into the sandbox store.

One row per order line. The whole file is checked first; a file with any bad row is refused
with every problem's line number and reason, and nothing is written. A good file is written in
batches (`_batch_size`) of orders, each in one transaction; importing it again changes nothing (and
completes an import that was interrupted).
"""

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from ..customers.ingest import IngestResult, ingest_orders
from ..customers.snapshots import (
    LineSnapshot,
    OrderSnapshot,
    OrderStatus,
    SnapshotError,
)
from ..money import parse_amount, validate_currency
from ..rows import add_objects
from .generator import CHANNELS
from .models import SandboxOrder, SandboxUser

__all__ = ["REQUIRED_COLUMNS", "ImportFailed", "ImportReport", "import_orders_csv"]

REQUIRED_COLUMNS = ("order_id", "email", "date", "total", "currency")
OPTIONAL_COLUMNS = (
    "customer_id",
    "status",
    "channel",
    "refunded",
    "updated_at",
    "sku",
    "quantity",
    "unit_price",
    "product_name",
)
# Columns that describe the order, so every line of one order must agree on them.
ORDER_COLUMNS = (
    "email",
    "customer_id",
    "date",
    "total",
    "currency",
    "status",
    "channel",
    "refunded",
    "updated_at",
)
MAX_LISTED = 20


# Orders written (to the store and the ledger) per transaction. On PostgreSQL the ledger's locks
# of a batch (its orders, users and emails) must fit the lock table, as the backfill's do;
# SQLite takes no such locks, and each of its commits costs a write of the journal.
def _batch_size() -> int:
    return 500 if connection.vendor == "postgresql" else 5000


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def __str__(self):
        return (
            f"line {self.line}, {self.column}: {self.message}"
            if self.column
            else f"line {self.line}: {self.message}"
        )


class ImportFailed(ValueError):
    """The file was refused; `problems` lists every bad row (nothing was written)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        listed = "\n".join(str(p) for p in problems[:MAX_LISTED])
        more = f"\n… and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        super().__init__(f"{len(problems)} problem(s); nothing was imported:\n{listed}{more}")


@dataclass(frozen=True)
class ImportReport:
    orders: int
    lines: int
    customers: int
    result: IngestResult


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _parse_time(text: str, zone: ZoneInfo) -> datetime:
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ValueError(
                f"'{text}' is not an ISO 8601 date (e.g. 2025-03-31 or 2025-03-31T14:05:00+09:00)"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


class _Reader:
    """Checks rows one by one, collecting problems instead of stopping at the first."""

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self.problems: list[Problem] = []
        # Each amount text parsed once per currency (a file repeats its prices): the amount,
        # or why it is refused.
        self._amounts: dict[tuple[str, str], Decimal | str] = {}

    def amount(self, text: str, currency: str) -> Decimal:
        """`parse_amount`, remembered."""
        key = (text, currency)
        if key not in self._amounts:
            try:
                self._amounts[key] = parse_amount(text, currency)
            except ValueError as error:
                self._amounts[key] = str(error)
        value = self._amounts[key]
        if isinstance(value, str):
            raise ValueError(value)
        return value

    def fail(self, line: int, column: str, message: str) -> None:
        self.problems.append(Problem(line, column, message))

    def order_values(self, line: int, row: dict) -> dict | None:
        before = len(self.problems)
        values = {"order_id": row["order_id"].strip()}
        if not values["order_id"]:
            self.fail(line, "order_id", "is empty")
        email = row["email"].strip()
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            self.fail(line, "email", f"'{email}' is not an email address" if email else "is empty")
        values["email"] = email.lower()
        values["customer_id"] = (row.get("customer_id") or "").strip() or None
        try:
            values["currency"] = validate_currency(row["currency"])
        except ValueError as error:
            self.fail(line, "currency", str(error))
            return None
        currency = values["currency"]
        for column, default in (("total", None), ("refunded", "0")):
            text = (row.get(column) or "").strip() or default
            if text is None:
                self.fail(line, column, "is empty")
                continue
            try:
                values[column] = self.amount(text, currency)
            except ValueError as error:
                self.fail(line, column, str(error))
        if "total" in values and "refunded" in values and values["refunded"] > values["total"]:
            self.fail(
                line, "refunded", f"{values['refunded']} is more than the total {values['total']}"
            )
        for column in ("date", "updated_at"):
            text = (row.get(column) or "").strip()
            if not text:
                if column == "date":
                    self.fail(line, "date", "is empty")
                continue
            try:
                values[column] = _parse_time(text, self.zone)
            except ValueError as error:
                self.fail(line, column, str(error))
        try:
            values["status"] = OrderStatus.parse((row.get("status") or "").strip() or "fulfilled")
        except SnapshotError as error:
            self.fail(line, "status", error.message)
        values["channel"] = (row.get("channel") or "").strip() or CHANNELS.get(
            currency, "default-channel"
        )
        return values if len(self.problems) == before else None

    def line_values(self, line: int, row: dict, currency: str) -> LineSnapshot | None:
        if not any(
            (row.get(c) or "").strip() for c in ("sku", "quantity", "unit_price", "product_name")
        ):
            return None
        before = len(self.problems)
        quantity_text = (row.get("quantity") or "").strip() or "1"
        try:
            quantity = int(quantity_text)
            if quantity < 0:
                raise ValueError
        except ValueError:
            self.fail(line, "quantity", f"'{quantity_text}' is not a whole number of 0 or more")
            quantity = 0
        price_text = (row.get("unit_price") or "").strip()
        price = Decimal(0)
        if not price_text:
            self.fail(line, "unit_price", "is empty while the row has line columns")
        else:
            try:
                price = self.amount(price_text, currency)
            except ValueError as error:
                self.fail(line, "unit_price", str(error))
        if len(self.problems) != before:
            return None
        return LineSnapshot(
            line_id=str(line),
            quantity=quantity,
            unit_price_gross=price,
            product_name=(row.get("product_name") or "").strip(),
            sku=(row.get("sku") or "").strip() or None,
        )


def _text(source) -> str:
    """Return the file's text; a file that is not UTF-8 is refused naming each line at fault."""
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source.read()
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    problems = []
    for number, line in enumerate(data.split(b"\n"), start=1):  # no UTF-8 sequence holds \n
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.append(
                Problem(
                    number,
                    "",
                    f"byte 0x{line[error.start]:02X} is not UTF-8; save the file as UTF-8",
                )
            )
    raise ImportFailed(problems)


def _rows(source) -> tuple[list[str], list[tuple[int, dict]]]:
    reader = csv.reader(io.StringIO(_text(source)))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed(
            [Problem(1, "", "the file is empty; the first line must name the columns")]
        ) from None
    columns = [_column(name) for name in header]
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            raise ImportFailed(
                [
                    Problem(
                        number,
                        "",
                        f"has {len(cells)} cells but the header names {len(columns)} columns",
                    )
                ]
            )
        rows.append(
            (number, dict(zip(columns, cells + [""] * (len(columns) - len(cells)), strict=True)))
        )
    return columns, rows


def import_orders_csv(source, store_zone: ZoneInfo) -> ImportReport:
    """Check the whole file, then write its orders to the sandbox store and the ledger."""
    columns, rows = _rows(source)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFailed([Problem(1, "", "missing required column(s): " + ", ".join(missing))])
    if not rows:
        raise ImportFailed([Problem(1, "", "the file has a header but no orders")])
    reader = _Reader(store_zone)
    orders: dict[str, dict] = {}
    lines: dict[str, list[LineSnapshot]] = defaultdict(list)
    first_line: dict[str, int] = {}
    order_cells: dict[str, tuple] = {}  # the order columns' text on the order's first line
    for number, row in rows:
        order_id = row["order_id"].strip()
        cells = tuple(row.get(column) for column in ORDER_COLUMNS)
        if order_id in orders and order_cells[order_id] == cells:  # a further line, as the first
            values = orders[order_id]
        else:
            values = reader.order_values(number, row)
        if values is None:
            continue
        if order_id not in orders:
            orders[order_id], first_line[order_id] = values, number
            order_cells[order_id] = cells
        elif values is not orders[order_id]:
            for column in ORDER_COLUMNS:
                if values.get(column) != orders[order_id].get(column):
                    reader.fail(
                        number,
                        column,
                        f"differs from line {first_line[order_id]} of the same order {order_id}",
                    )
        line = reader.line_values(number, row, values["currency"])
        if line is not None:
            lines[order_id].append(line)
    customer_emails: dict[str, tuple[str, int]] = {}
    for order_id, values in orders.items():
        customer_id = values["customer_id"]
        if customer_id is None:
            continue
        known = customer_emails.setdefault(customer_id, (values["email"], first_line[order_id]))
        if known[0] != values["email"]:
            reader.fail(
                first_line[order_id],
                "customer_id",
                f"customer {customer_id} has email {known[0]} on line {known[1]}, not {values['email']}",
            )
    if reader.problems:
        raise ImportFailed(sorted(reader.problems, key=lambda p: p.line))
    return _write(orders, lines)


def _write(orders: dict[str, dict], lines: dict[str, list[LineSnapshot]]) -> ImportReport:
    """Write the checked orders to the store and the ledger.

    The users first, then a batch of orders (`_batch_size`) per transaction (the store's rows and the
    ledger's together): an interrupted import is completed by importing the file again.
    """
    with transaction.atomic():
        users = _users(orders)
    result, profile_ids = IngestResult(), set()
    for batch in _batches(orders):
        with transaction.atomic():
            stored = []
            for order_id in batch:
                values = orders[order_id]
                user = users.get(values["email"]) if values["customer_id"] else None
                stored.append((_snapshot(order_id, values, lines, user), user))
            SandboxOrder.store_many(stored)
            done = ingest_orders([snapshot for snapshot, _ in stored])
        result += done
        profile_ids.update(done.profile_ids)
    result.profile_ids = sorted(profile_ids)
    return ImportReport(
        orders=len(orders),
        lines=sum(len(v) for v in lines.values()),
        customers=len(users),
        result=result,
    )


def _batches(orders: dict[str, dict]) -> Iterator[list[str]]:
    """Yield the order ids a batch at a time, each email's orders next to each other.

    So a customer's figures are recomputed with one batch (two at a batch's edge), not with
    every batch their orders would be spread over.
    """
    by_email: dict[str, list[str]] = defaultdict(list)
    for order_id, values in orders.items():
        by_email[values["email"]].append(order_id)
    ordered = [order_id for order_ids in by_email.values() for order_id in order_ids]
    size = _batch_size()
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _snapshot(order_id: str, values: dict, lines: dict, user) -> OrderSnapshot:
    return OrderSnapshot(
        order_id=order_id,
        number=order_id,
        channel=values["channel"],
        currency=values["currency"],
        status=values["status"],
        user_id=str(user.pk) if user else None,
        email=values["email"],
        placed_at=values["date"],
        updated_at=values.get("updated_at") or values["date"],
        total_gross=values["total"],
        paid_amount=values["total"],
        paid_at=values["date"],
        refunded_amount=values["refunded"],
        refunded_at=(values.get("updated_at") or values["date"]) if values["refunded"] else None,
        cancelled_at=values["date"] if values["status"] == OrderStatus.CANCELED else None,
        lines=tuple(lines.get(order_id, ())),
    )


def _users(orders: dict[str, dict]) -> dict[str, SandboxUser]:
    """Return the store's user of each email that has a customer id, creating missing ones.

    A new user joined on the email's first order, its guest orders included.
    """
    first: dict[str, datetime] = {}
    emails: dict[str, None] = {}  # in the order of the file, so new users' ids follow it
    for values in orders.values():
        email = values["email"]
        if email not in first or values["date"] < first[email]:
            first[email] = values["date"]
        if values["customer_id"] is not None:
            emails[email] = None
    users = {user.email: user for user in SandboxUser.objects.filter(email__in=list(emails))}
    missing = [email for email in emails if email not in users]
    add_objects(
        SandboxUser,
        [SandboxUser(email=e, date_joined=first[e], updated_at=first[e]) for e in missing],
    )
    users.update((user.email, user) for user in SandboxUser.objects.filter(email__in=missing))
    return users

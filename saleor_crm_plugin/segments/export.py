"""CSV export of customers, streamed chunk by chunk so a million rows never sit in memory."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet

from ..customers.models import CustomerProfile
from ..customers.search import attach_list_columns
from ..host.attributes import UserDetails, age_on
from ..metadata import profile_summaries

__all__ = ["CHUNK", "COLUMNS", "CsvText", "csv_rows", "csv_table", "safe_cell"]

CHUNK = 2000
COLUMNS = (
    "profile_id",
    "user_id",
    "email",
    "guest",
    "name",
    "country",
    "country_area",
    "city",
    "age",
    "gender",
    "order_count",
    "first_order_at",
    "last_order_at",
    "total_spent",
    "average_order",
    "segment",
    "rfm",
    "p_alive",
    "predicted_clv",
    "next_order_on",
    "overdue",
)


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A text cell that a spreadsheet would run as a formula, with a leading ' (OWASP's rule);
    numbers and other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _SafeWriter:
    """`csv.writer` whose text cells go through `safe_cell`."""

    def __init__(self, buffer):
        self._writer = csv.writer(buffer)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])


class CsvText:
    """A CSV writer whose text is taken a chunk at a time (`take`), for streamed responses.

    Text that a spreadsheet would run as a formula (a customer named "=HYPERLINK(...)")
    is written with a leading ' (`safe_cell`)."""

    def __init__(self):
        self._buffer = io.StringIO()
        self.writer = _SafeWriter(self._buffer)

    def take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def csv_table(columns, rows: Iterable[tuple]) -> Iterator[str]:
    """Yield the CSV text of a header and rows, CHUNK rows at a time."""
    text = CsvText()
    text.writer.writerow(columns)
    for count, row in enumerate(rows, 1):
        text.writer.writerow(row)
        if count % CHUNK == 0:
            yield text.take()
    yield text.take()


def _chunks(queryset: QuerySet) -> Iterator[list[CustomerProfile]]:
    """Pages by primary key (keyset)."""
    last = 0
    while True:
        page = list(queryset.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not page:
            return
        last = page[-1].pk
        yield page


def csv_rows(profiles: QuerySet, host) -> Iterable[str]:
    """Yield the CSV text of these profiles, header first, one chunk of rows at a time."""
    text = CsvText()
    writer, flush = text.writer, text.take
    writer.writerow(COLUMNS)
    yield flush()
    today = datetime.now(host.config().zone).date()
    for page in _chunks(profiles):
        attach_list_columns(page, host)
        summaries = profile_summaries(page)
        for profile in page:
            summary = summaries[profile.pk]
            details = profile.crm_details or UserDetails()
            age = age_on(details.birth_date, today)
            writer.writerow(
                (
                    profile.pk,
                    profile.user_id or "",
                    profile.crm_email or "",
                    "yes" if profile.user_id is None else "no",
                    details.name,
                    details.country,
                    details.country_area,
                    details.city,
                    "" if age is None else age,
                    details.gender,
                    profile.order_count,
                    summary["crm.first_order_at"],
                    summary["crm.last_order_at"],
                    summary["crm.total_spent"],
                    summary["crm.average_order"],
                    summary["crm.segment"],
                    summary["crm.rfm"],
                    *(summary.get(f"crm.{key}", "") for key in COLUMNS[-4:]),
                )
            )
        yield flush()

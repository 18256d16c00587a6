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

__all__ = ["CHUNK", "COLUMNS", "csv_rows"]

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
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

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

"""CSV export of customers, streamed chunk by chunk so a million rows never sit in memory."""

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from ..customers.metadata import profile_summary
from ..customers.models import CustomerProfile

__all__ = ["CHUNK", "COLUMNS", "csv_rows"]

CHUNK = 2000
COLUMNS = (
    "profile_id",
    "user_id",
    "email",
    "guest",
    "order_count",
    "first_order_at",
    "last_order_at",
    "total_spent",
    "average_order",
    "segment",
    "rfm",
)


def _chunks(queryset: QuerySet) -> Iterator[list[CustomerProfile]]:
    """Pages by primary key (keyset), each with its spends and scores prefetched."""
    last = 0
    while True:
        page = list(
            queryset.filter(pk__gt=last).order_by("pk").prefetch_related("spends", "scores")[:CHUNK]
        )
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
    for page in _chunks(profiles):
        emails = host.customer_emails(page)
        for profile in page:
            summary = profile_summary(profile)
            writer.writerow(
                (
                    profile.pk,
                    profile.user_id or "",
                    emails.get(profile.pk, ""),
                    "yes" if profile.user_id is None else "no",
                    profile.order_count,
                    summary["crm.first_order_at"],
                    summary["crm.last_order_at"],
                    summary["crm.total_spent"],
                    summary["crm.average_order"],
                    summary["crm.segment"],
                    summary["crm.rfm"],
                )
            )
        yield flush()

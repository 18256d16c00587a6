"""The outbox table's three moves: record (a hook), claim (a drain), finish or fail (a drain).

`record_changes` is what a Saleor hook does, in the shopper's request: one INSERT on the
request's own database connection, nothing else. A drain claims waiting rows with
`FOR UPDATE SKIP LOCKED` in a short transaction (so hooks never wait on a drain's work),
processes them outside it, and deletes only rows that no hook touched meanwhile.
"""

import uuid
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from .models import PendingChange

__all__ = ["Claimed", "claim", "fail", "finish", "record_changes"]

_TABLE = PendingChange._meta.db_table
# A repeat while the row waits changes nothing; while a drain holds it, it bumps the version
# so that the drain leaves the row for another round.
_RECORD = (
    "INSERT INTO {table} (kind, object_id, noticed_at, available_at, version, attempts,"
    " last_error) VALUES {values}"
    " ON CONFLICT (kind, object_id) DO UPDATE SET version = {table}.version + 1"
    " WHERE {table}.claim IS NOT NULL"
)
# Rows one INSERT writes at most (a bulk import's hook may name thousands of orders).
_ROWS_PER_INSERT = 1000


def record_changes(
    kind: str, object_ids: Iterable, noticed_at: datetime | None = None, using: str = "default"
) -> None:
    """Record that these objects changed; a repeat of a waiting object does nothing.

    Runs on the caller's connection and inside the caller's transaction when there is one
    (in a savepoint then, so a failure here never breaks the caller's transaction).
    """
    if kind not in PendingChange.KINDS:
        raise ValueError(f"kind: '{kind}' is not one of {', '.join(PendingChange.KINDS)}")
    ids = sorted({str(object_id) for object_id in object_ids})
    if not ids:
        return
    now = timezone.now()
    noticed_at = noticed_at or now
    connection = connections[using]
    with transaction.atomic(using=using) if connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            for start in range(0, len(ids), _ROWS_PER_INSERT):
                part = ids[start : start + _ROWS_PER_INSERT]
                values = ", ".join(["(%s, %s, %s, %s, 0, 0, '')"] * len(part))
                params = [p for i in part for p in (kind, i, noticed_at, now)]
                cursor.execute(_RECORD.format(values=values, table=_TABLE), params)


@dataclass(frozen=True)
class Claimed:
    """A row a drain holds: what changed, and the version it held when claimed."""

    pk: int
    kind: str
    object_id: str
    noticed_at: datetime
    version: int
    attempts: int


def claim(batch_size: int, lease: timedelta, now: datetime) -> tuple[str, list[Claimed]]:
    """Claim up to `batch_size` waiting rows for `lease` (then another drain may take them).

    Rows other drains hold are skipped, not waited for. Returns the claim's token and rows.
    """
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            PendingChange.objects.select_for_update(skip_locked=True)
            .filter(available_at__lte=now)
            .order_by("available_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return token, []
        PendingChange.objects.filter(pk__in=ids).update(claim=token, available_at=now + lease)
    rows = PendingChange.objects.filter(claim=token).order_by("pk")
    return token, [
        Claimed(r.pk, r.kind, r.object_id, r.noticed_at, r.version, r.attempts) for r in rows
    ]


def finish(token: str, rows: Iterable[Claimed]) -> int:
    """Delete the rows done, unless a hook touched them meanwhile: those wait for another
    round. Returns how many were deleted."""
    rows = list(rows)
    if not rows:
        return 0
    done = Q()
    for row in rows:
        done |= Q(pk=row.pk, version=row.version)
    with transaction.atomic():
        deleted, _ = PendingChange.objects.filter(done, claim=token).delete()
        PendingChange.objects.filter(claim=token, pk__in=[r.pk for r in rows]).update(
            claim=None, available_at=timezone.now()
        )
    return deleted


# After a failure, a row waits this long times 2 ** (attempts - 1), at most an hour.
_BACKOFF = timedelta(seconds=10)
_BACKOFF_MAX = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """How long a row waits after its `attempts`-th failure."""
    return min(_BACKOFF * 2 ** max(attempts - 1, 0), _BACKOFF_MAX)


def fail(token: str, row: Claimed, error: str) -> None:
    """Give a row back after a failure, to be tried again after a backoff."""
    attempts = row.attempts + 1
    PendingChange.objects.filter(pk=row.pk, claim=token).update(
        claim=None,
        attempts=attempts,
        available_at=timezone.now() + backoff(attempts),
        last_error=error[:2000],
    )

"""Relay connections over querysets: count once, fetch only the requested page."""

from graphene.relay.connection import PageInfo
from graphql_relay.connection.arrayconnection import connection_from_list_slice, cursor_to_offset

from .errors import InputError

MAX_PAGE = 100


def _offset(cursor: str | None, argument: str) -> int | None:
    if cursor is None:
        return None
    offset = cursor_to_offset(cursor)
    if offset is None or offset < 0:
        raise InputError(argument, f"'{cursor}' is not a cursor of this connection")
    return offset


def connection_from_queryset(
    queryset,
    args: dict,
    connection_type,
    prepare_page=None,
    counted: tuple[int, bool] | None = None,
):
    """Slice a queryset per `first/after/last/before` (at most 100 a page) into a connection.

    `counted`: (count, exact) when the caller counted the matches itself, only up to a limit
    (`customers.search.count_up_to`). When the count is not exact, the page is read without
    knowing the end: one row past it tells whether another page follows (paging back with
    `last` from the end, which needs the end, counts exactly). `prepare_page(rows)` runs on
    the page's rows once they are known. The connection gets `total_count` and
    `total_count_is_exact`.
    """
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise InputError("first", "give `first` or `last` to page through the list")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise InputError(name, f"must be between 0 and {MAX_PAGE}, not {value}")
    after = _offset(args.get("after"), "after")
    before = _offset(args.get("before"), "before")
    total, exact = counted if counted is not None else (None, True)
    if total is None or (not exact and first is None and before is None):
        total, exact = queryset.count(), True
    start = 0 if after is None else after + 1
    if exact:
        end = total if before is None else min(before, total)
        if first is not None:
            end = min(end, start + first)
        if last is not None:
            start = max(start, end - last)
        length = total
    elif first is not None:  # read one row past the page (and never past `before`)
        end = start + first + 1 if before is None else min(start + first + 1, before)
    else:  # `last` before a cursor: the rows just before it
        end = before
        start = max(start, end - last)
    rows = list(queryset[start:end]) if end > start else []
    if not exact:
        length = start + len(rows) if before is None else max(before, start + len(rows))
    connection = connection_from_list_slice(
        rows,
        args,
        connection_type=connection_type,
        edge_type=connection_type.Edge,
        pageinfo_type=PageInfo,
        slice_start=start,
        list_length=length,
        list_slice_length=len(rows),
    )
    if prepare_page is not None:
        prepare_page([edge.node for edge in connection.edges])
    connection.total_count = total
    connection.total_count_is_exact = exact
    return connection


def attach_emails(rows, host) -> None:
    """Each row's customer email (`row.profile`, a subscription or an audit event), read from
    the store once for a whole page; None for a row without a customer."""
    emails = host.customer_emails([row.profile for row in rows if row.profile_id is not None])
    for row in rows:
        row.crm_email = emails.get(row.profile_id)


def email_of(row, host) -> str | None:
    """One row's customer email: the page's batch (`attach_emails`), else this row's lookup."""
    if not hasattr(row, "crm_email"):
        attach_emails([row], host)
    return row.crm_email

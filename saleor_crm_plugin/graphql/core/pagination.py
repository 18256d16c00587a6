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


def connection_from_queryset(queryset, args: dict, connection_type, prepare_page=None):
    """Slice a queryset per `first/after/last/before` (at most 100 a page) into a connection."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise InputError("first", "give `first` or `last` to page through the list")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise InputError(name, f"must be between 0 and {MAX_PAGE}, not {value}")
    total = queryset.count()
    after = _offset(args.get("after"), "after")
    before = _offset(args.get("before"), "before")
    start = 0 if after is None else after + 1
    end = total if before is None else min(before, total)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    page = list(queryset[start:end]) if end > start else []
    if prepare_page is not None:
        prepare_page(page)
    connection = connection_from_list_slice(
        page,
        args,
        connection_type=connection_type,
        edge_type=connection_type.Edge,
        pageinfo_type=PageInfo,
        slice_start=start,
        list_length=total,
        list_slice_length=len(page),
    )
    connection.total_count = total
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

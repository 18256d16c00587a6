"""Resolvers of the customer queries."""

from django.utils import timezone

from ...audit.models import AuditEvent
from ...audit.services import record
from ...customers.search import (
    COUNT_LIMIT,
    SearchError,
    attach_list_columns,
    count_up_to,
    customer_filter_from,
    search_profiles,
)
from ...errors import FieldError
from ..core.customers import customer_by_id
from ..core.errors import InputError
from ..core.pagination import connection_from_queryset
from .types import CRMCustomerCountableConnection


def _graphql_field(field: str) -> str:
    return field if field.startswith("sortBy") else f"filter.{field}"


def resolve_customer(id: str):
    try:
        return customer_by_id(id)
    except FieldError as error:
        raise InputError("id", error.message) from error


def record_view(context, requester, profile) -> None:
    """Write a staff read of a customer's full record to the audit trail: one row a customer
    a request (a context: the widget's queries share one)."""
    viewed = context.memo.setdefault("crm_viewed", set())
    if profile.pk in viewed:
        return
    viewed.add(profile.pk)
    record(AuditEvent.CUSTOMER_VIEWED, requester.actor, timezone.now(), profile_id=profile.pk)


def resolve_customers(info, args: dict):
    sort_by = args.get("sort_by") or {}
    try:
        queryset = search_profiles(
            customer_filter_from(args.get("filter")),
            sort_field=sort_by.get("field", "CREATED_AT"),
            descending=sort_by.get("direction") == "DESC",
            sort_currency=sort_by.get("currency"),
            host=info.context.host,
        )
    except SearchError as error:
        raise InputError(_graphql_field(error.field), error.message) from error
    host = info.context.host
    return connection_from_queryset(
        queryset,
        args,
        CRMCustomerCountableConnection,
        prepare_page=lambda page: attach_list_columns(page, host),
        counted=count_up_to(queryset, COUNT_LIMIT),
    )


def resolve_customer_count(info, customer_filter: dict | None) -> int:
    """How many customers the filter selects, counted exactly (however many)."""
    try:
        profiles = search_profiles(customer_filter_from(customer_filter), host=info.context.host)
    except SearchError as error:
        raise InputError(_graphql_field(error.field), error.message) from error
    return profiles.count()

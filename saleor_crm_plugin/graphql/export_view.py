"""`POST export/customers.csv`: a segment's or a rule's customers as a streamed CSV (staff)."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from ..customers.search import SearchError, customer_filter_from, search_profiles
from ..host import MANAGE_USERS, get_host
from ..segments.export import csv_rows
from ..segments.rule_services import members
from ..segments.rules import RuleError


def _error(field: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def export_customers_view(request: HttpRequest) -> HttpResponse:
    """Answer `text/csv`, streamed, for one of these bodies:

    `{"segment": "Dormant"}` (built-in or saved), `{"rule": {...}}` (a rule tree), or
    `{"filter": {...}}` (a search result: the `filter` argument of `crmCustomers`, as JSON).
    """
    if request.method != "POST":
        return _error("method", "send the export request by POST", 405)
    host = get_host()
    with host.database_access():
        requester = host.requester(request)
        if requester is None or not requester.has_permission(MANAGE_USERS):
            return _error(
                "permission", f"You need one of the following permissions: {MANAGE_USERS}", 403
            )
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _error("body", "the request body is not JSON")
        if not isinstance(body, dict):
            return _error("body", "the request body must be a JSON object")
        by_name = "segment" in body and "filter" not in body and "rule" not in body
        if by_name:
            body = {"filter": {"segment": body["segment"]}}
        if "rule" in body:
            try:
                profiles = members(body["rule"], host.config(), host=host)
            except RuleError as rule_error:
                return _error("rule" + rule_error.field[1:], rule_error.message)
        elif "filter" in body:
            try:
                profiles = search_profiles(customer_filter_from(body["filter"]), host=host)
            except SearchError as search_error:
                status = 404 if search_error.message.startswith("there is no segment") else 400
                field = search_error.field if by_name else f"filter.{search_error.field}"
                return _error(field, search_error.message, status)
        else:
            return _error("segment", "give a segment name, a rule or a filter")

    def stream():
        with host.database_access():
            yield from csv_rows(profiles, host)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    return response

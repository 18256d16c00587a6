"""`POST export/customers.csv`: a segment's or a rule's customers as a streamed CSV (staff);
`POST export/analytics.csv`: a stored report or the basket pairs, as the analytics queries
filter and sort them; `POST export/picking.csv`: a store day's picking list of package
inserts (staff with MANAGE_ORDERS); `POST export/customer-data.json` / `.csv`: the
data-subject export of one customer."""

import json
from datetime import date, datetime

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone

from ..analytics.basket_services import pairs_csv_rows
from ..analytics.report_services import report_csv
from ..campaigns.insert_services import PICKING_COLUMNS, picking_rows
from ..customers.search import SearchError, customer_filter_from, search_profiles
from ..errors import FieldError
from ..host import MANAGE_ORDERS, MANAGE_USERS, InvalidToken, get_host
from ..loyalty.point_report_services import (
    FreePointsNotComputed,
    free_points_csv,
    free_points_file_name,
    paid_points_csv,
)
from ..privacy.export import CSV_COLUMNS, export_customer_data
from ..privacy.export import csv_rows as export_csv_rows
from ..segments.export import csv_rows, csv_table
from ..segments.rule_services import members
from ..segments.rules import RuleError
from .analytics.resolvers import (
    cohort_filters,
    f2_filters,
    graphql_names,
    ltv_filters,
    pairs_filters,
    repeat_filters,
)
from .core.customers import customer_by_id
from .core.errors import InputError


def _error(field: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def _refused(request: HttpRequest, host, permission: str = MANAGE_USERS) -> JsonResponse | None:
    """The answer to a request that is not a staff member's with `permission` (None: it is):
    401 naming the reason for a token that authenticates nobody, 403 without the permission."""
    try:
        requester = host.requester(request)
    except InvalidToken as error:
        return _error("token", str(error), 401)
    if requester is None or not requester.has_permission(permission):
        return _error("permission", f"You need one of the following permissions: {permission}", 403)
    return None


def _json_object(request: HttpRequest) -> tuple[dict | None, JsonResponse | None]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None, _error("body", "the request body is not JSON")
    if not isinstance(body, dict):
        return None, _error("body", "the request body must be a JSON object")
    return body, None


def export_customers_view(request: HttpRequest) -> HttpResponse:
    """Answer `text/csv`, streamed, for one of these bodies:

    `{"segment": "Dormant"}` (built-in or saved), `{"rule": {...}}` (a rule tree), or
    `{"filter": {...}}` (a search result: the `filter` argument of `crmCustomers`, as JSON).
    """
    if request.method != "POST":
        return _error("method", "send the export request by POST", 405)
    host = get_host()
    with host.database_access():
        refused = _refused(request, host)
        if refused is not None:
            return refused
        body, bad = _json_object(request)
        if bad is not None:
            return bad
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


# Per report: its arguments (GraphQL names -> the query's snake case), the function turning
# them into the read function's keywords, and the CSV's file name from those keywords.
_ANALYTICS = {
    "repeat": (
        {"level": "level", "channel": "channel", "firstMonth": "first_month", "sortBy": "sort_by"},
        repeat_filters,
        lambda f: f"repeat-rate-{f['level']}",
    ),
    "f2": (
        {"by": "by", "channel": "channel", "firstMonth": "first_month"},
        f2_filters,
        lambda f: f"f2-{f['by']}",
    ),
    "cohorts": (
        {"currency": "currency", "channel": "channel"},
        cohort_filters,
        lambda f: f"cohorts-{f['currency']}",
    ),
    "ltv": (
        {"currency": "currency", "by": "by"},
        ltv_filters,
        lambda f: f"ltv-{f['by']}-{f['currency']}",
    ),
    "pairs": (
        {"channel": "channel", "kind": "kind", "sortBy": "sort_by"},
        pairs_filters,
        lambda f: f"basket-pairs-{f['kind']}",
    ),
}
# The points reports: their arguments (GraphQL names) and the CSV's file name.
_POINTS = {
    "paidPoints": (
        {"fromYear": "from_year", "toYear": "to_year"},
        paid_points_csv,
        lambda f: f"paid-points-{f['from_year']}-{f['to_year']}",
    ),
    "freePoints": (
        {"fromMonth": "from_month", "toMonth": "to_month"},
        free_points_csv,
        lambda f: free_points_file_name(f["from_month"], f["to_month"]),
    ),
}
# The queries' paging: a CSV holds the whole table, so these are accepted and ignored.
_PAGING = {"first", "after", "last", "before"}


def export_analytics_view(request: HttpRequest) -> HttpResponse:
    """Answer `text/csv`, streamed: a whole table of the analytics queries, for a body
    `{"report": "repeat" | "f2" | "cohorts" | "ltv" | "pairs", ...}` with the arguments of
    crmProductRepeat, crmF2, crmCohorts, crmLtv or crmBasketPairs by their GraphQL names (enum
    values as GraphQL spells them, e.g. `{"report": "ltv", "currency": "JPY", "by": "RANK"}`),
    or a points report: `{"report": "paidPoints", "fromYear": 2025, "toYear": 2026}`
    (crmPaidPointsBaseDates) or `{"report": "freePoints", "fromMonth": "2026-01", "toMonth":
    "2026-06"}` (crmFreePointsMonths).
    """
    if request.method != "POST":
        return _error("method", "send the export request by POST", 405)
    host = get_host()
    with host.database_access():
        refused = _refused(request, host)
        if refused is not None:
            return refused
        body, bad = _json_object(request)
        if bad is not None:
            return bad
        report = body.pop("report", None)
        reports = ", ".join([*_ANALYTICS, *_POINTS])
        if report is None:
            return _error("report", f"is required: one of {reports}")
        if not isinstance(report, str) or report not in {**_ANALYTICS, **_POINTS}:
            return _error("report", f"{report!r} is not one of {reports}")
        if report in _POINTS:
            return _points_csv(host, report, body)
        names, to_filters, file_name = _ANALYTICS[report]
        unknown = sorted(set(body) - set(names) - _PAGING)
        if unknown:
            return _error(unknown[0], f"is not an argument of the {report} report")
        args = {names[name]: value for name, value in body.items() if name in names}
        try:
            with graphql_names():
                filters = to_filters(args)
                if report == "pairs":
                    rows = pairs_csv_rows(**filters)
                else:
                    rows = report_csv(report, **filters)
        except InputError as error:
            return _error(error.field, error.message)

    def stream():
        with host.database_access():
            yield from rows

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    name = file_name(filters).replace("_", "-")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _points_csv(host, report: str, body: dict) -> HttpResponse:
    """A points report's CSV (inside the caller's database access)."""
    names, write, file_name = _POINTS[report]
    unknown = sorted(set(body) - set(names))
    if unknown:
        return _error(unknown[0], f"is not an argument of the {report} report")
    missing = [name for name in names if name not in body]
    if missing:
        return _error(missing[0], "is required")
    args = {names[name]: value for name, value in body.items()}
    try:
        text = list(write(host.config(), **args))  # checked and computed before answering
    except FreePointsNotComputed as error:  # not stored yet: the request was fine
        return _error(error.field, error.message, 409)
    except FieldError as error:
        return _error(error.field, error.message)
    response = StreamingHttpResponse(iter(text), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name(args)}.csv"'
    return response


def export_picking_view(request: HttpRequest) -> HttpResponse:
    """Answer `text/csv`, streamed: the picking list of a store day, `{"day": "YYYY-MM-DD"}`
    (today in the store's time zone when omitted): order number, shipping name and inserts of
    each order paid that day that got package inserts, in paid order (MANAGE_ORDERS)."""
    if request.method != "POST":
        return _error("method", "send the export request by POST", 405)
    host = get_host()
    with host.database_access():
        refused = _refused(request, host, MANAGE_ORDERS)
        if refused is not None:
            return refused
        body, bad = _json_object(request)
        if bad is not None:
            return bad
        unknown = sorted(set(body) - {"day"})
        if unknown:
            return _error(unknown[0], "is not an argument of the picking list (only day)")
        zone = host.config().zone
        text = body.get("day")
        if text is None:
            day = datetime.now(zone).date()
        else:
            try:
                day = date.fromisoformat(text) if isinstance(text, str) else None
            except ValueError:
                day = None
            if day is None:
                return _error("day", f"{text!r} is not a date as YYYY-MM-DD")

    def stream():
        with host.database_access():
            yield from csv_table(PICKING_COLUMNS, picking_rows(day, zone, host))

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="picking-{day.isoformat()}.csv"'
    return response


def export_customer_data_view(request: HttpRequest, form: str) -> HttpResponse:
    """Answer everything the CRM and the store hold of one customer (the data-subject export)
    as a JSON file (`form` "json") or a CSV of section/field/value rows ("csv"); audited.

    Staff with MANAGE_USERS, by their token in the Authorization header and a JSON body
    `{"customer": "<CRMCustomer or User ID>"}`, or by the form the Dashboard widget posts
    (`accessToken`, `customerId`).
    """
    if request.method != "POST":
        return _error("method", "send the export request by POST", 405)
    host = get_host()
    with host.database_access():
        posted = request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
        try:
            if posted:
                requester = host.requester_from_token(request.POST.get("accessToken", ""))
                customer_id = request.POST.get("customerId", "")
            else:
                requester = host.requester(request)
                body, bad = _json_object(request)
                if bad is not None:
                    return bad
                customer_id = body.get("customer", "")
        except InvalidToken as error:
            return _error("token", str(error), 401)
        if requester is None or not requester.has_permission(MANAGE_USERS):
            return _error(
                "permission", f"You need one of the following permissions: {MANAGE_USERS}", 403
            )
        if not isinstance(customer_id, str) or not customer_id.strip():
            return _error("customer", "is required: a CRMCustomer or User ID")
        try:
            profile = customer_by_id(customer_id)
        except FieldError as error:
            return _error("customer", error.message, 404)
        data = export_customer_data(
            profile, host.config(), host, requester.actor, timezone.now(), form
        )
    name = f"customer-{profile.pk}-data"
    if form == "csv":
        response = StreamingHttpResponse(
            csv_table(CSV_COLUMNS, export_csv_rows(data)), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{form}"'
    return response

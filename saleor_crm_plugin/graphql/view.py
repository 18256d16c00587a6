"""The HTTP view of our GraphQL API (not Saleor's GraphQLView, which checks Saleor's schema)."""

import json
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse, JsonResponse

from ..host import Host, Requester, get_host
from .core.errors import format_error, log_unexpected
from .schema import schema

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
}


@dataclass
class Context:
    request: HttpRequest
    host: Host
    requester: Requester | None
    # What resolvers read once a request (e.g. each group's RFM scoring), by name.
    memo: dict = field(default_factory=dict)


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message}]}, status=status, headers=CORS_HEADERS)


def graphql_view(request: HttpRequest) -> HttpResponse:
    """Execute one GraphQL operation sent as JSON by POST."""
    if request.method == "OPTIONS":
        return HttpResponse(status=200, headers=CORS_HEADERS)
    if request.method != "POST":
        return _error("Send GraphQL operations by POST.", 405)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error("The request body is not JSON.", 400)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _error("The body needs a `query` string.", 400)
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return _error("`variables` must be an object.", 400)
    host = get_host()
    with host.database_access():
        result = schema.execute(
            body["query"],
            variable_values=variables,
            operation_name=body.get("operationName"),
            context_value=Context(request=request, host=host, requester=host.requester(request)),
        )
    payload = {"data": result.data}
    if result.errors:
        log_unexpected(result.errors)
        payload["errors"] = [format_error(error) for error in result.errors]
    return JsonResponse(payload, headers=CORS_HEADERS)

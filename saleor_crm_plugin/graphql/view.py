"""The HTTP view of our GraphQL API (not Saleor's GraphQLView, which checks Saleor's schema)."""

import json
from functools import partial

from django.http import HttpRequest, HttpResponse, JsonResponse
from graphql.backend.base import GraphQLDocument
from graphql.backend.core import GraphQLCoreBackend, execute_and_validate
from graphql.error import GraphQLError, GraphQLSyntaxError
from graphql.language.parser import parse

from ..host import Host, InvalidToken, Requester, get_host
from .core.errors import format_error, log_unexpected
from .core.limits import check_query, query_limits
from .schema import schema

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
}


class Context:
    """What resolvers see as `info.context`.

    `requester` is who called (None: anonymous). A request whose token the host refused
    (`InvalidToken`: expired, forged, revoked, an inactive user's) raises that error in each
    resolver that asks who called, as Saleor's lazy `context.user` does: those fields answer
    it (`ExpiredSignatureError`, `InvalidTokenError`, ...) and fields open to anyone still run.
    """

    def __init__(
        self,
        request: HttpRequest,
        host: Host,
        requester: Requester | None,
        memo: dict | None = None,
        token_error: InvalidToken | None = None,
    ):
        self.request = request
        self.host = host
        self._requester = requester
        self.token_error = token_error
        # What resolvers read once a request (e.g. each group's RFM scoring), by name.
        self.memo = {} if memo is None else memo

    @property
    def requester(self) -> Requester | None:
        if self.token_error is not None:  # a fresh error each time: each field's own traceback
            raise InvalidToken(str(self.token_error), self.token_error.code)
        return self._requester


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message}]}, status=status, headers=CORS_HEADERS)


class _ParsedBackend(GraphQLCoreBackend):
    """graphql-core's backend over a document parsed already (the limits read it first)."""

    def __init__(self, document_ast):
        super().__init__()
        self.document_ast = document_ast

    def document_from_string(self, schema, document_string):
        return GraphQLDocument(
            schema=schema,
            document_string=document_string,
            document_ast=self.document_ast,
            execute=partial(execute_and_validate, schema, self.document_ast, **self.execute_params),
        )


def _refused(errors: list[GraphQLError], cost: int, maximum: int) -> JsonResponse:
    """Saleor's answer to a document over a limit: 400, its errors, and the cost when a
    maximum complexity is in force (`set_query_cost_on_result`); nothing has run."""
    payload: dict = {"errors": [format_error(error) for error in errors]}
    if maximum:
        payload["extensions"] = {"cost": {"requestedQueryCost": cost, "maximumAvailable": maximum}}
    return JsonResponse(payload, status=400, headers=CORS_HEADERS)


def graphql_view(request: HttpRequest) -> HttpResponse:
    """Execute one GraphQL operation sent as JSON by POST.

    The document is parsed and its cost, aliases and depth checked before anything else
    (authentication included) runs: a document over a limit is refused as Saleor refuses it.
    """
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
    backend = None
    try:
        document_ast = parse(body["query"])
    except GraphQLSyntaxError:
        pass  # executing answers the syntax error, as it always has
    else:
        limits = query_limits()
        cost, errors = check_query(schema, document_ast, variables, limits)
        if errors:
            return _refused(errors, cost, limits.max_complexity)
        backend = _ParsedBackend(document_ast)
    host = get_host()
    with host.database_access():
        try:
            requester, token_error = host.requester(request), None
        except InvalidToken as error:
            requester, token_error = None, error
        result = schema.execute(
            body["query"],
            variable_values=variables,
            operation_name=body.get("operationName"),
            context_value=Context(request, host, requester, token_error=token_error),
            backend=backend,
        )
    payload = {"data": result.data}
    if result.errors:
        log_unexpected(result.errors)
        payload["errors"] = [format_error(error) for error in result.errors]
    return JsonResponse(payload, headers=CORS_HEADERS)

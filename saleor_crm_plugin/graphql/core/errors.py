"""Errors of our GraphQL API, shaped like Saleor's (`extensions.exception.code`)."""

import logging

import graphene
from django.conf import settings
from graphql import GraphQLError

from ...errors import FieldError
from ...host import MANAGE_USERS, InvalidToken

logger = logging.getLogger(__name__)


class PermissionDenied(Exception):
    code = "PermissionDenied"

    def __init__(self, permissions: tuple[str, ...] = ()):
        message = (
            "You need one of the following permissions: " + ", ".join(permissions)
            if permissions
            else "You need to be authenticated to perform this action."
        )
        super().__init__(message)


class InputError(FieldError):
    """A query argument is wrong: `field` names it (e.g. `filter.totalSpent.currency`)."""

    code = "GraphQLError"


def decode_id(value: str) -> tuple[str | None, str]:
    """(type name, pk) of a global ID; (None, "") when it is not one."""
    try:
        kind, pk = graphene.Node.from_global_id(value)
    except Exception:  # graphql_relay raises various errors on bad base64
        return None, ""
    return kind, str(pk)


def require_permission(info, permission: str = MANAGE_USERS):
    requester = info.context.requester
    if requester is None or not requester.has_permission(permission):
        raise PermissionDenied((permission,))
    return requester


def require_customer(info):
    requester = info.context.requester
    if requester is None or requester.user_id is None:
        raise PermissionDenied()
    return requester


# Saleor's answer to an error it did not intend (`saleor.graphql.utils.format_error`).
INTERNAL_ERROR_MESSAGE = "Internal Server Error"
# The errors whose messages are written for the client: GraphQL's own (syntax, validation,
# variables), a missing permission, and ours naming a wrong input. Any other exception's text
# may hold internals (SQL, keys, paths) and is logged, not sent, unless DEBUG is on. A refused
# token answers its reason, as Saleor's `InvalidTokenError` (and subclasses) do.
INTENDED_ERRORS = (GraphQLError, PermissionDenied, FieldError, InvalidToken)


def original_error(error: Exception) -> Exception:
    """Return the exception behind an execution error (the error itself when none is)."""
    while isinstance(error, GraphQLError) and getattr(error, "original_error", None) is not None:
        error = error.original_error
    return error


def is_intended(error: Exception) -> bool:
    """Tell whether an execution error's message was written for the client."""
    return isinstance(original_error(error), INTENDED_ERRORS)


def log_unexpected(errors) -> None:
    """Log each execution error we did not intend, with its traceback.

    The client gets a generic message (`format_error`); Saleor's settings silence
    graphql-core's own logging of resolver errors, so this is where they are seen.
    """
    for error in errors or ():
        if not is_intended(error):
            logger.error(
                "CRM GraphQL: unexpected error at %s",
                getattr(error, "path", None),
                exc_info=original_error(error),
            )


def format_error(error: GraphQLError) -> dict:
    """Format an execution error as Saleor does, naming the exception's code.

    An error we did not intend answers Saleor's generic message and the exception's class
    name; its own text shows only with DEBUG on.
    """
    original = original_error(error)
    if is_intended(original):
        message = original.message if isinstance(original, GraphQLError) else str(original)
        code = getattr(original, "code", None) or "GraphQLError"
    else:
        message = str(original) if settings.DEBUG else INTERNAL_ERROR_MESSAGE
        code = type(original).__name__
    formatted = {"message": message}
    if getattr(error, "locations", None):
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if getattr(error, "path", None):
        formatted["path"] = error.path
    exception = {"code": code}
    if isinstance(original, InputError):
        exception["field"] = original.field
    # Saleor keeps an error's own extensions (a refused query's `cost`) beside the code.
    extensions = getattr(original, "extensions", None) if is_intended(original) else None
    formatted["extensions"] = {**(extensions or {}), "exception": exception}
    return formatted

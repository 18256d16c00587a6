"""Errors of our GraphQL API, shaped like Saleor's (`extensions.exception.code`)."""

import graphene
from graphql import GraphQLError

from ..errors import FieldError
from ..host import MANAGE_USERS


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


def format_error(error: GraphQLError) -> dict:
    """Format an execution error as Saleor does, naming the exception's code."""
    original = getattr(error, "original_error", None)
    if original is None and not isinstance(error, GraphQLError):
        original = error  # graphql-core 2 passes some exceptions through unwrapped
    formatted = {"message": str(original) if original is not None else error.message}
    if getattr(error, "locations", None):
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if getattr(error, "path", None):
        formatted["path"] = error.path
    code = getattr(original, "code", None) or "GraphQLError"
    exception = {"code": code}
    if isinstance(original, InputError):
        exception["field"] = original.field
    formatted["extensions"] = {"exception": exception}
    return formatted

"""Scalars shared by the CRM's GraphQL types."""

import json

import graphene
from graphql import GraphQLError

__all__ = ["JSONString"]


class JSONString(graphene.JSONString):
    """JSON given as a string, or as a plain JSON value in the variables (rules are objects)."""

    class Meta:
        name = "JSONString"

    @staticmethod
    def parse_value(value):
        if isinstance(value, (dict, list)):
            return value
        try:
            return json.loads(value)
        except (TypeError, ValueError) as error:
            raise GraphQLError(f"not JSON: {error}") from None

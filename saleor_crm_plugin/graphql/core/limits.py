"""What one request to our API may cost, checked on the parsed document before anything runs.

As Saleor's own API does (`saleor/graphql/core/validators/`): a query cost, where a field that
returns an object costs 1 and a list or connection field is multiplied by its `first`, `last`
or `limit` argument (variables and defaults resolved; the multipliers of enclosing fields
multiply too), refused above a maximum complexity; a cap on aliases; and a cap on depth (which
Saleor 3.23 does not have). Scalars cost nothing, nor do a connection's `edges`, `node` and
`pageInfo` (the connection field paid for its rows): Saleor's cost map counts the same way,
so its `GRAPHQL_QUERY_MAX_COMPLEXITY` means the same here.

Settings (Django): `GRAPHQL_QUERY_MAX_COMPLEXITY` and `GRAPHQL_ALIAS_COUNT_LIMIT`, Saleor's own
(set in Saleor: 50,000 and 100), and `CRM_GRAPHQL_MAX_DEPTH`; each falls back to our default
when unset, and 0 switches that limit off.
"""

from collections import defaultdict
from dataclasses import dataclass
from math import prod

from graphql import GraphQLError
from graphql.language import ast
from graphql.type import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
)

__all__ = [
    "DEFAULT_MAX_ALIASES",
    "DEFAULT_MAX_COMPLEXITY",
    "DEFAULT_MAX_DEPTH",
    "QueryCostError",
    "QueryLimits",
    "check_query",
    "query_limits",
]

# Our defaults where the host sets nothing (the sandbox). The costliest legitimate queries of
# ours (our tests, the Dashboard pages, the README's examples) cost about 500 (a report page of
# 100 rows with their nested figures; the Dashboard's customer page of 50 rows costs 301), are
# at most 6 deep and use at most 3 aliases: tenfold room for pages to come, while a customer's
# 100 aliases of a page of 100 points entries (5,151) are refused.
DEFAULT_MAX_COMPLEXITY = 5_000
DEFAULT_MAX_ALIASES = 100  # Saleor's default of GRAPHQL_ALIAS_COUNT_LIMIT
DEFAULT_MAX_DEPTH = 12

# The arguments that say how many items a list field returns.
MULTIPLIER_ARGUMENTS = ("first", "last", "limit")
# A connection's plumbing: what the connection field's cost already counts.
CONNECTION_FIELDS = {"edges", "node", "pageInfo"}


class QueryCostError(GraphQLError):
    """Saleor's error for a query above the maximum complexity (its code is this name)."""

    code = "QueryCostError"


@dataclass(frozen=True)
class QueryLimits:
    """The limits in force; 0 switches one off."""

    max_complexity: int
    max_aliases: int
    max_depth: int


def query_limits() -> QueryLimits:
    """Read the limits from Django settings (Saleor's names where Saleor has them)."""
    from django.conf import settings

    def setting(name: str, default: int) -> int:
        value = getattr(settings, name, None)
        return default if value is None else int(value)

    return QueryLimits(
        max_complexity=setting("GRAPHQL_QUERY_MAX_COMPLEXITY", DEFAULT_MAX_COMPLEXITY),
        max_aliases=setting("GRAPHQL_ALIAS_COUNT_LIMIT", DEFAULT_MAX_ALIASES),
        max_depth=setting("CRM_GRAPHQL_MAX_DEPTH", DEFAULT_MAX_DEPTH),
    )


def check_query(
    schema, document: ast.Document, variables: dict | None, limits: QueryLimits
) -> tuple[int, list[GraphQLError]]:
    """Return the document's cost and the errors of the limits it exceeds ([]: none).

    Fields the schema does not have are skipped here: the validation that runs next names
    them. Messages are Saleor's (`cost_analysis_message`, `AliasCountLimitRule`).
    """
    walk = _Walk(schema, document, variables or {})
    operations = [d for d in document.definitions if isinstance(d, ast.OperationDefinition)]
    cost = sum(walk.operation_cost(operation) for operation in operations)
    errors: list[GraphQLError] = []
    if limits.max_complexity and cost > limits.max_complexity:
        errors.append(
            QueryCostError(
                f"The query exceeds the maximum cost of {limits.max_complexity}. "
                f"Actual cost is {cost}",
                extensions={
                    "cost": {
                        "requestedQueryCost": cost,
                        "maximumAvailable": limits.max_complexity,
                    }
                },
            )
        )
    aliases = _count_aliases(document)
    if limits.max_aliases and aliases > limits.max_aliases:
        errors.append(GraphQLError(f"Number of aliases exceed the limit of {limits.max_aliases}"))
    if limits.max_depth:
        depth = max((walk.depth(operation.selection_set) for operation in operations), default=0)
        if depth > limits.max_depth:
            errors.append(
                GraphQLError(
                    f"The query is deeper than the limit of {limits.max_depth}. "
                    f"Actual depth is {depth}"
                )
            )
    return cost, errors


def _count_aliases(node) -> int:
    """Aliased fields anywhere in the document (each fragment counted once, as Saleor does)."""
    count = 0
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Field) and item.alias is not None:
            count += 1
        if isinstance(item, ast.Document):
            stack.extend(item.definitions)
        elif getattr(item, "selection_set", None) is not None:
            stack.extend(item.selection_set.selections)
    return count


class _Walk:
    def __init__(self, schema, document: ast.Document, variables: dict):
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinition)
        }

    def operation_cost(self, operation: ast.OperationDefinition) -> int:
        root = {
            "query": self.schema.get_query_type(),
            "mutation": self.schema.get_mutation_type(),
            "subscription": self.schema.get_subscription_type(),
        }.get(operation.operation)
        if root is None:
            return 0
        return self.cost(operation.selection_set, root, [], frozenset())

    def cost(self, selection_set, parent_type, multipliers: list[int], path: frozenset) -> int:
        """Saleor's `compute_node_cost`: fields add up; fragments are summed per type
        condition and the costliest type counts (only one type applies to an object)."""
        if selection_set is None:
            return 0
        fields = getattr(parent_type, "fields", None) or {}
        total = 0
        by_type: dict[str, int] = defaultdict(int)
        for selection in selection_set.selections:
            if isinstance(selection, ast.Field):
                definition = fields.get(selection.name.value)
                if definition is None:
                    continue
                total += self.field_cost(selection, definition, parent_type, multipliers, path)
            elif isinstance(selection, ast.FragmentSpread):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in path:  # a cycle: validation refuses it next
                    continue
                kind = self.schema.get_type(fragment.type_condition.name.value)
                if kind is not None:
                    by_type[kind.name] += self.cost(
                        fragment.selection_set, kind, multipliers, path | {name}
                    )
            elif isinstance(selection, ast.InlineFragment):
                kind = parent_type
                if selection.type_condition is not None:
                    kind = self.schema.get_type(selection.type_condition.name.value)
                if kind is not None:
                    by_type[kind.name] += self.cost(
                        selection.selection_set, kind, multipliers, path
                    )
        return total + max(by_type.values(), default=0)

    def field_cost(self, node: ast.Field, definition, parent_type, multipliers, path) -> int:
        kind = get_named_type(definition.type)
        if not isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0  # a scalar or an enum: read with its parent
        if node.name.value in CONNECTION_FIELDS and _is_connection_part(parent_type):
            return self.cost(node.selection_set, kind, multipliers, path)
        own = sum(self.multipliers(node, definition))
        if own > 0:
            multipliers = [*multipliers, own]
        return prod(multipliers) + self.cost(node.selection_set, kind, multipliers, path)

    def multipliers(self, node: ast.Field, definition) -> list[int]:
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        values = []
        for name in MULTIPLIER_ARGUMENTS:
            argument = definition.args.get(name)
            if argument is None:
                continue
            value = given.get(name)
            if isinstance(value, ast.Variable):
                value = self.variables.get(value.name.value, argument.default_value)
            elif isinstance(value, ast.IntValue):
                value = value.value
            elif value is None:
                value = argument.default_value
            try:
                number = int(value)
            except (TypeError, ValueError):
                continue  # not a number: the validation that runs next says so
            if number > 0:
                values.append(number)
        return values

    def depth(self, selection_set, seen: frozenset = frozenset()) -> int:
        """The most fields nested in each other (fragments expanded)."""
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, ast.Field):
                deepest = max(deepest, 1 + self.depth(selection.selection_set, seen))
            elif isinstance(selection, ast.InlineFragment):
                deepest = max(deepest, self.depth(selection.selection_set, seen))
            elif isinstance(selection, ast.FragmentSpread):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    deepest = max(deepest, self.depth(fragment.selection_set, seen | {name}))
        return deepest


def _is_connection_part(parent_type) -> bool:
    """A Relay connection or edge type (it has `edges` or a `node` and a `cursor`)."""
    fields = getattr(parent_type, "fields", None) or {}
    return ("edges" in fields and "pageInfo" in fields) or ("node" in fields and "cursor" in fields)

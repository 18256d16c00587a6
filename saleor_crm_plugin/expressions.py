"""Query expressions the ORM lacks."""

from django.db.models import BooleanField, Expression, F

__all__ = ["AnyOf"]


class AnyOf(Expression):
    """`.filter(AnyOf("order_id", ids))`: the field is one of `values`.

    What `order_id__in=ids` means, but on PostgreSQL as `= ANY(%s)` with the values in one
    array parameter: a list of thousands of parameters costs the client more to bind (and the
    server more to parse) than the rows it selects. Other databases get `IN (...)`.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, field: str, values):
        super().__init__()
        self.column = F(field)
        self.values = list(values)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, expressions):
        (self.column,) = expressions

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return f"{column} = ANY(%s)", [*params, self.values]
        if not self.values:
            return "1 = 0", list(params)
        return f"{column} IN ({', '.join(['%s'] * len(self.values))})", [*params, *self.values]

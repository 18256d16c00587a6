"""Writing many rows at once, for the paths that write thousands (ingestion, a backfill, an
import into the sandbox store).

`bulk_create` and `bulk_update` compile every value of every row into one statement through
the model fields, which costs Python more than the database spends writing the rows; these
write the same rows with one COPY or one statement of arrays on PostgreSQL, and with the
driver's `executemany` elsewhere (the sandbox's SQLite).
"""

from decimal import Decimal
from operator import itemgetter

from django.db import connection, models

__all__ = ["add_objects", "add_rows", "new_ids", "update_rows"]

# The Python type of each kind of column, as an array parameter must hold one type only.
_COLUMN_TYPES = (
    (models.CharField, str),
    (models.DecimalField, Decimal),
    (models.IntegerField, int),
)


def _fields(model, field_names: list[str]) -> list:
    return [model._meta.get_field(name) for name in field_names]


def _converter(field, arrays: bool):
    """How a value of the field goes to the driver, when the driver's own adaptation is not
    what Django writes: JSON as Django adapts it; on SQLite, times naive in the connection's
    zone (as Django writes them); in an array or a binary COPY, one Python type a column (a
    line's price given as an int goes through the field's own conversion, as in
    `bulk_create`)."""
    if field.is_relation:
        field = field.target_field
    if isinstance(field, models.JSONField):
        return lambda value: connection.ops.adapt_json_value(value, field.encoder)
    if connection.vendor != "postgresql":
        if isinstance(field, models.DateTimeField):
            zone, written = connection.timezone, {None: None}

            def naive(value):  # the rows of a batch share most of their times
                if value not in written:
                    written[value] = str(value.astimezone(zone).replace(tzinfo=None))
                return written[value]

            return naive
        return None
    if not arrays:
        return None
    for kind, python_type in _COLUMN_TYPES:
        if isinstance(field, kind):

            def convert(value, python_type=python_type):
                if value is None or type(value) is python_type:
                    return value
                return field.to_python(value)

            convert.python_type = python_type
            return convert
    return None


def _prepared(fields: list, rows: list[tuple], arrays: bool = False) -> list:
    converters = [
        (i, convert)
        for i, f in enumerate(fields)
        if (convert := _converter(f, arrays))
        # a column whose values all have their type already needs no call a value
        and not (
            hasattr(convert, "python_type")
            and set(map(type, map(itemgetter(i), rows))) <= {convert.python_type, type(None)}
        )
    ]
    if not converters:
        return rows
    prepared = []
    for row in rows:
        row = list(row)
        for i, convert in converters:
            row[i] = convert(row[i])
        prepared.append(row)
    return prepared


# The type of each column of a table, for a binary COPY (built-in types: their oids are the
# same in every database).
_COLUMN_OIDS: dict[str, dict[str, int]] = {}


def _column_oids(cursor, table: str) -> dict[str, int]:
    if table not in _COLUMN_OIDS:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        _COLUMN_OIDS[table] = dict(cursor.fetchall())
    return _COLUMN_OIDS[table]


def add_rows(
    model,
    field_names: list[str],
    rows: list[tuple],
    unique: list[str] | None = None,
    update: list[str] | None = None,
) -> None:
    """Insert these rows (tuples of values in `field_names` order).

    With `unique` (field names) and `update`, a row whose unique fields a stored row has
    updates that row's `update` fields instead (ON CONFLICT ... DO UPDATE), as
    `bulk_create(update_conflicts=True)` does, except that a stored row already holding these
    values is not written again. PostgreSQL: one binary COPY (several times cheaper for
    Python than a text one), or with `unique` one INSERT from one array a column; elsewhere
    one INSERT a row run by the driver.
    """
    rows = rows if isinstance(rows, list) else list(rows)  # read more than once
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = _fields(model, field_names)
    columns = ", ".join(quote(field.column) for field in fields)
    table = quote(model._meta.db_table)
    conflict = ""
    if unique:
        targets = ", ".join(quote(field.column) for field in _fields(model, unique))
        updated = [quote(field.column) for field in _fields(model, update or [])]
        assignments = ", ".join(f"{column} = EXCLUDED.{column}" for column in updated)
        differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
        changed = " OR ".join(f"{table}.{c} {differs} EXCLUDED.{c}" for c in updated)
        conflict = f" ON CONFLICT ({targets}) DO " + (
            f"UPDATE SET {assignments} WHERE {changed}" if assignments else "NOTHING"
        )
    typed = connection.vendor == "postgresql"  # arrays or a binary COPY: one type a column
    values = _prepared(fields, rows, typed)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not unique:
            oids = _column_oids(cursor, model._meta.db_table)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([oids[field.column] for field in fields])
                for row in values:
                    copy.write_row(row)
        elif connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}){conflict}",
                [list(column) for column in zip(*values, strict=True)],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) "
                f"VALUES ({', '.join(['%s'] * len(fields))}){conflict}",
                values,
            )


def add_objects(
    model, objs: list, unique: list[str] | None = None, update: list[str] | None = None
) -> None:
    """Insert these unsaved instances, every field but the id (`auto_now` ones set as `save`
    sets them), with `add_rows` (`unique` and `update` as there): `bulk_create` without the ids
    given back (read the rows again by a unique field where they are needed)."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    rows = []
    for obj in objs:
        for field in fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                field.pre_save(obj, add=True)
        rows.append(tuple(getattr(obj, field.attname) for field in fields))
    add_rows(model, [field.name for field in fields], rows, unique=unique, update=update)


def update_rows(model, field_names: list[str], instances: list) -> None:
    """Write these fields of these instances by primary key.

    Not `bulk_update`: it writes a CASE over every row for each field, which takes Python
    (and PostgreSQL) far longer than the rows themselves. PostgreSQL gets one UPDATE from one
    array a column; other databases one UPDATE a row, run by the driver (`executemany`).
    """
    if not instances:
        return
    fields = _fields(model, field_names)
    key = model._meta.pk
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [quote(field.column) for field in [key, *fields]]
            arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in [key, *fields])
            assignments = ", ".join(f"{column} = given.{column}" for column in columns[1:])
            values = _prepared(
                [key, *fields],
                [
                    tuple(getattr(instance, field.attname) for field in [key, *fields])
                    for instance in instances
                ],
                arrays=True,
            )
            cursor.execute(
                f"UPDATE {table} SET {assignments} "
                f"FROM unnest({arrays}) AS given({', '.join(columns)}) "
                f"WHERE {table}.{columns[0]} = given.{columns[0]}",
                [list(column) for column in zip(*values, strict=True)],
            )
        else:
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {quote(key.column)} = %s",
                [
                    [
                        field.get_db_prep_save(getattr(instance, field.attname), connection)
                        for field in [*fields, key]
                    ]
                    for instance in instances
                ],
            )


def new_ids(model, count: int) -> list[int]:
    """Take `count` ids for new rows of `model`, before writing them.

    PostgreSQL: from the id sequence. SQLite (which serializes writers; the caller writes in a
    transaction): after the largest id ever given (`sqlite_sequence`, as AUTOINCREMENT does).
    """
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
        cursor.execute(
            "SELECT max(n) FROM (SELECT seq AS n FROM sqlite_sequence WHERE name = %s"
            f" UNION ALL SELECT max(id) FROM {connection.ops.quote_name(table)})",
            [table],
        )
        last = cursor.fetchone()[0] or 0
        return list(range(last + 1, last + 1 + count))

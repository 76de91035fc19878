"""Writing many rows at once, the fastest way the database offers.

On PostgreSQL rows go in with COPY: no SQL text per row, no parameters to bind, one round
trip per table. Elsewhere (SQLite in development and tests) they go through
`bulk_create`. Callers pass plain dicts of column values (attribute names, as
`Model.__init__` takes them) and get the same rows either way; no model instance is built
on PostgreSQL, which is most of the cost of `bulk_create` for thousands of rows.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO
from typing import Any

from django.db import connection, models

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def uses_copy() -> bool:
    """True on PostgreSQL through psycopg2 (whose cursors have `copy_expert`)."""
    return connection.vendor == "postgresql" and connection.Database.__name__.startswith("psycopg2")


def defaults(model: type[models.Model]) -> dict[str, Any]:
    """Every concrete field's default, by attribute name: what `model()` would hold."""
    return {f.attname: f.get_default() for f in model._meta.concrete_fields}


def next_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys from the table's sequence (PostgreSQL only)."""
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count]
        )
        return sorted(row[0] for row in cursor.fetchall())


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"No COPY form for {type(value).__name__}")


def _column_text(values: list[Any], is_json: bool) -> list[str]:
    """The COPY text of one column's values, in order. Column by column rather than row
    by row: the checks and conversions run once per column where they can, and a JSON
    value shared by many rows (a score receipt) is encoded once."""
    if is_json:
        encoded: dict[int, str] = {}
        cells = []
        for value in values:
            if value is None:
                cells.append("\\N")
                continue
            text = encoded.get(id(value))
            if text is None:
                text = encoded[id(value)] = json.dumps(value).translate(_ESCAPES)
            cells.append(text)
        return cells
    kinds = set(map(type, values))
    if kinds == {str}:
        joined = "".join(values)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return [value.translate(_ESCAPES) for value in values]
        return values
    # A column of one kind of value (and NULLs), as `_text` writes it without its checks
    # per value: text (choices such as a stage), numbers, moments (each moment written
    # once: a chunk's rows share `now`).
    if all(issubclass(kind, str) for kind in kinds):
        return [value.translate(_ESCAPES) for value in values]
    plain = kinds - {type(None)}
    if plain <= _NUMBERS or plain <= _MOMENTS:
        if plain <= _NUMBERS:
            write = str
        else:
            written: dict[int, str] = {}

            def write(value: dt.date) -> str:
                text = written.get(id(value))
                if text is None:
                    text = written[id(value)] = value.isoformat()
                return text

        if len(plain) < len(kinds):
            return ["\\N" if value is None else write(value) for value in values]
        return list(map(write, values))
    return [_text(value) for value in values]


_NUMBERS = {int, float, Decimal}  # exactly these types (a bool is not written as a number)
_MOMENTS = {dt.datetime, dt.date}


def insert_rows(
    model: type[models.Model], rows: list[dict[str, Any]], same: dict[str, Any] | None = None
) -> None:
    """Insert `rows` into `model`'s table in one statement. Each row is a dict of column
    values by attribute name (every row the same keys); `same` holds the values every row
    shares (written once, not per row). Constraint violations raise `IntegrityError`."""
    if not rows:
        return
    if not uses_copy():
        model.objects.bulk_create(model(**(same or {}), **row) for row in rows)
        return
    insert_rendered(model, list(rows[0]), render(model, rows), same)


def render(model: type[models.Model], rows: list[dict[str, Any]]) -> list[str]:
    """Each row's values (a dict by attribute name, every row the same keys, in the same
    order) as its COPY text, for `insert_rendered`: the Python part of an insert, which a
    caller can do ahead, e.g. in a thread of its own while the database writes the rows
    before. PostgreSQL only."""
    if not rows:
        return []
    columns = [
        _column_text([row[name] for row in rows], isinstance(model._meta.get_field(name), models.JSONField))
        for name in rows[0]
    ]
    return list(map("\t".join, zip(*columns, strict=True)))


def insert_rendered(
    model: type[models.Model], names: list[str], lines: list[str], same: dict[str, Any] | None = None
) -> None:
    """Insert rows given as COPY text (`render`; a caller may put more columns in front,
    e.g. ids it drew since): each line holds the columns `names` (attribute names), and
    `same` the values every row shares. PostgreSQL only."""
    if not lines:
        return
    same = same or {}
    fields = [model._meta.get_field(name) for name in [*same, *names]]
    shared = "\t".join(
        _column_text([value], isinstance(field, models.JSONField))[0]
        for field, value in zip(fields, same.values(), strict=False)
    )
    text = "\n".join(f"{shared}\t{line}" for line in lines) if same else "\n".join(lines)
    column_list = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({column_list}) FROM STDIN"
    text += "\n"
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # All the text in one read: psycopg2 reads the file 8 kB at a time by default, and
        # each read waits for the interpreter lock, held by any other busy thread.
        cursor.cursor.copy_expert(sql, StringIO(text), size=len(text))


def update_rows(objs: list[models.Model], fields: list[str]) -> None:
    """Write `fields` of the model instances `objs` (all of one model, saved before) in
    one statement: `UPDATE … FROM (VALUES …)` on PostgreSQL, `bulk_update` elsewhere.
    Like `bulk_update`, it calls no `save()` and sets no `auto_now` field by itself."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields)
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
    params = [
        field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs for field in columns
    ]
    pk = quote(meta.pk.column)
    # Identifiers come from the model's own metadata; every value is a parameter.
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    names = ", ".join(quote(f.column) for f in columns)
    values = ", ".join([row] * len(objs))
    table = quote(meta.db_table)
    sql = f"UPDATE {table} AS t SET {assignments} FROM (VALUES {values}) AS v({names}) WHERE t.{pk} = v.{pk}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def analyze(*models: type[models.Model]) -> None:
    """Bring PostgreSQL's statistics of these tables up to date after a bulk load. Until
    autovacuum gets to them (a minute or more later), the planner reads the tables as they
    were before the load and may scan a whole table where it would otherwise probe an
    index: the dashboard's hand-offs table took 28 s right after a 20,000-lead migration
    and 0.09 s after ANALYZE (docs/performance.md). ANALYZE reads a sample (at most 30,000
    rows a table), about a second even at a million leads. Nothing on SQLite."""
    if connection.vendor != "postgresql" or not models:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(quote(model._meta.db_table) for model in models))

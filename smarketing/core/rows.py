"""Reads whose SQL is written once, their rows turned into values and models as the ORM
would turn them.

For the few reads on the hottest API path (the token with its user and roles, the scoring
definition with its rules). Building a query with the ORM costs about a millisecond of
CPU on every request, more than PostgreSQL takes to run a read like these; their SQL never
changes, so it is written once per database vendor and then only run. Values go through
the converters the ORM applies (on SQLite a datetime comes back as text, a boolean as an
integer), and models are made with `Model.from_db`, as a query makes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model, signals

Converter = Callable[[Any, Any, Any], Any]


def columns(model: type[Model], alias: str, connection) -> list[str]:
    """`alias`."column" for every concrete field of `model`, in `from_db` order."""
    quote = connection.ops.quote_name
    return [f"{quote(alias)}.{quote(field.column)}" for field in model._meta.concrete_fields]


def fields(model: type[Model]) -> list[Field]:
    return list(model._meta.concrete_fields)


class Reader:
    """Converts a row whose columns are `fields` (model fields in SELECT order; None for a
    column to keep as it comes) the way the ORM converts them on this kind of database."""

    def __init__(self, fields: Sequence[Field | None], connection) -> None:
        self.converters: list[tuple[int, Any, list[Converter]]] = []
        for index, field in enumerate(fields):
            if field is None:
                continue
            col = field.cached_col
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self.converters.append((index, col, found))

    def __call__(self, row: Sequence[Any], connection) -> list[Any]:
        values = list(row)
        for index, col, converters in self.converters:
            value = values[index]
            for converter in converters:
                value = converter(value, col, connection)
            values[index] = value
        return values


def make(model: type[Model], values: Sequence[Any], using: str) -> Any:
    """An instance of `model` from the converted values of its concrete fields."""
    return model.from_db(using, [f.attname for f in model._meta.concrete_fields], values)


# --- a row and the row that points at it, in one statement (PostgreSQL) ----------------------

_PAIRS: dict[tuple, tuple[str, list, list]] = {}


def _insertable(model: type[Model]) -> list[Field]:
    """The fields `Model.save` writes on an insert: every concrete one but the generated
    and the automatic primary key."""
    meta = model._meta
    return [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]


def can_insert_pair(parent: Model, child: Model) -> bool:
    """Whether `insert_pair` writes these two as `save()` would: on PostgreSQL, for models
    with an automatic primary key, no pre- or post-save receivers (it sends no signals)
    and only plain values (no expressions, no database defaults)."""
    using = router.db_for_write(type(parent))
    if connections[using].vendor != "postgresql" or router.db_for_write(type(child)) != using:
        return False
    for instance in (parent, child):
        model = type(instance)
        if model._meta.auto_field is None or instance.pk is not None:
            return False
        if any(s.has_listeners(model) for s in (signals.pre_save, signals.post_save)):
            return False
        if any(hasattr(getattr(instance, f.attname), "resolve_expression") for f in _insertable(model)):
            return False
    return True


def insert_pair(parent: Model, child: Model, link: str) -> None:
    """Insert `parent` and `child` (whose foreign key `link` points at `parent`) in one
    statement, as `parent.save(force_insert=True)` then `child.save(force_insert=True)`
    would (auto_now and other `pre_save` values, each field's conversion for the
    database), then set both instances' primary keys and state as `save()` does.

    One statement is atomic on its own: outside a transaction there is no BEGIN and no
    COMMIT to send. Only where `can_insert_pair` says so."""
    using = router.db_for_write(type(parent))
    connection = connections[using]
    parent_model, child_model = type(parent), type(child)
    link_field = child_model._meta.get_field(link)
    key = (parent_model, child_model, link)
    found = _PAIRS.get(key)
    if found is None:
        q = connection.ops.quote_name
        parent_fields = _insertable(parent_model)
        child_fields = [f for f in _insertable(child_model) if f is not link_field]
        parent_pk = q(parent_model._meta.pk.column)
        sql = (
            f"WITH parent AS (INSERT INTO {q(parent_model._meta.db_table)} "  # noqa: S608 - names from the models
            f"({', '.join(q(f.column) for f in parent_fields)}) "
            f"VALUES ({', '.join(['%s'] * len(parent_fields))}) RETURNING {parent_pk}) "
            f"INSERT INTO {q(child_model._meta.db_table)} "
            f"({q(link_field.column)}, {', '.join(q(f.column) for f in child_fields)}) "
            f"SELECT parent.{parent_pk}, {', '.join(['%s'] * len(child_fields))} FROM parent "
            f"RETURNING {q(link_field.column)}, {q(child_model._meta.pk.column)}"
        )
        found = _PAIRS[key] = (sql, parent_fields, child_fields)
    sql, parent_fields, child_fields = found
    params = [f.get_db_prep_save(f.pre_save(parent, True), connection) for f in parent_fields]
    params += [f.get_db_prep_save(f.pre_save(child, True), connection) for f in child_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        parent_id, child_id = cursor.fetchone()
    parent.pk = parent_id
    setattr(child, link, parent)
    child.pk = child_id
    for instance in (parent, child):
        instance._state.adding = False
        instance._state.db = using

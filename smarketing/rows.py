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

from django.db.models import Field, Model

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

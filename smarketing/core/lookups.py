"""`field__any=Values(…)`: "the field is one of these values", with the values as one
parameter.

`field__in=[…]` with thousands of values (a search's candidate ids, an import chunk's
emails) costs more than the query itself: Django resolves and renders a parameter per
value each time the query is cloned or compiled, and PostgreSQL parses and plans a list
item per value. On PostgreSQL this sends `field = ANY('{…}'::type[])`, one array literal
built once; elsewhere it is the IN list it replaces.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models


class Values:
    """The values of an `any` lookup, each once, in order. Not a list, so that Django does
    not walk it item by item; the array literal is built on first use and kept."""

    __slots__ = ("_literal", "items")

    def __init__(self, values: Iterable[Any]) -> None:
        self.items = sorted(set(values))
        self._literal: str | None = None

    def __bool__(self) -> bool:
        return bool(self.items)

    def literal(self) -> str:
        """The PostgreSQL array literal: '{1,2}' or '{"a@x.io","b\\"c"}'."""
        if self._literal is None:
            self._literal = array_literal(self.items)
        return self._literal


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of `values` in their order, None as NULL, for a
    `%s::type[]` parameter: '{1,NULL,3}', '{"a b","c\\"d"}', '{"2026-11-30 09:00:00+00:00"}'.

    psycopg2 sends a Python list as ARRAY[v1, v2, …], one parsed constant per value: for
    thousands of values that costs the client and the server more than the statement's
    work. A literal is one string, quoted once and read by the array type's input."""
    return "{" + ",".join(_element(value) for value in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


@models.Field.register_lookup
class AnyOf(models.Lookup):
    """`field__any=Values(…)`: see the module docstring."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        items = self.rhs.items
        if not items:
            return "1 = 0", []  # nothing is one of no values
        if connection.vendor == "postgresql":
            array = f"{self.lhs.output_field.cast_db_type(connection)}[]"
            return f"{lhs} = ANY(%s::{array})", [*params, self.rhs.literal()]
        prep = self.lhs.output_field.get_db_prep_value
        return f"{lhs} IN ({', '.join(['%s'] * len(items))})", [
            *params,
            *(prep(value, connection) for value in items),
        ]

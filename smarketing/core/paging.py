"""Keyset ("seek") paging for long lists: the next page starts after the last row seen,
so page 1,000 costs what page 1 costs, and no COUNT over a million rows is needed.

The cursor is the last row's sort value and id, opaque to the user (URL-safe base64).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from smarketing.core.errors import ActionError
from smarketing.core.inputs import check_date, check_id

COUNT_CAP = 10_000
# A search counts its matches only this far: at a million leads, a common word ("Hoffmann",
# one lead in 40) is found by walking the sort index, and each match counted costs ~40 rows
# read, so 10,000 would read the whole table.
SEARCH_COUNT_CAP = 200


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None
    count: int
    count_capped: bool


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([value, pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, field) -> tuple[Any, int]:
    """The position a cursor of ours holds, as a value of the sort `field` and an id; a
    cursor we did not give out is refused with a message."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = dt.datetime.fromisoformat(value["dt"])
        value = field.to_python(value)
        if isinstance(value, dt.datetime):
            check_date(value.date())
        elif isinstance(value, dt.date):
            check_date(value)
        if isinstance(pk, bool) or not isinstance(pk, int):
            raise TypeError(pk)
        check_id(pk)
        return value, pk
    except (ValueError, TypeError, OverflowError, RecursionError, ValidationError):
        raise ActionError(
            "This link's place in the list is not one the list gave out: start again from the first page.",
            field="after",
        ) from None


def keyset_page(
    queryset: QuerySet, *, order: str, cursor: str | None, size: int = 50, count_cap: int = COUNT_CAP
) -> KeysetPage:
    """One page of `queryset` ordered by `order` (a field, "-" for descending) then id,
    and how many rows the whole list has, counted up to `count_cap` ("10,000+")."""
    descending = order.startswith("-")
    field = order.lstrip("-")
    ordered = queryset.order_by(order, "-id" if descending else "id")
    after = _decode(cursor, queryset.model._meta.get_field(field)) if cursor else None
    if after is not None:
        value, pk = after
        # The first condition alone is the seek: an index on the sort field starts there
        # (the OR, which breaks ties by id, can only filter).
        if descending:
            ordered = ordered.filter(Q(**{f"{field}__lte": value}))
            ordered = ordered.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": pk}))
        else:
            ordered = ordered.filter(Q(**{f"{field}__gte": value}))
            ordered = ordered.filter(Q(**{f"{field}__gt": value}) | Q(**{field: value, "id__gt": pk}))
    rows = list(ordered[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode(getattr(last, field), last.pk)
    if after is None and next_cursor is None:
        count = len(rows)  # the first page holds the whole list
    else:
        count = queryset.order_by()[: count_cap + 1].count()
    return KeysetPage(
        rows=rows, next_cursor=next_cursor, count=min(count, count_cap), count_capped=count > count_cap
    )

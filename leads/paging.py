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

from django.db.models import Q, QuerySet

COUNT_CAP = 10_000


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


def _decode(cursor: str) -> tuple[Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = dt.datetime.fromisoformat(value["dt"])
        return value, int(pk)
    except (ValueError, TypeError):
        return None


def keyset_page(queryset: QuerySet, *, order: str, cursor: str | None, size: int = 50) -> KeysetPage:
    """One page of `queryset` ordered by `order` (a field, "-" for descending) then id."""
    descending = order.startswith("-")
    field = order.lstrip("-")
    ordered = queryset.order_by(order, "-id" if descending else "id")
    count = queryset.order_by()[: COUNT_CAP + 1].count()
    after = _decode(cursor) if cursor else None
    if after is not None:
        value, pk = after
        if descending:
            ordered = ordered.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": pk}))
        else:
            ordered = ordered.filter(Q(**{f"{field}__gt": value}) | Q(**{field: value, "id__gt": pk}))
    rows = list(ordered[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode(getattr(last, field), last.pk)
    return KeysetPage(
        rows=rows, next_cursor=next_cursor, count=min(count, COUNT_CAP), count_capped=count > COUNT_CAP
    )

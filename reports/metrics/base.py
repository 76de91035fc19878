"""What every figure is built from: weeks, the range's events, the scope of a figure, and
medians and percentiles picked in the database."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, TruncWeek
from django.utils import timezone

from leads.models import LeadEvent
from reports import rollups
from smarketing.core.weeks import monday_of, org_tz, week_range


def last_weeks(count: int = 12, now: dt.datetime | None = None) -> list[dt.date]:
    """The Mondays of the last `count` ISO weeks, oldest first, this week included."""
    this = monday_of(now or timezone.now())
    return [this - dt.timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays from `first`'s week to `last`'s, oldest first."""
    monday, end = monday_of(first), monday_of(last)
    return [monday + dt.timedelta(weeks=n) for n in range((end - monday).days // 7 + 1)]


def rolled_up(leads: QuerySet | None) -> bool:
    """Read this figure from the rollup? For the whole organisation, when it is ready."""
    return leads is None and rollups.is_ready()


def scoped(rows: QuerySet, leads: QuerySet | None, path: str = "lead") -> QuerySet:
    return rows if leads is None else rows.filter(**{f"{path}__in": leads.values("pk")})


def week_key(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def events_in(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[LeadEvent]:
    start, end = week_range(first, last)
    events = LeadEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, lead__merged_into__isnull=True
    )
    return scoped(events, leads).annotate(week=TruncWeek("occurred_at", tzinfo=org_tz()))


def moves_in() -> Q:
    """Events that move a lead into a stage (not a re-save of the same stage)."""
    return ~Q(to_stage="") & ~Q(from_stage=F("to_stage"))


def ranked(rows: QuerySet, *, partition: str, value: str) -> dict:
    """Per `partition`: (n, {rank: value}) for only the ranks a median and a 90th
    percentile need — ⌊(n+1)/2⌋ and ⌊n/2⌋+1 (the middle one or two) and ⌈0.9 n⌉ —
    picked in the database by window functions, in one query."""
    rank = Window(RowNumber(), partition_by=[F(partition)], order_by=[F(value).asc(), F("id").asc()])
    size = Window(Count("id"), partition_by=[F(partition)])
    wanted = Q(rank=(F("size") + 1) / 2) | Q(rank=F("size") / 2 + 1) | Q(rank=(9 * F("size") + 9) / 10)
    picked = (
        rows.annotate(rank=rank, size=size)
        .annotate(
            pick=Case(When(wanted, then=Value(True)), default=Value(False), output_field=BooleanField())
        )
        .filter(pick=True)
        .values_list(partition, "rank", "size", value)
    )
    result: dict = {}
    for key, position, n, picked_value in picked:
        result.setdefault(key, (n, {}))[1][position] = picked_value
    return result


def median(n: int, ranks: dict):
    """The middle value, or the mean of the two middle values when n is even."""
    return (ranks[(n + 1) // 2] + ranks[n // 2 + 1]) / 2


def p90(n: int, ranks: dict):
    """Nearest rank: the value at rank ⌈0.9 n⌉."""
    return ranks[(9 * n + 9) // 10]

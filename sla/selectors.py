"""Reads for the SLA page and API: clocks at risk, breaches and compliance per rep,
team and policy for a week — aggregated in the database."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from smarketing.weeks import week_range as org_week_range

from .commitments import week_start
from .models import Clock


def week_range(monday: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    return org_week_range(monday or week_start())


def at_risk(*, within: dt.timedelta = dt.timedelta(hours=4), team=None) -> QuerySet[Clock]:
    """Running clocks due within `within` (wall time) or already overdue and not yet recorded."""
    clocks = Clock.objects.running().filter(breached_at__isnull=True, due_at__lte=timezone.now() + within)
    if team is not None:
        clocks = clocks.filter(owner__membership__team=team)
    return clocks.select_related("lead", "owner", "policy").order_by("due_at")


def breaches(monday: dt.date | None = None) -> QuerySet[Clock]:
    start, end = week_range(monday)
    return (
        Clock.objects.filter(breached_at__gte=start, breached_at__lt=end)
        .select_related("lead", "owner", "policy")
        .order_by("-breached_at")
    )


_MET = Q(met_at__isnull=False, breached_at__isnull=True)


def _resolved(monday: dt.date | None):
    """Clocks resolved in the week: met (on time or late) or breached (DESIGN: SLA compliance)."""
    start, end = week_range(monday)
    return Clock.objects.filter(
        Q(met_at__gte=start, met_at__lt=end, breached_at__isnull=True)
        | Q(breached_at__gte=start, breached_at__lt=end)
    )


def compliance_by(field: str, monday: dt.date | None = None) -> list[dict]:
    """Per rep (`owner`), team (`owner__membership__team`) or policy (`policy`): clocks
    resolved in the week, how many were met on time, and the share."""
    names = (
        {"first": F("owner__first_name"), "last": F("owner__last_name"), "user": F("owner__username")}
        if field == "owner"
        else {"label": F(f"{field}__name")}
    )
    rows = (
        _resolved(monday)
        .values(key=F(f"{field}__pk"), **names)
        .annotate(resolved=Count("id"), met=Count("id", filter=_MET), breached=Count("id", filter=~_MET))
    )
    result = []
    for row in rows:
        if field == "owner":
            name = f"{row.pop('first')} {row.pop('last')}".strip() or row["user"]
            row.pop("user")
        else:
            name = row.pop("label")
        row["name"] = name
        row["percent"] = round(100 * row["met"] / row["resolved"]) if row["resolved"] else None
        result.append(row)
    return sorted(result, key=lambda r: r["name"] or "")

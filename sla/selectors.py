"""Reads for the SLA page and API: clocks at risk, breaches and compliance per rep,
team and policy for a week — aggregated in the database."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
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


def compliance_by(field: str, monday: dt.date | None = None) -> list[dict]:
    """Per rep (`owner`), `team` or `policy`: clocks resolved in the week, how many were met
    on time, and the share as a whole percent — the dashboard's figures for one week."""
    from reports.metrics import sla_compliance

    monday = monday or week_start()
    rows = sla_compliance(monday, monday, by=field)
    for row in rows:
        row["percent"] = round(100 * row["compliance"]) if row["compliance"] is not None else None
    return rows

"""Reads for the SLA page and API: clocks at risk, breaches and compliance per rep,
team and policy for a week — aggregated in the database."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from sla.models import Clock
from smarketing.core.weeks import monday_of
from smarketing.core.weeks import week_range as org_week_range


def week_range(monday: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    return org_week_range(monday or monday_of())


def at_risk(*, within: dt.timedelta = dt.timedelta(hours=4), team=None) -> QuerySet[Clock]:
    """Running clocks due within `within` (wall time) or already overdue and not yet recorded."""
    clocks = Clock.objects.running().filter(breached_at__isnull=True, due_at__lte=timezone.now() + within)
    if team is not None:
        clocks = clocks.filter(owner__membership__team=team)
    return clocks.select_related("lead", "owner__membership", "policy").order_by("due_at")


def breaches(monday: dt.date | None = None) -> QuerySet[Clock]:
    """The week's breaches: clocks breached whose deadline fell in the week — where SLA
    compliance counts them, even when the breach was detected later (after an outage)."""
    start, end = week_range(monday)
    return (
        Clock.objects.filter(breached_at__isnull=False, due_at__gte=start, due_at__lt=end)
        .select_related("lead", "owner", "policy")
        .order_by("-due_at", "-id")
    )

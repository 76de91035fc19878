"""Sales' side, measured: speed to lead and SLA compliance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    F,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import TruncWeek

from reports import rollups
from reports.metrics.base import median, p90, ranked, rolled_up, scoped, week_key
from sla.models import Clock, Obligation
from smarketing.core.weeks import monday_of, org_tz, week_range
from smarketing.org.models import Team

# --- speed to lead -------------------------------------------------------------------------


@dataclass
class Speed:
    monday: dt.date
    responses: int
    median_seconds: float | None
    p90_seconds: int | None
    leads: int = 0  # the distinct leads responded to (what the drill-down lists)


def _responses(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet:

    start, end = week_range(first, last)
    clocks = Clock.objects.filter(
        obligation=Obligation.RESPONSE,
        met_at__gte=start,
        met_at__lt=end,
        business_seconds__isnull=False,
        lead__merged_into__isnull=True,
    )
    return scoped(clocks, leads).annotate(week=TruncWeek("met_at", tzinfo=org_tz()))


def speed_to_lead(weeks: list[dt.date], leads: QuerySet | None = None) -> list[Speed]:
    """Business time from hand-off to first response (accept or reject), for responses in
    each week: median (the mean of the two middle values when their number is even) and
    90th percentile (nearest rank). Two queries, whatever the number of weeks or leads."""
    if not weeks:
        return []
    if rolled_up(leads):
        picks = rollups.picks("SP", weeks[0], weeks[-1], per_week=True)
        counted = {
            week: distinct
            for week, (_, distinct) in rollups.counted("SP", weeks[0], weeks[-1], per_week=True).items()
        }
    else:
        responses = _responses(weeks[0], weeks[-1], leads)
        picks = {
            week_key(key): value
            for key, value in ranked(responses, partition="week", value="business_seconds").items()
        }
        counted = {
            week_key(row["week"]): row["n"]
            for row in responses.values("week").annotate(n=Count("lead", distinct=True)).order_by()
        }
    result = []
    for monday in weeks:
        if monday not in picks:
            result.append(Speed(monday, 0, None, None))
            continue
        n, ranks = picks[monday]
        result.append(Speed(monday, n, float(median(n, ranks)), p90(n, ranks), counted.get(monday, 0)))
    return result


def responded_lead_ids(first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The leads behind a week's speed to lead: those whose response clock was met then."""
    return _responses(first, last or first).values("lead_id").distinct()


# --- SLA compliance --------------------------------------------------------------------------

_MET_ON_TIME = Q(met_at__isnull=False, breached_at__isnull=True)
# When a clock was resolved: a clock met on time when it was met; a breached one (met late
# included: it is breached too) at its due time, however late the breach was detected (an
# outage, a late enforcement run). Each side is read through its own partial index
# (clock_met, clock_breached_due).
RESOLVED_AT = Case(When(breached_at__isnull=False, then=F("due_at")), default=F("met_at"))


def _resolved_clocks(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet:
    """Clocks resolved in the weeks (DESIGN: SLA compliance): met on time then, or breached
    with their due time then."""

    start, end = week_range(first, last)
    clocks = Clock.objects.filter(
        Q(met_at__gte=start, met_at__lt=end, breached_at__isnull=True)
        | Q(breached_at__isnull=False, due_at__gte=start, due_at__lt=end),
        lead__merged_into__isnull=True,
        measured_only=False,  # a response measured in another CRM: speed to lead only
    )
    return scoped(clocks, leads)


COMPLIANCE_GROUPS = {
    "owner": {
        "key": F("owner_id"),
        "first": F("owner__first_name"),
        "last": F("owner__last_name"),
        "user": F("owner__username"),
    },
    "team": {"key": F("owner__membership__team_id"), "label": F("owner__membership__team__name")},
    "policy": {"key": F("policy_id"), "label": F("policy__name")},
}


def sla_compliance(first: dt.date, last: dt.date, *, by: str, leads: QuerySet | None = None) -> list[dict]:
    """Per rep (`owner`), team, policy or `week`: clocks resolved in the weeks, how many were
    met on time and breached, the share met on time (`compliance`), and the distinct leads
    behind them. One query."""
    if by in ("week", "owner", "team") and rolled_up(leads):
        return _sla_rolled_up(monday_of(first), monday_of(last), by)
    clocks = _resolved_clocks(first, last, leads)
    if by == "week":
        clocks = clocks.annotate(week=TruncWeek(RESOLVED_AT, tzinfo=org_tz()))
        groups = {"key": F("week")}
    else:
        groups = COMPLIANCE_GROUPS[by]
    rows = (
        clocks.values(**groups)
        .annotate(
            resolved=Count("id"),
            met=Count("id", filter=_MET_ON_TIME),
            breached=Count("id", filter=~_MET_ON_TIME),
            leads=Count("lead", distinct=True),
        )
        .order_by()
    )
    result = []
    for row in rows:
        if by == "owner":
            row["name"] = f"{row.pop('first')} {row.pop('last')}".strip() or row["user"]
            row.pop("user")
        elif by == "week":
            row["key"] = week_key(row["key"])
            row["name"] = row["key"].isoformat()
        else:
            row["name"] = row.pop("label") or "No team"
        row["compliance"] = row["met"] / row["resolved"] if row["resolved"] else None
        result.append(row)
    return sorted(result, key=lambda r: r["key"] if by == "week" else r["name"])


def _sla_rolled_up(first: dt.date, last: dt.date, by: str) -> list[dict]:

    rows = rollups.sla(first, last, by)
    keys = [int(key) for key, *_ in rows if by != "week" and key != ""]
    if by == "owner":
        people = get_user_model().objects.filter(pk__in=keys)
        names = {user.pk: f"{user.first_name} {user.last_name}".strip() or user.username for user in people}
    elif by == "team":
        names = dict(Team.objects.filter(pk__in=keys).values_list("pk", "name"))
    result = []
    for key, resolved, met, distinct in rows:
        if by == "week":
            name = key.isoformat()
        else:
            key = int(key) if key != "" else None
            name = names.get(key) or "No team"
        result.append(
            {
                "key": key,
                "name": name,
                "resolved": resolved,
                "met": met,
                "breached": resolved - met,
                "leads": distinct,
                "compliance": met / resolved if resolved else None,
            }
        )
    return sorted(result, key=lambda r: r["key"] if by == "week" else r["name"])


def clock_lead_ids(
    status: str, first: dt.date, last: dt.date | None = None, *, owner=None, team=None
) -> QuerySet:
    """The leads behind an SLA compliance row: with a clock `resolved`, `met` on time or
    `breached` in the weeks (a breach at its due time), optionally of one rep or team."""
    clocks = _resolved_clocks(first, last or first)
    if status == "met":
        clocks = clocks.filter(_MET_ON_TIME)
    elif status == "breached":
        clocks = clocks.exclude(_MET_ON_TIME)
    if owner is not None:
        clocks = clocks.filter(owner=owner)
    if team is not None:
        clocks = clocks.filter(owner__membership__team=team)
    return clocks.values("lead_id").distinct()

"""The weekly funnel figures, exactly as DESIGN.md defines them, aggregated in the database.

- A *week* is an ISO week (Monday start) in the organisation's time zone.
- *Entered stage S in week W*: leads with an event moving them into S during W (a lead
  counts once per stage and week, however often it moved in).
- *Acceptance rate* (W): accepted ÷ (accepted + rejected), for responses made in W.
- *Win rate* (W): won ÷ (won + lost), for outcomes made in W.
- *Speed to lead*: business time from hand-off to first response (accept or reject);
  median and 90th percentile for responses in W.
- *Closed-loop attribution*: per first-touch source, campaign and referrer, for the leads
  created in the range: leads, MQLs, SQLs, customers, revenue, cost, cost per customer, ROI.
- *Rejection feedback*: rejections by reason, by source and campaign, by week.
- *Velocity*: median days spent in each stage, for leads that left it in W.
- *Cohort conversion*: of leads that entered MQL in week W, the share now SQL, customer,
  rejected (sent back), still waiting.

Merge pointers (leads merged into another) are left out, as everywhere in the funnel: the
survivor carries the person. Every function takes `leads`, an optional queryset of Lead
that scopes the figures (the dashboard's team, source, campaign, rep and segment filters,
built by the lead list's own FilterSet, so a drill-down applies exactly the same scope).

Every count has a drill-down here, beside it (`*_lead_ids`): exactly the leads behind it.
Counts of leads are what the dashboard links; where a figure counts events (responses,
rejections, clocks, stays in a stage) the leads behind them are counted beside it.

Medians and percentiles are picked in the database with window functions (ROW_NUMBER and
COUNT over a partition), one query for all weeks or stages: nothing is read row by row.

For the whole organisation on PostgreSQL, the counts come from `reports.rollups` (kept
exactly up to date; `_rolled_up` says when): the same figures without reading the event
log. The event-log queries below stay the definition, and serve filtered scopes and SQLite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce, RowNumber, TruncWeek
from django.utils import timezone

from leads.models import EventType, Lead, LeadEvent, Stage
from reports import rollups
from sla.models import Clock, Obligation
from smarketing.agreement.models import Reason
from smarketing.core.weeks import monday_of, org_tz, week_range
from smarketing.org.models import Campaign, Team

# Outcome events counted per week beside the stages entered.
OUTCOMES = {
    "rejected": EventType.REJECTED,
    "lost": EventType.LOST,
    "accepted": EventType.ACCEPTED,
    "won": EventType.WON,
}
# What a drill-down may ask for: one outcome, or what a rate was computed from.
OUTCOME_GROUPS = {
    **{name: [value] for name, value in OUTCOMES.items()},
    "answered": [EventType.ACCEPTED, EventType.REJECTED],  # acceptance rate
    "closed": [EventType.WON, EventType.LOST],  # win rate
}
# Where the leads that entered MQL in a week are now (cohort conversion).
COHORT = {
    Stage.MQL: "waiting",
    Stage.SQL: "sql",
    Stage.CUSTOMER: "customer",
    Stage.LEAD: "sent_back",
    Stage.DISQUALIFIED: "disqualified",
}


def last_weeks(count: int = 12, now: dt.datetime | None = None) -> list[dt.date]:
    """The Mondays of the last `count` ISO weeks, oldest first, this week included."""
    this = monday_of(now or timezone.now())
    return [this - dt.timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays from `first`'s week to `last`'s, oldest first."""
    monday, end = monday_of(first), monday_of(last)
    return [monday + dt.timedelta(weeks=n) for n in range((end - monday).days // 7 + 1)]


def _rolled_up(leads: QuerySet | None) -> bool:
    """Read this figure from the rollup? For the whole organisation, when it is ready."""
    return leads is None and rollups.is_ready()


def _scoped(rows: QuerySet, leads: QuerySet | None, path: str = "lead") -> QuerySet:
    return rows if leads is None else rows.filter(**{f"{path}__in": leads.values("pk")})


def _week_key(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _events(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[LeadEvent]:
    start, end = week_range(first, last)
    events = LeadEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, lead__merged_into__isnull=True
    )
    return _scoped(events, leads).annotate(week=TruncWeek("occurred_at", tzinfo=org_tz()))


def _moves_in() -> Q:
    """Events that move a lead into a stage (not a re-save of the same stage)."""
    return ~Q(to_stage="") & ~Q(from_stage=F("to_stage"))


def _ranked(rows: QuerySet, *, partition: str, value: str) -> dict:
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


def _median(n: int, ranks: dict):
    """The middle value, or the mean of the two middle values when n is even."""
    return (ranks[(n + 1) // 2] + ranks[n // 2 + 1]) / 2


def _p90(n: int, ranks: dict):
    """Nearest rank: the value at rank ⌈0.9 n⌉."""
    return ranks[(9 * n + 9) // 10]


# --- the weekly funnel ---------------------------------------------------------------------


@dataclass
class Week:
    monday: dt.date
    entered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Stage.values, 0))
    # Responses and outcomes made in the week (what the rates count) …
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    # … and the distinct leads they were made on (what a drill-down lists).
    outcome_leads: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    @property
    def acceptance_rate(self) -> float | None:
        answered = self.outcomes["accepted"] + self.outcomes["rejected"]
        return self.outcomes["accepted"] / answered if answered else None

    @property
    def win_rate(self) -> float | None:
        closed = self.outcomes["won"] + self.outcomes["lost"]
        return self.outcomes["won"] / closed if closed else None


def weekly_funnel(weeks: list[dt.date], leads: QuerySet | None = None) -> list[Week]:
    """Per week: leads that entered each stage, and the responses and outcomes made.
    Two queries, whatever the number of leads or weeks."""
    rows = {monday: Week(monday) for monday in weeks}
    if not weeks:
        return []
    if _rolled_up(leads):
        names = {value: name for name, value in OUTCOMES.items()}
        for (monday, stage), n in rollups.entered_by_week(weeks[0], weeks[-1]).items():
            if monday in rows and stage in rows[monday].entered:
                rows[monday].entered[stage] = n
        for (monday, kind), (n, distinct) in rollups.outcomes_by_week(weeks[0], weeks[-1]).items():
            if monday in rows and kind in names:
                rows[monday].outcomes[names[kind]] = n
                rows[monday].outcome_leads[names[kind]] = distinct
        return [rows[monday] for monday in weeks]
    events = _events(weeks[0], weeks[-1], leads)
    entered = (
        events.filter(_moves_in())
        .values("week", "to_stage")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    for row in entered:
        week = rows.get(_week_key(row["week"]))
        if week is not None and row["to_stage"] in week.entered:
            week.entered[row["to_stage"]] = row["n"]
    outcomes = (
        events.filter(type__in=OUTCOMES.values())
        .values("week", "type")
        .annotate(n=Count("id"), leads=Count("lead", distinct=True))
        .order_by()
    )
    names = {value: name for name, value in OUTCOMES.items()}
    for row in outcomes:
        week = rows.get(_week_key(row["week"]))
        if week is not None:
            week.outcomes[names[row["type"]]] = row["n"]
            week.outcome_leads[names[row["type"]]] = row["leads"]
    return [rows[monday] for monday in weeks]


def stage_totals(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> dict[str, int]:
    """Leads that entered each stage at any time in the weeks (each lead once per stage,
    however many weeks it entered it in): the funnel for the whole range. One query."""
    totals = dict.fromkeys(Stage.values, 0)
    if _rolled_up(leads):
        counted = rollups.entered_totals(monday_of(first), monday_of(last))
        totals.update({stage: n for stage, n in counted.items() if stage in totals})
        return totals
    rows = (
        _events(first, last, leads)
        .filter(_moves_in())
        .values("to_stage")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    totals.update({row["to_stage"]: row["n"] for row in rows if row["to_stage"] in totals})
    return totals


def entered_lead_ids(stage: str, first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The ids of the leads that entered `stage` in the weeks `first`..`last`."""
    return _events(first, last or first).filter(_moves_in(), to_stage=stage).values("lead_id").distinct()


def event_lead_ids(outcome: str, first: dt.date, last: dt.date | None = None, *, reason=None) -> QuerySet:
    """The ids of the leads with a response or outcome (`rejected`, `accepted`, `won`,
    `lost`, or `answered` / `closed` for what a rate counts) in the weeks, optionally for
    one reason: as many as `Week.outcome_leads` says. (A lead rejected twice in a week is
    one lead here and two responses in the acceptance rate.)"""
    events = _events(first, last or first).filter(type__in=OUTCOME_GROUPS[outcome])
    if reason is not None:
        events = events.filter(reason=reason)
    return events.values("lead_id").distinct()


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
    return _scoped(clocks, leads).annotate(week=TruncWeek("met_at", tzinfo=org_tz()))


def speed_to_lead(weeks: list[dt.date], leads: QuerySet | None = None) -> list[Speed]:
    """Business time from hand-off to first response (accept or reject), for responses in
    each week: median (the mean of the two middle values when their number is even) and
    90th percentile (nearest rank). Two queries, whatever the number of weeks or leads."""
    if not weeks:
        return []
    if _rolled_up(leads):
        picks = rollups.picks("SP", weeks[0], weeks[-1], per_week=True)
        counted = {
            week: distinct
            for week, (_, distinct) in rollups.counted("SP", weeks[0], weeks[-1], per_week=True).items()
        }
    else:
        responses = _responses(weeks[0], weeks[-1], leads)
        picks = {
            _week_key(key): value
            for key, value in _ranked(responses, partition="week", value="business_seconds").items()
        }
        counted = {
            _week_key(row["week"]): row["n"]
            for row in responses.values("week").annotate(n=Count("lead", distinct=True)).order_by()
        }
    result = []
    for monday in weeks:
        if monday not in picks:
            result.append(Speed(monday, 0, None, None))
            continue
        n, ranks = picks[monday]
        result.append(Speed(monday, n, float(_median(n, ranks)), _p90(n, ranks), counted.get(monday, 0)))
    return result


def responded_lead_ids(first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The leads behind a week's speed to lead: those whose response clock was met then."""
    return _responses(first, last or first).values("lead_id").distinct()


# --- SLA compliance --------------------------------------------------------------------------

_MET_ON_TIME = Q(met_at__isnull=False, breached_at__isnull=True)


def _resolved_clocks(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet:
    """Clocks resolved in the weeks: met (on time or late) or breached (DESIGN: SLA compliance)."""

    start, end = week_range(first, last)
    clocks = Clock.objects.filter(
        Q(met_at__gte=start, met_at__lt=end, breached_at__isnull=True)
        | Q(breached_at__gte=start, breached_at__lt=end),
        lead__merged_into__isnull=True,
    )
    return _scoped(clocks, leads)


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
    if by in ("week", "owner", "team") and _rolled_up(leads):
        return _sla_rolled_up(monday_of(first), monday_of(last), by)
    clocks = _resolved_clocks(first, last, leads)
    if by == "week":
        clocks = clocks.annotate(week=TruncWeek(Coalesce("breached_at", "met_at"), tzinfo=org_tz()))
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
            row["key"] = _week_key(row["key"])
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
    `breached` in the weeks, optionally of one rep or team."""
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


# --- closed-loop attribution and rejection feedback --------------------------------------------


def _reached(event_type: str):
    return Exists(LeadEvent.objects.filter(lead=OuterRef("pk"), type=event_type))


REACHED = {"mql": EventType.QUALIFIED, "sql": EventType.ACCEPTED, "customer": EventType.WON}
ATTRIBUTION_KEYS = {
    "source": {"key": F("source"), "name": F("source")},
    "campaign": {"key": F("campaign_id"), "name": F("campaign__name"), "cost": F("campaign__cost")},
    "referrer": {"key": F("referrer_id"), "name": F("referrer__username")},
}


def _created_in(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[Lead]:
    start, end = week_range(first, last)
    return _scoped(Lead.objects.live(), leads, path="pk").filter(created_at__gte=start, created_at__lt=end)


def attribution(
    first: dt.date, last: dt.date, *, by: str = "source", leads: QuerySet | None = None
) -> list[dict]:
    """Per first-touch source, campaign or referrer (`by`), for the leads created in the
    weeks `first`..`last`: leads, how many ever became MQL, SQL and customer, revenue won,
    and for campaigns their cost, cost per customer and ROI ((revenue − cost) ÷ cost).
    One query."""
    rows = _attribution_rolled_up(monday_of(first), monday_of(last), by) if _rolled_up(leads) else None
    if rows is None:
        rows = (
            _created_in(first, last, leads)
            .annotate(**{f"was_{stage}": _reached(event) for stage, event in REACHED.items()})
            .values(**ATTRIBUTION_KEYS[by])
            .annotate(
                leads=Count("id"),
                mqls=Count("id", filter=Q(was_mql=True)),
                sqls=Count("id", filter=Q(was_sql=True)),
                customers=Count("id", filter=Q(was_customer=True)),
                revenue=Sum("deal_amount", filter=Q(was_customer=True), default=Decimal(0)),
            )
            .order_by("-revenue", "name")
        )
    result = []
    for row in rows:
        if by == "referrer" and row["key"] is None:
            continue  # leads nobody referred
        if by == "campaign":
            cost = row["cost"]
            row["cost_per_customer"] = (
                cost / row["customers"] if cost is not None and row["customers"] else None
            )
            row["roi"] = (row["revenue"] - cost) / cost if cost else None
        result.append(row)
    return result


def _by_name(rows: list[dict], *, revenue: bool) -> list[dict]:
    """The event-log query's order: most first (revenue or count), then name, no name last."""
    first = "revenue" if revenue else "rejections"
    return sorted(rows, key=lambda row: (-row[first], row["name"] is None, row["name"] or ""))


def _attribution_rolled_up(first: dt.date, last: dt.date, by: str) -> list[dict]:

    rows = rollups.created(first, last, by)
    keys = [int(key) for key, *_ in rows if by != "source" and key != ""]
    if by == "campaign":
        campaigns = {c.pk: c for c in Campaign.objects.filter(pk__in=keys)}
    elif by == "referrer":
        names = dict(get_user_model().objects.filter(pk__in=keys).values_list("pk", "username"))
    result = []
    for key, count, mqls, sqls, customers, revenue in rows:
        row = {"leads": count, "mqls": mqls, "sqls": sqls, "customers": customers, "revenue": revenue}
        if by == "source":
            row.update(key=key, name=key)
        elif by == "campaign":
            campaign = campaigns.get(int(key)) if key != "" else None
            row.update(
                key=campaign.pk if campaign else None,
                name=campaign.name if campaign else None,
                cost=campaign.cost if campaign else None,
            )
        else:
            row.update(key=int(key), name=names.get(int(key)))
        result.append(row)
    return _by_name(result, revenue=True)


def reached_lead_ids(reached: str, first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The leads behind an attribution count: created in the weeks and ever `mql`, `sql`,
    `customer` (or every one created then: `lead`)."""
    created = _created_in(first, last or first)
    if reached in REACHED:
        created = created.filter(_reached(REACHED[reached]))
    return created.values("pk")


def _rejections(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[LeadEvent]:
    return _events(first, last, leads).filter(type=EventType.REJECTED)


def rejection_reasons(
    first: dt.date, last: dt.date, *, by: str | None = None, leads: QuerySet | None = None
) -> list[dict]:
    """Rejections made in the weeks, by reason — a Pareto list (most first, with the
    cumulative share) — or by reason and the lead's `source` or `campaign`; with the
    distinct leads rejected for each (what a drill-down lists). One query."""
    if _rolled_up(leads):
        rows = _rejections_rolled_up(monday_of(first), monday_of(last), by)
    else:
        rows = _rejections_counted(first, last, by, leads)
    total = sum(row["rejections"] for row in rows)
    running = 0
    for row in rows:
        running += row["rejections"]
        row["share"] = row["rejections"] / total
        row["cumulative"] = running / total
    return rows


def _rejections_rolled_up(first: dt.date, last: dt.date, by: str | None) -> list[dict]:

    rows = rollups.rejections(first, last, by)
    labels = dict(
        Reason.objects.filter(pk__in=[int(r) for r, *_ in rows if r != ""]).values_list("pk", "label")
    )
    campaigns = {}
    if by == "campaign":
        keys = [int(key) for _, key, *_ in rows if key != ""]
        campaigns = dict(Campaign.objects.filter(pk__in=keys).values_list("pk", "name"))
    result = []
    for reason, key, count, distinct in rows:
        reason = int(reason) if reason != "" else None
        row = {
            "reason_key": reason,
            "reason_label": labels.get(reason),
            "rejections": count,
            "leads": distinct,
        }
        if by == "source":
            row.update(by=key, by_key=key)
        elif by == "campaign":
            key = int(key) if key != "" else None
            row.update(by=campaigns.get(key), by_key=key)
        result.append(row)

    def order(row):
        label, name = row["reason_label"], row.get("by")
        return (-row["rejections"], label is None, label or "", name is None, name or "")

    return sorted(result, key=order)


def _rejections_counted(first: dt.date, last: dt.date, by: str | None, leads: QuerySet | None) -> list[dict]:
    fields = {"reason_key": F("reason_id"), "reason_label": F("reason__label")}
    if by == "source":
        fields.update(by=F("lead__source"), by_key=F("lead__source"))
    elif by == "campaign":
        fields.update(by=F("lead__campaign__name"), by_key=F("lead__campaign_id"))
    return list(
        _rejections(first, last, leads)
        .values(**fields)
        .annotate(rejections=Count("id"), leads=Count("lead", distinct=True))
        .order_by("-rejections", "reason_label", *(["by"] if by else []))
    )


# --- velocity and cohorts ------------------------------------------------------------------------


def _stays(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[LeadEvent]:
    """Events that moved a lead out of a stage in the weeks, each annotated with the time
    spent in that stage: since `stage_since`, stored on the event when it was written (the
    time of the event that had moved the lead in; tests check it equals recomputation)."""
    start, end = week_range(first, last)
    events = (
        LeadEvent.objects.filter(
            occurred_at__gte=start,
            occurred_at__lt=end,
            lead__merged_into__isnull=True,
            stage_since__isnull=False,
        )
        .exclude(from_stage="")
        .exclude(to_stage="")
        .exclude(from_stage=F("to_stage"))
    )
    return _scoped(events, leads).annotate(
        spent=ExpressionWrapper(F("occurred_at") - F("stage_since"), output_field=DurationField())
    )


@dataclass
class Velocity:
    stage: str
    stays: int  # times a lead left the stage in the weeks
    leads: int  # the distinct leads that did (what the drill-down lists)
    median_days: float | None


def velocity(
    first: dt.date, last: dt.date | None = None, leads: QuerySet | None = None
) -> dict[str, Velocity]:
    """Median days spent in each stage, for the leads that left it in the weeks (time from
    the event that moved the lead into the stage to the one that moved it out). Two queries."""
    if _rolled_up(leads):
        first, last = monday_of(first), monday_of(last or first)
        picks = {
            stage: (n, {rank: dt.timedelta(microseconds=value) for rank, value in ranks.items()})
            for stage, (n, ranks) in rollups.picks("V", first, last, per_week=False).items()
        }
        counted = {
            stage: distinct
            for stage, (_, distinct) in rollups.counted("V", first, last, per_week=False).items()
        }
    else:
        stays = _stays(first, last or first, leads)
        picks = _ranked(stays, partition="from_stage", value="spent")
        counted = {
            row["from_stage"]: row["n"]
            for row in stays.values("from_stage").annotate(n=Count("lead", distinct=True)).order_by()
        }
    result = {}
    for stage in Stage.values:
        if stage not in picks:
            result[stage] = Velocity(stage, 0, 0, None)
            continue
        n, ranks = picks[stage]
        result[stage] = Velocity(stage, n, counted.get(stage, 0), _median(n, ranks).total_seconds() / 86400)
    return result


def left_lead_ids(stage: str, first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The leads behind a stage's velocity: those that left `stage` in the weeks."""
    return _stays(first, last or first).filter(from_stage=stage).values("lead_id").distinct()


def cohorts(weeks: list[dt.date], leads: QuerySet | None = None) -> dict[dt.date, dict[str, int]]:
    """Per MQL week: of the leads that entered MQL in it, how many are now SQL, customer,
    sent back (rejected or lost to nurture), disqualified, or still waiting. One query."""
    result = {monday: dict.fromkeys(COHORT.values(), 0) for monday in weeks}
    if not weeks:
        return result
    if _rolled_up(leads):
        for (monday, stage), n in rollups.cohorts(weeks[0], weeks[-1]).items():
            if monday in result:
                result[monday][COHORT[stage]] += n
        return result
    rows = (
        _events(weeks[0], weeks[-1], leads)
        .filter(_moves_in(), to_stage=Stage.MQL)
        .values("week", "lead__stage")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    for row in rows:
        monday = _week_key(row["week"])
        if monday in result:
            result[monday][COHORT[row["lead__stage"]]] += row["n"]
    return result


# --- split by the MQL definition ------------------------------------------------------------


HANDOFF_VERSIONS = ("scoring_version", "agreement_version")


def _handoffs(
    first: dt.date, last: dt.date, leads: QuerySet | None = None, by: str = "scoring_version"
) -> QuerySet[LeadEvent]:
    """Hand-offs made in the weeks, each with the version it was made under as `definition`
    (`by`: the scoring version, i.e. the MQL definition, or the agreement version) and
    sales' first response to it (accepted, rejected, or none yet)."""
    if by not in HANDOFF_VERSIONS:
        raise ValueError(f"by is one of {HANDOFF_VERSIONS}")
    # A response answers this hand-off if no later hand-off of the lead came before it
    # (one returned to marketing unanswered, say).
    later_handoff = LeadEvent.objects.filter(
        lead=OuterRef("lead"),
        type=EventType.QUALIFIED,
        occurred_at__gt=OuterRef(OuterRef("occurred_at")),
        occurred_at__lt=OuterRef("occurred_at"),
    )
    response = (
        LeadEvent.objects.filter(
            lead=OuterRef("lead"),
            type__in=[EventType.ACCEPTED, EventType.REJECTED],
            occurred_at__gte=OuterRef("occurred_at"),
        )
        .exclude(Exists(later_handoff))
        .order_by("occurred_at", "id")
        .values("type")[:1]
    )
    return (
        _events(first, last, leads)
        .filter(type=EventType.QUALIFIED)
        .annotate(definition=KeyTransform(by, "data"), response=Subquery(response))
    )


def by_mql_definition(
    first: dt.date, last: dt.date, leads: QuerySet | None = None, by: str = "scoring_version"
) -> list[dict]:
    """Per MQL definition (scoring) version, or per agreement version (`by`): hand-offs made
    in the weeks, the leads they were made on, and what sales answered to each — so a new
    definition's acceptance rate can be set against the old one's. One query."""
    if by not in HANDOFF_VERSIONS:
        raise ValueError(f"by is one of {HANDOFF_VERSIONS}")
    if _rolled_up(leads):
        rows = [
            {
                "definition": int(key) if key != "" else None,
                "handoffs": handoffs,
                "leads": distinct,
                "accepted": accepted,
                "rejected": rejected,
            }
            for key, handoffs, distinct, accepted, rejected in rollups.handoffs(
                monday_of(first), monday_of(last), by
            )
        ]
        rows.sort(key=lambda row: (row["definition"] is None, row["definition"] or 0))
    else:
        rows = (
            _handoffs(first, last, leads, by)
            .values("definition")
            .annotate(
                handoffs=Count("id"),
                leads=Count("lead", distinct=True),
                accepted=Count("id", filter=Q(response=EventType.ACCEPTED)),
                rejected=Count("id", filter=Q(response=EventType.REJECTED)),
            )
            .order_by("definition")
        )
    result = []
    for row in rows:
        answered = row["accepted"] + row["rejected"]
        row["waiting"] = row["handoffs"] - answered
        row["acceptance_rate"] = row["accepted"] / answered if answered else None
        result.append(row)
    return result


def handed_off_lead_ids(
    definition: int, first: dt.date, last: dt.date | None = None, by: str = "scoring_version"
) -> QuerySet:
    """The leads handed off in the weeks under version `definition` of the MQL definition
    (scoring) or of the agreement (`by`)."""
    return _handoffs(first, last or first, by=by).filter(definition=definition).values("lead_id").distinct()


def drilldown_lead_ids(*, drill: str, value, first: dt.date, last: dt.date, extra: dict) -> QuerySet:
    """The leads behind a figure, by the name the lead list's drill-down gives it
    (`leads.hooks.drilldown_lead_ids`): each the `*_lead_ids` beside its count above."""
    if drill == "entered":
        return entered_lead_ids(value, first, last)
    if drill == "outcome":
        return event_lead_ids(value, first, last, reason=extra.get("reason"))
    if drill == "left":
        return left_lead_ids(value, first, last)
    if drill == "responded":
        return responded_lead_ids(first, last)
    if drill == "reached":
        return reached_lead_ids(value, first, last)
    if drill == "sla":
        return clock_lead_ids(value, first, last, owner=extra.get("owner"), team=extra.get("team"))
    if drill == "handed_off":
        return handed_off_lead_ids(value, first, last)
    if drill == "handed_off_agreement":
        return handed_off_lead_ids(value, first, last, by="agreement_version")
    raise ValueError(f"No drill-down called {drill!r}.")

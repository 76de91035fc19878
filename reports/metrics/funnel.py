"""The funnel by week: stages entered, responses and outcomes, velocity, MQL cohorts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    QuerySet,
)

from leads.models import EventType, LeadEvent, Stage
from reports import rollups
from reports.metrics.base import events_in, median, moves_in, ranked, rolled_up, scoped, week_key
from smarketing.core.weeks import monday_of, week_range

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
    if rolled_up(leads):
        names = {value: name for name, value in OUTCOMES.items()}
        for (monday, stage), n in rollups.entered_by_week(weeks[0], weeks[-1]).items():
            if monday in rows and stage in rows[monday].entered:
                rows[monday].entered[stage] = n
        for (monday, kind), (n, distinct) in rollups.outcomes_by_week(weeks[0], weeks[-1]).items():
            if monday in rows and kind in names:
                rows[monday].outcomes[names[kind]] = n
                rows[monday].outcome_leads[names[kind]] = distinct
        return [rows[monday] for monday in weeks]
    events = events_in(weeks[0], weeks[-1], leads)
    entered = (
        events.filter(moves_in())
        .values("week", "to_stage")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    for row in entered:
        week = rows.get(week_key(row["week"]))
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
        week = rows.get(week_key(row["week"]))
        if week is not None:
            week.outcomes[names[row["type"]]] = row["n"]
            week.outcome_leads[names[row["type"]]] = row["leads"]
    return [rows[monday] for monday in weeks]


def stage_totals(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> dict[str, int]:
    """Leads that entered each stage at any time in the weeks (each lead once per stage,
    however many weeks it entered it in): the funnel for the whole range. One query."""
    totals = dict.fromkeys(Stage.values, 0)
    if rolled_up(leads):
        counted = rollups.entered_totals(monday_of(first), monday_of(last))
        totals.update({stage: n for stage, n in counted.items() if stage in totals})
        return totals
    rows = (
        events_in(first, last, leads)
        .filter(moves_in())
        .values("to_stage")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    totals.update({row["to_stage"]: row["n"] for row in rows if row["to_stage"] in totals})
    return totals


def entered_lead_ids(stage: str, first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The ids of the leads that entered `stage` in the weeks `first`..`last`."""
    return events_in(first, last or first).filter(moves_in(), to_stage=stage).values("lead_id").distinct()


def event_lead_ids(outcome: str, first: dt.date, last: dt.date | None = None, *, reason=None) -> QuerySet:
    """The ids of the leads with a response or outcome (`rejected`, `accepted`, `won`,
    `lost`, or `answered` / `closed` for what a rate counts) in the weeks, optionally for
    one reason: as many as `Week.outcome_leads` says. (A lead rejected twice in a week is
    one lead here and two responses in the acceptance rate.)"""
    events = events_in(first, last or first).filter(type__in=OUTCOME_GROUPS[outcome])
    if reason is not None:
        events = events.filter(reason=reason)
    return events.values("lead_id").distinct()


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
    return scoped(events, leads).annotate(
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
    if rolled_up(leads):
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
        picks = ranked(stays, partition="from_stage", value="spent")
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
        result[stage] = Velocity(stage, n, counted.get(stage, 0), median(n, ranks).total_seconds() / 86400)
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
    if rolled_up(leads):
        for (monday, stage), n in rollups.cohorts(weeks[0], weeks[-1]).items():
            if monday in result:
                result[monday][COHORT[stage]] += n
        return result
    rows = (
        events_in(weeks[0], weeks[-1], leads)
        .filter(moves_in(), to_stage=Stage.MQL)
        .values("week", "lead__stage")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    for row in rows:
        monday = week_key(row["week"])
        if monday in result:
            result[monday][COHORT[row["lead__stage"]]] += row["n"]
    return result

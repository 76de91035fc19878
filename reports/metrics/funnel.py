"""The funnel by week: stages entered, responses and outcomes, velocity, MQL cohorts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
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
    Value,
    When,
)
from django.db.models.lookups import Exact

from leads.filters import CohortState
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
# Where the leads that entered MQL in a week are now (cohort conversion), in column order.
COHORT_STATES = [value for value, _ in CohortState.CHOICES]


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


def _moves_out() -> QuerySet[LeadEvent]:
    """Events that moved a lead out of a stage (into another), with when it had entered it."""
    return (
        LeadEvent.objects.filter(stage_since__isnull=False)
        .exclude(from_stage="")
        .exclude(to_stage="")
        .exclude(from_stage=F("to_stage"))
    )


def _stays(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[LeadEvent]:
    """Each lead's last stay in each stage that ended in the weeks (DESIGN: each lead counted
    once per stage): the events that moved a lead out of a stage in the weeks, less those
    the same lead followed by another move out of the same stage in them (later by time,
    then id). Each annotated with the time spent in the stage: since `stage_since`, stored
    on the event when it was written (the time of the event that had moved the lead in;
    tests check it equals recomputation)."""
    start, end = week_range(first, last)
    later = _moves_out().filter(
        Q(occurred_at__gt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), id__gt=OuterRef("id")),
        lead=OuterRef("lead"),
        from_stage=OuterRef("from_stage"),
        occurred_at__lt=end,
    )
    events = _moves_out().filter(
        ~Exists(later), occurred_at__gte=start, occurred_at__lt=end, lead__merged_into__isnull=True
    )
    return scoped(events, leads).annotate(
        spent=ExpressionWrapper(F("occurred_at") - F("stage_since"), output_field=DurationField())
    )


@dataclass
class Velocity:
    stage: str
    leads: int  # the leads that left the stage in the weeks (each once: its last stay)
    median_days: float | None


def velocity(
    first: dt.date, last: dt.date | None = None, leads: QuerySet | None = None
) -> dict[str, Velocity]:
    """Median days spent in each stage, for the leads that left it in the weeks, each lead
    counted once per stage: its last stay that ended in them (time from the event that
    moved the lead into the stage to the one that moved it out). One query."""
    if rolled_up(leads):
        first, last = monday_of(first), monday_of(last or first)
        picks = {
            stage: (n, {rank: dt.timedelta(microseconds=value) for rank, value in ranks.items()})
            for stage, (n, ranks) in rollups.picks("V", first, last, per_week=False).items()
        }
    else:
        picks = ranked(_stays(first, last or first, leads), partition="from_stage", value="spent")
    result = {}
    for stage in Stage.values:
        if stage not in picks:
            result[stage] = Velocity(stage, 0, None)
            continue
        n, ranks = picks[stage]
        result[stage] = Velocity(stage, n, median(n, ranks).total_seconds() / 86400)
    return result


def left_lead_ids(stage: str, first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The leads behind a stage's velocity: those that left `stage` in the weeks (one stay each)."""
    return _stays(first, last or first).filter(from_stage=stage).values("lead_id").distinct()


# A cohort lead not in MQL, SQL or customer left the sales path; the latest of these events
# says how (a disqualification counts only while the lead is still disqualified: marketing
# reopening it undid it).
_BACK_TO_MARKETING = [EventType.REJECTED, EventType.RETURNED, EventType.LOST]
_OUT_OF_FUNNEL = [*_BACK_TO_MARKETING, EventType.DISQUALIFIED]


def _latest_type(lead, types: list[str]) -> Subquery:
    """The type of the lead's latest event among `types` (by time, then id)."""
    latest = LeadEvent.objects.filter(lead=lead, type__in=types).order_by("-occurred_at", "-id")
    return Subquery(latest.values("type")[:1])


def cohort_state(lead: str = "") -> Case:
    """Where a lead is now, as cohort conversion counts it (one of CohortState, each lead in
    exactly one): an expression over Lead rows, or over rows whose `lead` relation is given
    (`lead="lead"`, e.g. events). The one rule behind the figure and its drill-down:

    - in MQL: still waiting; in SQL: SQL; customer: customer;
    - in `lead`: *lost* if the latest of its rejections, SLA returns and losses was a loss
      (recycled to nurture), else *sent back* by sales (rejected or returned; also a lead
      sales disqualified that marketing reopened);
    - disqualified: *lost* if the latest of those events and its disqualifications was a
      loss (lost with a disqualifying reason), else *disqualified* (any other way, e.g.
      marketing disqualified a lead sales had sent back or lost to nurture).
    """
    prefix, ref = (f"{lead}__", OuterRef(f"{lead}_id")) if lead else ("", OuterRef("pk"))
    stage = f"{prefix}stage"

    def lost_else(types: list[str], other: str) -> Case:
        return Case(
            When(Exact(_latest_type(ref, types), EventType.LOST), then=Value(CohortState.LOST)),
            default=Value(other),
        )

    return Case(
        When(**{stage: Stage.MQL}, then=Value(CohortState.WAITING)),
        When(**{stage: Stage.SQL}, then=Value(CohortState.SQL)),
        When(**{stage: Stage.CUSTOMER}, then=Value(CohortState.CUSTOMER)),
        When(**{stage: Stage.LEAD}, then=lost_else(_BACK_TO_MARKETING, CohortState.SENT_BACK)),
        default=lost_else(_OUT_OF_FUNNEL, CohortState.DISQUALIFIED),
    )


def _cohort_entries(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[LeadEvent]:
    """The events that moved leads into MQL in the weeks, each with its lead's cohort state."""
    entries = events_in(first, last, leads).filter(moves_in(), to_stage=Stage.MQL)
    return entries.annotate(cohort=cohort_state("lead"))


def cohorts(weeks: list[dt.date], leads: QuerySet | None = None) -> dict[dt.date, dict[str, int]]:
    """Per MQL week: of the leads that entered MQL in it, how many are in each cohort state
    now (`cohort_state`): still waiting, SQL, customer, sent back, lost, disqualified. Each
    lead is in exactly one, so they add up to the leads that entered MQL. One query."""
    result = {monday: dict.fromkeys(COHORT_STATES, 0) for monday in weeks}
    if not weeks:
        return result
    if rolled_up(leads):
        for (monday, state), n in rollups.cohorts(weeks[0], weeks[-1]).items():
            if monday in result:
                result[monday][state] += n
        return result
    rows = (
        _cohort_entries(weeks[0], weeks[-1], leads)
        .values("week", "cohort")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    for row in rows:
        monday = week_key(row["week"])
        if monday in result:
            result[monday][row["cohort"]] += row["n"]
    return result


def cohort_lead_ids(state: str, first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The leads behind a cohort cell: those that entered MQL in the weeks and are in `state` now."""
    return _cohort_entries(first, last or first).filter(cohort=state).values("lead_id").distinct()

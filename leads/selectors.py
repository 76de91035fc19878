"""Reads behind the pages: each a constant number of queries, whatever the data size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from sla.models import Clock, EnforcementRun, Obligation

from .models import EventType, Lead, LeadEvent, Source, Stage, TeamKind
from .roles import Role

User = get_user_model()

HOME_LIST_LIMIT = 25


def week_start(now: dt.datetime | None = None) -> dt.datetime:
    """Monday 00:00 of the current ISO week in the active (viewer's) time zone."""
    local = timezone.localtime(now or timezone.now())
    monday = local.date() - dt.timedelta(days=local.weekday())
    return timezone.make_aware(dt.datetime.combine(monday, dt.time.min), local.tzinfo)


def stage_counts(leads: QuerySet[Lead] | None = None) -> dict[str, int]:
    counts = dict.fromkeys(Stage.values, 0)
    leads = Lead.objects.live() if leads is None else leads
    counts.update(leads.order_by().values_list("stage").annotate(n=Count("id")))
    return counts


def _running_clock_due(obligation: str):
    return Subquery(
        Clock.objects.running()
        .filter(lead=OuterRef("pk"), obligation=obligation)
        .order_by("due_at")
        .values("due_at")[:1]
    )


def rep_queue(user) -> QuerySet[Lead]:
    """My MQLs awaiting response, oldest deadline first."""
    return (
        Lead.objects.live()
        .filter(owner=user, stage=Stage.MQL)
        .select_related("campaign", "qualified_by")
        .annotate(response_due=_running_clock_due(Obligation.RESPONSE))
        .order_by("response_due", "qualified_at")
    )


def rep_sqls(user) -> QuerySet[Lead]:
    """My SQLs with their touch count, last touch and follow-up deadline."""
    return (
        Lead.objects.live()
        .filter(owner=user, stage=Stage.SQL)
        .select_related("campaign")
        .annotate(
            touch_count=Count("touches"),
            last_touch=Max("touches__occurred_at"),
            follow_up_due=_running_clock_due(Obligation.FOLLOW_UP),
        )
        .order_by("stage_entered_at")
    )


def _latest_feedback(field: str):
    return Subquery(
        LeadEvent.objects.filter(
            lead=OuterRef("pk"), type__in=[EventType.REJECTED, EventType.LOST, EventType.RETURNED]
        )
        .order_by("-occurred_at", "-id")
        .values(field)[:1]
    )


def recycled_queue(*, reason_id: int | None = None) -> QuerySet[Lead]:
    """Leads sales sent back, newest first, with the reason and note sales gave (the
    latest rejection or loss), optionally only those sent back for one reason."""
    leads = (
        Lead.objects.recycled()
        .select_related("campaign")
        .annotate(
            feedback_reason=_latest_feedback("reason__label"),
            feedback_reason_id=_latest_feedback("reason_id"),
            feedback_note=_latest_feedback("note"),
            feedback_type=_latest_feedback("type"),
            feedback_by=_latest_feedback("actor__username"),
        )
        .order_by("-stage_entered_at")
    )
    if reason_id is not None:
        leads = leads.filter(feedback_reason_id=reason_id)
    return leads


def my_handoffs(user) -> QuerySet[Lead]:
    return (
        Lead.objects.live()
        .filter(qualified_by=user)
        .select_related("owner", "campaign")
        .order_by("-qualified_at")
    )


def referred_by(user) -> QuerySet[Lead]:
    return Lead.objects.live().filter(referrer=user).select_related("owner").order_by("-created_at")


def team_reps(team) -> QuerySet:
    """The people of a sales team with their open MQL and SQL counts."""
    return (
        User.objects.filter(membership__team=team, groups__name=Role.SALES_REP)
        .select_related("membership")
        .annotate(
            open_mqls=Count("owned_leads", filter=Q(owned_leads__stage=Stage.MQL)),
            open_sqls=Count("owned_leads", filter=Q(owned_leads__stage=Stage.SQL)),
        )
        .order_by("first_name", "username")
    )


def breaches_this_week(team) -> QuerySet[Clock]:
    return (
        Clock.objects.filter(owner__membership__team=team, breached_at__gte=week_start())
        .select_related("lead", "owner")
        .order_by("-breached_at")
    )


def marketers_this_week(team) -> QuerySet:
    """Hand-offs each marketer made this week, and how many sales has rejected so far."""
    since = week_start()
    return (
        User.objects.filter(membership__team=team)
        .annotate(
            handoffs=Count(
                "lead_events",
                filter=Q(lead_events__type=EventType.QUALIFIED, lead_events__occurred_at__gte=since),
            ),
        )
        .order_by("first_name", "username")
    )


def recent_enforcement_runs(limit: int = 5) -> QuerySet[EnforcementRun]:
    return EnforcementRun.objects.order_by("-started_at")[:limit]


def lead_list() -> QuerySet[Lead]:
    """Live leads (not merge pointers) with what a list row shows; filters come on top.

    The owner and campaign come by prefetch (two small queries for the page's rows), not
    by join: the page's query then reads and sorts lead rows only, however many match
    before the LIMIT, and the planner's row estimate cannot turn the joins into loops."""
    return Lead.objects.live().prefetch_related("owner", "campaign")


def lead_detail(lead_id: int) -> Lead:
    return Lead.objects.select_related(
        "owner", "qualified_by", "referrer", "campaign", "created_by", "merged_into"
    ).get(pk=lead_id)


def lead_timeline(lead: Lead) -> QuerySet[LeadEvent]:
    """The lead's events and those of every lead merged into it, in time order.

    One `lead_id IN (the lead and the leads merged into it)`: the index on the event's lead
    serves it. (`lead = x OR lead IN (…)` cannot use that index and reads every event.)"""
    leads = Lead.objects.filter(Q(pk=lead.pk) | Q(merged_into=lead)).values("pk")
    return (
        LeadEvent.objects.filter(lead__in=leads)
        .select_related("actor", "reason", "lead")
        .order_by("occurred_at", "id")
    )


def is_sales_team(team) -> bool:
    return team is not None and team.kind == TeamKind.SALES


# --- my hand-offs: every lead I qualified and what became of it ---------------------------------

OUTCOME_TYPES = [
    EventType.ACCEPTED,
    EventType.REJECTED,
    EventType.WON,
    EventType.LOST,
    EventType.DISQUALIFIED,
]
NO_LATER_HANDOFF = 2**62


def handoffs(user, *, week_of: dt.date | None = None, campaign_id: int | None = None) -> QuerySet[LeadEvent]:
    """My hand-offs (one row per `qualified` event of mine), newest first, each annotated
    with what became of it: the last response or outcome before the lead's next hand-off."""
    next_handoff = Subquery(
        LeadEvent.objects.filter(lead=OuterRef("lead"), type=EventType.QUALIFIED, id__gt=OuterRef("id"))
        .order_by("id")
        .values("id")[:1]
    )
    rows = (
        LeadEvent.objects.filter(type=EventType.QUALIFIED, actor=user)
        .select_related("lead", "lead__campaign", "lead__owner")
        .annotate(next_id=Coalesce(next_handoff, Value(NO_LATER_HANDOFF)))
    )

    def outcome(field: str):
        return Subquery(
            LeadEvent.objects.filter(
                lead=OuterRef("lead"),
                id__gt=OuterRef("id"),
                id__lt=OuterRef("next_id"),
                type__in=OUTCOME_TYPES,
            )
            .order_by("-id")
            .values(field)[:1]
        )

    rows = rows.annotate(
        outcome_type=outcome("type"),
        outcome_at=outcome("occurred_at"),
        outcome_reason=outcome("reason__label"),
        outcome_note=outcome("note"),
    )
    if week_of is not None:
        start = week_start(timezone.make_aware(dt.datetime.combine(week_of, dt.time(12))))
        rows = rows.filter(occurred_at__gte=start, occurred_at__lt=start + dt.timedelta(days=7))
    if campaign_id:
        rows = rows.filter(lead__campaign_id=campaign_id)
    return rows.order_by("-occurred_at", "-id")


def handoff_outcome(row: LeadEvent) -> str:
    """'waiting' until sales responds, then the type of the last response or outcome."""
    return row.outcome_type or "waiting"


# --- the whole story of a lead, in one list --------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "event", "engagement", "touch", "sla"
    title: str
    who: str = ""
    detail: str = ""
    note: str = ""
    css: str = ""


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else "System"


def lead_story(
    lead: Lead, events: list[LeadEvent], *, engagements: list, clocks: list
) -> list[TimelineEntry]:
    """Everything that happened to a lead — stage changes, assignments, engagements,
    touches, SLA warnings and breaches — oldest first. The page has read the events
    (`lead_timeline`), engagements and clocks (with their owners) for its own sections:
    they are given; the touches are one query, whatever the length."""
    entries: list[TimelineEntry] = []
    for event in events:
        detail = []
        if event.to_stage and event.from_stage != event.to_stage:
            detail.append(f"{event.from_stage or '—'} → {event.to_stage}")
        if event.data.get("routing_rule"):
            detail.append(f"assigned by {event.data['routing_rule']}")
        if event.data.get("source") and event.type == EventType.CREATED:
            source = event.data["source"]
            detail.append(f"source: {Source(source).label if source in Source.values else source}")
            if event.data.get("import_job"):
                detail.append(
                    f"imported (row {event.data.get('import_row')} of import {event.data['import_job']})"
                )
        if event.data.get("amount"):
            detail.append(f"amount {event.data['amount']}")
        if event.reason_id:
            detail.append(f"reason: {event.reason.label}")
        if event.lead_id != lead.pk:
            detail.append(f"on merged lead {event.lead.email}")
        entries.append(
            TimelineEntry(
                event.occurred_at,
                "event",
                event.get_type_display(),
                _person(event.actor),
                "; ".join(detail),
                event.note,
                f"event-{event.type}",
            )
        )
    for engagement in engagements:
        entries.append(
            TimelineEntry(
                engagement.occurred_at,
                "engagement",
                engagement.get_type_display(),
                "",
                f"{engagement.title} (+{engagement.points})".strip(),
                "",
                "engagement",
            )
        )
    for touch in lead.touches.select_related("by"):
        entries.append(
            TimelineEntry(
                touch.occurred_at,
                "touch",
                f"{touch.get_kind_display()} touch",
                _person(touch.by),
                touch.get_outcome_display(),
                touch.note,
                "touch",
            )
        )
    for clock in clocks:
        what = clock.get_obligation_display().lower()
        if clock.warned_at:
            entries.append(
                TimelineEntry(
                    clock.warned_at,
                    "sla",
                    "SLA warning",
                    _person(clock.owner),
                    f"{what} due {timezone.localtime(clock.due_at):%a %d %b %H:%M}",
                    "",
                    "sla",
                )
            )
        if clock.breached_at:
            entries.append(
                TimelineEntry(
                    clock.breached_at,
                    "sla",
                    "SLA breached",
                    _person(clock.owner),
                    f"{what} was due {timezone.localtime(clock.due_at):%a %d %b %H:%M}",
                    "",
                    "sla breach",
                )
            )
    entries.sort(key=lambda e: e.at)
    return entries


def sales_people():
    """Active sales reps, by name (for owner choices)."""
    return (
        User.objects.filter(is_active=True, groups__name=Role.SALES_REP)
        .order_by("first_name", "last_name", "username")
        .only("id", "first_name", "last_name", "username")
    )

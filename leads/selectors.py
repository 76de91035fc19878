"""Reads behind the pages: each a constant number of queries, whatever the data size."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from sla.models import Clock, EnforcementRun, Obligation

from .models import EventType, Lead, LeadEvent, Stage, TeamKind
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
        LeadEvent.objects.filter(lead=OuterRef("pk"), type__in=[EventType.REJECTED, EventType.LOST])
        .order_by("-occurred_at", "-id")
        .values(field)[:1]
    )


def recycled_queue() -> QuerySet[Lead]:
    """Leads sales sent back, newest first, with the reason and note sales gave."""
    return (
        Lead.objects.recycled()
        .select_related("campaign")
        .annotate(
            feedback_reason=_latest_feedback("reason__label"),
            feedback_note=_latest_feedback("note"),
            feedback_type=_latest_feedback("type"),
        )
        .order_by("-stage_entered_at")
    )


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


def clocks_at_risk(team, *, within: dt.timedelta = dt.timedelta(hours=2)) -> QuerySet[Clock]:
    horizon = timezone.now() + within
    return (
        Clock.objects.running()
        .filter(owner__membership__team=team, breached_at__isnull=True, due_at__lte=horizon)
        .select_related("lead", "owner")
        .order_by("due_at")
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


def lead_list(*, stage: str = "", q: str = "") -> QuerySet[Lead]:
    leads = Lead.objects.live().select_related("owner", "campaign")
    if stage in Stage.values:
        leads = leads.filter(stage=stage)
    if q:
        leads = leads.search(q)
    return leads.order_by("-created_at", "-id")


def lead_detail(lead_id: int) -> Lead:
    return Lead.objects.select_related(
        "owner", "qualified_by", "referrer", "campaign", "created_by", "merged_into"
    ).get(pk=lead_id)


def lead_timeline(lead: Lead) -> QuerySet[LeadEvent]:
    """The lead's events and those of every lead merged into it, in time order."""
    merged = Lead.objects.filter(merged_into=lead).values("pk")
    return (
        LeadEvent.objects.filter(Q(lead=lead) | Q(lead__in=merged))
        .select_related("actor", "reason", "lead")
        .order_by("occurred_at", "id")
    )


def is_sales_team(team) -> bool:
    return team is not None and team.kind == TeamKind.SALES

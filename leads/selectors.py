"""Report reads, rebuilt from the immutable event log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import ConsentRecord, EventType, Lead, LeadEvent, Stage, Touch
from leads.permissions import event_data_shown
from leads.services import lead_find_duplicate
from sla.models import Clock, EnforcementRun, Obligation
from smarketing.core import formats
from smarketing.core.paging import COUNT_CAP
from smarketing.core.weeks import monday_of, week_range
from smarketing.org.models import Source, TeamKind
from smarketing.org.roles import Role, has_product_role

LIKELY_DUPLICATE_LIMIT = 5


# --- likely duplicates ------------------------------------------------------------------------


@dataclass
class LikelyDuplicate:
    lead: Lead
    reasons: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return (
            f"Lead {self.lead.pk}, {self.lead} ({self.lead.email}), has the {' and the '.join(self.reasons)}."
        )


def likely_duplicates(
    *,
    phone: str = "",
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    exclude_id: int | None = None,
    limit: int = LIKELY_DUPLICATE_LIMIT,
) -> list[LikelyDuplicate]:
    """Live leads that are probably the same person: the same (non-empty) phone, or the
    same first and last name at the same company (case-insensitive). One query, at most
    `limit` rows; it filters on the `lead_phone` and `lead_company_name` columns. Each lead
    has the fields a warning shows (pk, names, email, phone, company)."""
    phone, first_name, last_name, company = (
        (value or "").strip() for value in (phone, first_name, last_name, company)
    )
    by_phone, by_name = bool(phone), bool(first_name and last_name and company)
    if not (by_phone or by_name):
        return []
    read = (
        _duplicates_sql if connections[router.db_for_read(Lead)].vendor == "postgresql" else _duplicates_orm
    )
    leads = read(phone, first_name, last_name, company, by_phone, by_name, exclude_id, limit)
    name = (first_name.casefold(), last_name.casefold(), company.casefold())
    found = []
    for lead in leads:
        reasons = []
        if by_phone and lead.phone == phone:
            reasons.append("same phone")
        if (
            by_name
            and (lead.first_name.casefold(), lead.last_name.casefold(), lead.company.casefold()) == name
        ):
            reasons.append("same name and company")
        found.append(LikelyDuplicate(lead=lead, reasons=reasons))
    return found


def _duplicates_orm(
    phone, first_name, last_name, company, by_phone, by_name, exclude_id, limit
) -> list[Lead]:
    match = Q()
    if by_phone:
        match |= Q(phone=phone)
    if by_name:
        match |= Q(company__iexact=company, last_name__iexact=last_name, first_name__iexact=first_name)
    rows = Lead.objects.live().filter(match)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    return list(rows.order_by("-created_at", "-id").only(*DUPLICATE_COLUMNS)[:limit])


# `_duplicates_orm`'s query as the ORM writes it on PostgreSQL (the same plan: the
# `lead_phone` and `lead_company_name_ci` indexes), written once for each way a lead can
# match: building it on every create cost a millisecond of CPU, a third of an API create's.
DUPLICATE_COLUMNS = ("id", "first_name", "last_name", "email", "phone", "company")
_SAME_PHONE = '"phone" = %s'
_SAME_NAME = (
    '(UPPER("company"::text) = UPPER(%s) AND UPPER("first_name"::text) = UPPER(%s) '
    'AND UPPER("last_name"::text) = UPPER(%s))'
)
_NOT_EXCLUDED = ' AND NOT ("id" = %s)'
_DUPLICATES_SQL = {
    (by_phone, by_name, exclude): (
        f"SELECT {', '.join(DUPLICATE_COLUMNS)} FROM leads_lead "  # noqa: S608 - constants only
        f'WHERE "merged_into_id" IS NULL AND ({" OR ".join(match)}){_NOT_EXCLUDED if exclude else ""} '
        'ORDER BY "created_at" DESC, "id" DESC LIMIT %s'
    )
    for by_phone, by_name, match in (
        (True, False, [_SAME_PHONE]),
        (False, True, [_SAME_NAME]),
        (True, True, [_SAME_PHONE, _SAME_NAME]),
    )
    for exclude in (False, True)
}


def _duplicates_sql(
    phone, first_name, last_name, company, by_phone, by_name, exclude_id, limit
) -> list[Lead]:
    params = [phone] if by_phone else []
    if by_name:
        params += [company, first_name, last_name]
    if exclude_id is not None:
        params.append(exclude_id)
    using = router.db_for_read(Lead)
    with connections[using].cursor() as cursor:
        cursor.execute(_DUPLICATES_SQL[by_phone, by_name, exclude_id is not None], [*params, limit])
        return [Lead.from_db(using, DUPLICATE_COLUMNS, row) for row in cursor.fetchall()]


def duplicate_lookup(values: dict[str, Any]) -> dict[str, str]:
    """The arguments of `likely_duplicates` from a dict of profile values."""
    return {name: values.get(name) or "" for name in ("phone", "first_name", "last_name", "company")}


# --- merge ------------------------------------------------------------------------------------


def find_lead(text: str) -> Lead | None:
    """A lead by id (digits) or by email (normalised, following a merge to its survivor)."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit():
        return Lead.objects.filter(pk=int(text)).first()
    return lead_find_duplicate(email=text)


def _stage_at(at: dt.datetime):
    """For each lead row, the to_stage of its last stage-bearing event at or before `at`."""
    return Subquery(
        LeadEvent.objects.filter(lead=OuterRef("pk"), occurred_at__lte=at)
        .exclude(to_stage="")
        .order_by("-occurred_at", "-id")
        .values("to_stage")[:1]
    )


def leads_as_of(at: dt.datetime, leads=None):
    """Live leads (of `leads`, when given) that existed at `at`, annotated with `stage_then`."""
    base = Lead.objects.live() if leads is None else Lead.objects.live().filter(pk__in=leads.values("pk"))
    return base.filter(created_at__lte=at).annotate(stage_then=_stage_at(at)).exclude(stage_then=None)


def stage_as_of(at: dt.datetime) -> dict[int, str]:
    """Each lead's stage at `at`, from the event log alone."""
    return dict(leads_as_of(at).values_list("pk", "stage_then"))


def funnel_as_of(at: dt.datetime, leads=None) -> dict[str, int]:
    """How many leads were in each stage at `at` (every stage present, zeros included)."""
    counts = dict.fromkeys(Stage.values, 0)
    counts.update(
        leads_as_of(at, leads)
        .order_by()
        .values_list("stage_then")
        .annotate(n=Count("pk"))
        .values_list("stage_then", "n")
    )
    return counts


User = get_user_model()

HOME_LIST_LIMIT = 25


def week_start(now: dt.datetime | None = None) -> dt.datetime:
    """Monday 00:00 of the organisation's current ISO week: the same week for every viewer,
    whatever their own time zone (DESIGN: reports' weeks are the organisation's)."""
    return week_range(monday_of(now or timezone.now()))[0]


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


@dataclass(frozen=True)
class Today:
    """A rep's day at a glance: deadlines already passed, deadlines falling later today
    (both of their running clocks, responses and follow-ups), and hand-offs waiting."""

    overdue: int
    due_today: int
    waiting: int


def rep_today(user, now: dt.datetime | None = None) -> Today:
    """What the rep's day holds, in their own zone's today. Two queries."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    midnight = timezone.make_aware(
        dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0)), local.tzinfo
    )
    open_deadline = Q(breached_at__isnull=True)
    # A response clock breached keeps running and is still owed: it counts as overdue.
    still_owed = Q(breached_at__isnull=False, obligation=Obligation.RESPONSE, lead__stage=Stage.MQL)
    counts = (
        Clock.objects.running()
        .filter(owner=user, lead__stage__in=[Stage.MQL, Stage.SQL])
        .aggregate(
            overdue=Count("id", filter=(open_deadline & Q(due_at__lte=now)) | still_owed),
            due_today=Count("id", filter=open_deadline & Q(due_at__gt=now, due_at__lt=midnight)),
        )
    )
    waiting = Lead.objects.live().filter(owner=user, stage=Stage.MQL).count()
    return Today(counts["overdue"], counts["due_today"], waiting)


def _follow_up(field: str):
    """A field of the lead's latest follow-up clock (the one of its current acceptance)."""
    return Subquery(
        Clock.objects.filter(lead=OuterRef("pk"), obligation=Obligation.FOLLOW_UP)
        .order_by("-started_at", "-id")
        .values(field)[:1]
    )


def rep_sqls(user) -> QuerySet[Lead]:
    """My SQLs, every one (the page pages them), the most urgent follow-up first: overdue,
    then by deadline, then those whose follow-up is done. Each with its touch count and last
    touch, and its follow-up's progress: touches since acceptance of those the policy asks
    for, the deadline, and whether it was met or missed."""
    counted = (
        Touch.objects.filter(lead=OuterRef("pk"), occurred_at__gte=OuterRef("follow_up_started"))
        .order_by()
        .values("lead")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Lead.objects.live()
        .filter(owner=user, stage=Stage.SQL)
        .select_related("campaign")
        .annotate(
            touch_count=Count("touches"),
            last_touch=Max("touches__occurred_at"),
            follow_up_due=_running_clock_due(Obligation.FOLLOW_UP),
            follow_up_started=_follow_up("started_at"),
            follow_up_met=_follow_up("met_at"),
            follow_up_breached=_follow_up("breached_at"),
            follow_up_deadline=_follow_up("due_at"),
            touches_needed=Coalesce(
                _follow_up("policy__follow_up_touches"), Value(settings.SLA_FOLLOW_UP_TOUCHES)
            ),
        )
        .annotate(touches_done=Coalesce(Subquery(counted), Value(0)))
        .order_by(F("follow_up_due").asc(nulls_last=True), "stage_entered_at", "id")
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
    """The team's clocks breached this week: due this week (a breach counts at its due time,
    as SLA compliance counts it, even when it was detected later)."""
    return (
        Clock.objects.filter(
            owner__membership__team=team, breached_at__isnull=False, due_at__gte=week_start()
        )
        .select_related("lead", "owner")
        .order_by("-due_at")
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


def lead_consent_records(lead: Lead | int) -> QuerySet[ConsentRecord]:
    """Every answer the person gave on marketing contact, as recorded, the latest recorded
    first, with who recorded it (the `consent_lead_recorded` index serves it)."""
    lead_id = lead.pk if isinstance(lead, Lead) else lead
    return (
        ConsentRecord.objects.filter(lead_id=lead_id)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
    )


def lead_timeline(lead: Lead, *, notes: bool = True) -> QuerySet[LeadEvent]:
    """The lead's events and those of every lead merged into it, in time order; without
    its notes when `notes` is false (a viewer who may not read them: `may_read_notes`).

    One `lead_id IN (the lead and the leads merged into it)`: the index on the event's lead
    serves it. (`lead = x OR lead IN (…)` cannot use that index and reads every event.)"""
    leads = Lead.objects.filter(Q(pk=lead.pk) | Q(merged_into=lead)).values("pk")
    events = LeadEvent.objects.filter(lead__in=leads)
    if not notes:
        events = events.exclude(type=EventType.NOTED)
    return events.select_related("actor", "reason", "lead").order_by("occurred_at", "id")


def may_read_notes(user) -> bool:
    """Notes are marketing's and sales' working talk (they may name people, budgets, what
    a customer said): read, written and mentioned by people with a product role only."""
    return has_product_role(user)


def lead_notes(lead: Lead) -> QuerySet[LeadEvent]:
    """The notes on the lead and on every lead merged into it, oldest first."""
    return lead_timeline(lead).filter(type=EventType.NOTED)


# --- marketing's work queue ------------------------------------------------------------------------

# A lead marketing has not handed off yet is "new" for this many days after it came in.
NEW_LEAD_DAYS = 30
QUEUE_KINDS = ("new", "referral", "recycled")
# Each queue's order, newest first: what a keyset page sorts by.
QUEUE_ORDER = {"new": "-created_at", "referral": "-created_at", "recycled": "-stage_entered_at"}

_REFERRAL = Q(source=Source.REFERRAL) | Q(referrer__isnull=False)


def queue_new(now: dt.datetime | None = None) -> QuerySet[Lead]:
    """New leads: in stage `lead`, never handed off (no hand-off, never sent back), came in
    during the last NEW_LEAD_DAYS days, and not referrals (those have their own list)."""
    since = (now or timezone.now()) - dt.timedelta(days=NEW_LEAD_DAYS)
    return (
        Lead.objects.live()
        .filter(stage=Stage.LEAD, recycle_count=0, qualified_at__isnull=True, created_at__gte=since)
        .exclude(_REFERRAL)
        .select_related("campaign")
        .order_by("-created_at", "-id")
    )


def queue_referrals() -> QuerySet[Lead]:
    """Referrals still with marketing: a referral source or a referring colleague, stage
    `lead`, never sent back by sales (a referral sales sent back is in the recycled list,
    with sales' reason). However old: a colleague's tip waits until marketing acts."""
    return (
        Lead.objects.live()
        .filter(_REFERRAL, stage=Stage.LEAD, recycle_count=0)
        .select_related("campaign", "referrer")
        .order_by("-created_at", "-id")
    )


def marketing_queue(kind: str, *, reason_id: int | None = None, now: dt.datetime | None = None):
    """One list of marketing's work queue (QUEUE_KINDS). Each lead is in one list at most:
    sent back → recycled; else a referral → referral; else new if it is new."""
    if kind == "recycled":
        return recycled_queue(reason_id=reason_id)
    if kind == "referral":
        return queue_referrals()
    return queue_new(now)


def queue_counts(*, now: dt.datetime | None = None, cap: int = COUNT_CAP) -> dict[str, tuple[int, bool]]:
    """{kind: (how many, whether the count stopped at `cap`)} for each list, counted as the
    lists' pages count (each up to `cap` + 1 rows, so a huge list costs what `cap` costs):
    the three bounded counts in one query."""
    using = router.db_for_read(Lead)
    parts, params = [], []
    for kind in QUEUE_KINDS:
        # The recycled list without its feedback columns: a count needs none of them.
        rows = Lead.objects.recycled() if kind == "recycled" else marketing_queue(kind, now=now)
        sql, part_params = rows.order_by().values("pk")[: cap + 1].query.get_compiler(using=using).as_sql()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS {kind}_rows)")  # noqa: S608 - the ORM's SQL
        params.extend(part_params)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        found = cursor.fetchone()
    return {kind: (min(n, cap), n > cap) for kind, n in zip(QUEUE_KINDS, found, strict=True)}


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
        start, end = week_range(week_of)
        rows = rows.filter(occurred_at__gte=start, occurred_at__lt=end)
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


MIGRATED_FROM = {"hubspot": "HubSpot", "salesforce": "Salesforce", "smarketing": "Smarketing"}


def migrated_words(migrated: dict) -> str:
    """ "migrated from HubSpot (row 12 of import 3)": a step of the history a migration
    brought (docs/migration.md)."""
    system = MIGRATED_FROM.get(migrated.get("system"), migrated.get("system") or "another CRM")
    return f"migrated from {system} (row {migrated.get('row')} of import {migrated.get('import_job')})"


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else "System"


def lead_story(
    lead: Lead, events: list[LeadEvent], *, engagements: list, clocks: list, private: bool = False
) -> list[TimelineEntry]:
    """Everything that happened to a lead — stage changes, assignments, engagements,
    touches, SLA warnings and breaches — oldest first. The page has read the events
    (`lead_timeline`), engagements and clocks (with their owners) for its own sections:
    they are given; the touches are one query, whatever the length. `private`: the viewer
    is not shown contact details and amounts (`roles.sees_contact_details`)."""
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
        if (amount := event_data_shown(event.data, private=private).get("amount")) is not None:
            detail.append(f"amount {formats.money(amount)}")
        if event.reason_id:
            detail.append(f"reason: {event.reason.label}")
        if event.type == EventType.NOTED and event.data.get("mentions"):
            detail.append("mentioned " + ", ".join(f"@{m['username']}" for m in event.data["mentions"]))
        if event.lead_id != lead.pk:
            detail.append(f"on merged lead {event.lead_id if private else event.lead.email}")
        if migrated := event.data.get("migrated"):
            detail.append(migrated_words(migrated))
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

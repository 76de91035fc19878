"""Starting, meeting, cancelling and enforcing SLA clocks.

Clock changes are called by the lead services inside their transaction. Enforcement is
idempotent by the data: a warning or a breach is recorded by an UPDATE of due rows the
run has locked, so only one worker records it, however many run at once; a run handles
a whole batch of due clocks with a constant number of queries.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Model, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from sla import tasks
from sla.calendar import BusinessCalendar, add_business_time, business_time_between
from sla.models import BreachAction, Clock, EnforcementRun, Obligation, SlaPolicy, TeamCalendar
from smarketing.core import bulk
from smarketing.core.lookups import Values, array_literal
from smarketing.core.queue import enqueue
from smarketing.notifications.models import NotificationKind
from smarketing.notifications.services import Message, notify_many
from smarketing.org.models import Team


def calendar_for(user) -> BusinessCalendar:
    """The business calendar of the user's team (the organisation's zone, Monday to Friday
    9 to 5, when the team has set none)."""
    membership = getattr(user, "membership", None)
    if membership is None:
        return BusinessCalendar(time_zone=settings.SMARKETING_TIME_ZONE)
    return calendar_of_team(membership.team)


def calendar_of_team(team) -> BusinessCalendar:
    return calendar_from(team, TeamCalendar.objects.filter(team=team).prefetch_related("closures").first())


def calendars_of_teams(team_ids) -> dict[int | None, BusinessCalendar]:
    """The business calendars of several teams by id, in three queries (None: people in no
    team, who work to the organisation's default calendar, as `calendar_for` says)."""
    ids = {pk for pk in team_ids if pk is not None}
    stored = {c.team_id: c for c in TeamCalendar.objects.filter(team_id__in=ids).prefetch_related("closures")}
    calendars = {
        team.pk: calendar_from(team, stored.get(team.pk)) for team in Team.objects.filter(pk__in=ids)
    }
    calendars[None] = BusinessCalendar(time_zone=settings.SMARKETING_TIME_ZONE)
    return calendars


def calendars_of_users(users) -> dict[int, BusinessCalendar]:
    """Each user's business calendar by user id (`calendar_for`), their teams' read together
    (three queries): users loaded with their membership."""
    teams = {user.pk: getattr(getattr(user, "membership", None), "team_id", None) for user in users}
    by_team = calendars_of_teams(set(teams.values()))
    return {pk: by_team[team] for pk, team in teams.items()}


def calendar_from(team, stored: TeamCalendar | None) -> BusinessCalendar:
    """The business calendar of `team` from its stored settings (already loaded, e.g.
    through select_related / prefetch_related on a list of teams), or the defaults."""
    if stored is None:
        return BusinessCalendar(time_zone=team.time_zone)
    return BusinessCalendar(
        time_zone=team.time_zone,
        day_hours=tuple(
            (int(day), dt.time.fromisoformat(opens), dt.time.fromisoformat(closes))
            for day, (opens, closes) in sorted(stored.hours.items())
        ),
        closed_dates=frozenset(c.date for c in stored.closures.all()),
        holiday_country=stored.holiday_country,
        holiday_subdivision=stored.holiday_subdivision,
    )


def _policy_matches(policy: SlaPolicy, lead: Model, owner) -> bool:
    if policy.min_score is not None and lead.score < policy.min_score:
        return False
    if policy.max_score is not None and lead.score > policy.max_score:
        return False
    if policy.sources and lead.source not in policy.sources:
        return False
    if policy.campaign_id is not None and lead.campaign_id != policy.campaign_id:
        return False
    if policy.team_id is not None:
        membership = getattr(owner, "membership", None)
        if membership is None or membership.team_id != policy.team_id:
            return False
    codes = policy.country_codes
    return not codes or (lead.country or "").upper() in codes


def policy_for(lead: Model, owner) -> SlaPolicy | None:
    """The first active policy (by priority) that matches the lead and its owner."""
    return next(
        (p for p in SlaPolicy.objects.filter(is_active=True) if _policy_matches(p, lead, owner)), None
    )


def _schedule(
    started_at: dt.datetime, due_at: dt.datetime, percents: list[int], calendar: BusinessCalendar
) -> list[dt.datetime]:
    """When a clock's warnings fall: at W% of its *business* time (a clock of 8 business
    hours warns at 50% when 4 business hours have passed), never in the night or over a
    weekend or holiday. The span is the business time from start to due in the calendar
    the deadline was computed in (for a snoozed clock, its moved deadline)."""
    span = business_time_between(started_at, due_at, calendar)
    return [add_business_time(started_at, span * p / 100, calendar) for p in sorted(percents)]


def _start(
    *, obligation: str, lead: Model, owner, started_at: dt.datetime, duration: dt.timedelta, policy
) -> Clock:
    calendar = calendar_for(owner)
    due_at = add_business_time(started_at, duration, calendar)
    percents = list(policy.warn_percents) if policy is not None else [settings.SLA_WARN_AT_PERCENT]
    schedule = _schedule(started_at, due_at, percents, calendar)
    return Clock.objects.create(
        obligation=obligation,
        lead=lead,
        owner=owner,
        policy=policy,
        started_at=started_at,
        due_at=due_at,
        warn_percents=sorted(percents),
        warn_at=schedule[0] if schedule else None,
    )


def response_hours(policy) -> dt.timedelta:
    hours = policy.response_hours if policy is not None else settings.SLA_RESPONSE_BUSINESS_HOURS
    return dt.timedelta(hours=float(hours))


def follow_up_span(policy) -> dt.timedelta:
    """D business days, counted as D working days of 8 hours."""
    days = policy.follow_up_days if policy is not None else settings.SLA_FOLLOW_UP_BUSINESS_DAYS
    return dt.timedelta(hours=8 * float(days))


def clock_start_response(*, lead: Model, owner, started_at: dt.datetime) -> Clock:
    """Sales must respond (accept or reject) within the policy's business hours."""
    policy = policy_for(lead, owner)
    return _start(
        obligation=Obligation.RESPONSE,
        lead=lead,
        owner=owner,
        started_at=started_at,
        duration=response_hours(policy),
        policy=policy,
    )


def clock_start_follow_up(*, lead: Model, owner, started_at: dt.datetime) -> Clock:
    """After acceptance: at least N touches within D business days."""
    policy = policy_for(lead, owner)
    return _start(
        obligation=Obligation.FOLLOW_UP,
        lead=lead,
        owner=owner,
        started_at=started_at,
        duration=follow_up_span(policy),
        policy=policy,
    )


def clocks_start_many(starts: list[tuple[str, Model, Any]], *, started_at: dt.datetime) -> int:
    """Start many clocks at one moment (a migration's open MQLs and SQLs at go-live), each
    as `clock_start_response` / `clock_start_follow_up` would: `starts` holds (obligation,
    lead, owner) — the lead needs only what policies read (`pk`, score, source, campaign,
    country). The policies are read once and each (calendar, duration, warnings) computed
    once, then the clocks are written in one statement. Returns how many. tests/intake
    compares it with the one-at-a-time starts."""
    policies = list(SlaPolicy.objects.filter(is_active=True))
    calendars = calendars_of_users({owner.pk: owner for _, _, owner in starts}.values())
    schedules: dict[tuple, tuple[dt.datetime, dt.datetime | None]] = {}
    rows = []
    for obligation, lead, owner in starts:
        policy = next((p for p in policies if _policy_matches(p, lead, owner)), None)
        calendar = calendars[owner.pk]
        duration = response_hours(policy) if obligation == Obligation.RESPONSE else follow_up_span(policy)
        percents = sorted(policy.warn_percents) if policy is not None else [settings.SLA_WARN_AT_PERCENT]
        key = (id(calendar), duration, tuple(percents))
        if key not in schedules:
            due_at = add_business_time(started_at, duration, calendar)
            schedule = _schedule(started_at, due_at, percents, calendar)
            schedules[key] = (due_at, schedule[0] if schedule else None)
        due_at, warn_at = schedules[key]
        rows.append(
            {
                "obligation": obligation,
                "lead_id": lead.pk,
                "owner_id": owner.pk,
                "policy_id": policy.pk if policy is not None else None,
                "due_at": due_at,
                "warn_percents": list(percents),
                "warn_at": warn_at,
            }
        )
    same = {**bulk.defaults(Clock), "started_at": started_at}
    for name in ("id", *rows[0]) if rows else ():
        same.pop(name, None)
    bulk.insert_rows(Clock, rows, same)
    return len(rows)


def business_seconds(since: dt.datetime, met_at: dt.datetime, calendar: BusinessCalendar) -> int:
    """A met clock's business time, from `since` to `met_at` (not before it) in `calendar`,
    in whole seconds: what speed to lead reports."""
    return int(business_time_between(since, max(met_at, since), calendar).total_seconds())


def response_measured(
    *, owner, handed_off_at: dt.datetime, responded_at: dt.datetime, calendars: dict
) -> dict[str, Any]:
    """A response made in another CRM, as a clock row measured the way Smarketing measures
    its own (`_meet`): met when the lead was answered, with the business time since the
    hand-off in the owner's calendar (`calendars` caches them by user id). Speed to lead
    only: nothing was agreed there, so it is `measured_only`, due when it was met, and SLA
    compliance leaves it out (docs/migration.md). `clocks_record_resolved` writes it."""
    if owner.pk not in calendars:
        calendars[owner.pk] = calendar_for(owner)
    met_at = max(responded_at, handed_off_at)
    return {
        "obligation": Obligation.RESPONSE,
        "owner_id": owner.pk,
        "started_at": handed_off_at,
        "due_at": met_at,
        "met_at": met_at,
        "breached_at": None,
        "cancelled_at": None,
        "business_seconds": business_seconds(handed_off_at, met_at, calendars[owner.pk]),
        "measured_only": True,
    }


def clocks_record_resolved(rows: list[dict[str, Any]]) -> int:
    """Record clocks that ran and were resolved in the installation a migrated Smarketing
    export came from (docs/migration.md, "No SLA clock runs in the past"): each row holds
    the lead, obligation, owner, started, due, met or breached (and cancelled: a breached
    clock still waiting there ends at go-live) and the business seconds, written as they
    were. None of them runs here: no warning, breach or escalation can come of them.
    Returns how many."""
    if not rows:
        return 0
    for row in rows:
        if row.get("met_at") is None and (row.get("breached_at") is None or row.get("cancelled_at") is None):
            raise ValueError("Only a met clock, or a breached one that ended, is recorded as it was.")
    same = bulk.defaults(Clock)
    for name in ("id", *rows[0]):
        same.pop(name, None)
    bulk.insert_rows(Clock, rows, same)
    return len(rows)


def _running_locked(lead: Model, obligation: str) -> Clock | None:
    """The lead's running clock of the obligation, locked: an enforcement run that is
    recording its breach right now is waited for, and its breach is then read, not
    overwritten; a run that comes later finds the clock met and leaves it alone."""
    return (
        Clock.objects.running()
        .select_for_update(no_key=True, of=("self",))
        .filter(lead=lead, obligation=obligation)
        .first()
    )


def clock_meet_response(
    *, lead: Model, met_at: dt.datetime, handed_off_at: dt.datetime | None = None
) -> Clock | None:
    """Accept or reject meets the running response clock; met late is recorded as a breach.

    Its business time (speed to lead) runs from the hand-off, `handed_off_at`: the same
    moment as the clock's start, except after an SLA reassignment, when the fresh clock
    started later but the lead has waited since it was handed off (DESIGN.md)."""
    clock = _running_locked(lead, Obligation.RESPONSE)
    if clock is None:
        return None
    since = min(handed_off_at, clock.started_at) if handed_off_at is not None else clock.started_at
    _meet(clock, met_at, since=since)
    if lead.stage == "sql":
        clock_start_follow_up(lead=lead, owner=lead.owner, started_at=met_at)
    return clock


def _meet(clock: Clock, met_at: dt.datetime, *, since: dt.datetime | None = None) -> None:
    """Record the clock met at `met_at`, with the business time from `since` (its start by
    default) in its owner's calendar."""
    since = since or clock.started_at
    clock.met_at = met_at
    clock.business_seconds = business_seconds(since, met_at, calendar_for(clock.owner))
    changes = {"met_at": met_at, "business_seconds": clock.business_seconds}
    if met_at > clock.due_at:
        # Met late is a breach; one recorded already (by enforcement, when it fell due) stays.
        clock.breached_at = clock.breached_at or met_at
        changes["breached_at"] = Coalesce("breached_at", Value(met_at))
    Clock.objects.filter(pk=clock.pk).update(**changes)


def clock_touch_logged(*, lead: Model, touch) -> Clock | None:
    """The Nth touch since acceptance meets the follow-up clock."""
    clock = _running_locked(lead, Obligation.FOLLOW_UP)
    if clock is None:
        return None
    touches = lead.touches.filter(occurred_at__gte=clock.started_at).count()
    needed = clock.policy.follow_up_touches if clock.policy is not None else settings.SLA_FOLLOW_UP_TOUCHES
    if touches >= needed:
        _meet(clock, max(touch.occurred_at, clock.started_at))
    return clock


# The obligation that is the lead's while it is in a stage: a breach of any other (a
# response clock of a lead accepted meanwhile) no longer calls for a breach action.
OBLIGATION_OF_STAGE = {"mql": Obligation.RESPONSE, "sql": Obligation.FOLLOW_UP}


def clock_breach_stands(*, clock_id: int | None, lead: Model) -> bool:
    """May a breach action (reassign, return) still act on the lead for this clock? Only
    while the clock is the lead's and its obligation is still the lead's: a response clock
    while the lead is an MQL, a follow-up clock while it is an SQL."""
    if clock_id is None:
        return True
    obligation = Clock.objects.filter(pk=clock_id, lead=lead).values_list("obligation", flat=True).first()
    return obligation is not None and obligation == OBLIGATION_OF_STAGE.get(lead.stage)


def clocks_cancel(*, lead: Model, at: dt.datetime) -> int:
    """Stop every running clock of the lead (disqualified, lost, won, merged)."""
    return Clock.objects.running().filter(lead=lead).update(cancelled_at=at)


def clocks_transfer(*, lead: Model, new_owner) -> int:
    """Running clocks follow a reassigned lead, keeping their deadline."""
    return Clock.objects.running().filter(lead=lead).update(owner=new_owner)


def clocks_restart(*, lead: Model, new_owner, at: dt.datetime) -> int:
    """After an SLA reassignment: the first owner's clocks end where they are (a breach
    stays on their record) and the new owner gets fresh clocks under their own policy —
    a follow-up one too when the SQL's follow-up clock ended at its breach."""
    running = list(Clock.objects.running().filter(lead=lead))
    Clock.objects.filter(pk__in=[c.pk for c in running]).update(cancelled_at=at)
    obligations = {clock.obligation for clock in running}
    if lead.stage == "sql":
        obligations.add(Obligation.FOLLOW_UP)
    for obligation in sorted(obligations):
        starter = clock_start_response if obligation == Obligation.RESPONSE else clock_start_follow_up
        starter(lead=lead, owner=new_owner, started_at=at)
    return len(obligations)


def clock_snooze(*, lead: Model, until: dt.date, now: dt.datetime) -> tuple[Clock, dt.datetime]:
    """Move the running follow-up clock's deadline: the business time that was left now
    starts counting on `until` (the day agreed with the lead). Returns the clock and its
    old deadline. The caller (the lead service) checks the person and writes the event."""
    clock = (
        Clock.objects.running().select_for_update().filter(lead=lead, obligation=Obligation.FOLLOW_UP).first()
    )
    if clock is None:
        raise ValueError("no running follow-up clock")
    calendar = calendar_for(clock.owner)
    left = max(business_time_between(now, clock.due_at, calendar), dt.timedelta(0))
    resume = dt.datetime.combine(until, dt.time(0), tzinfo=calendar.tz)
    old_due = clock.due_at
    clock.due_at = add_business_time(resume, left, calendar)
    schedule = [
        t for t in _schedule(clock.started_at, clock.due_at, clock.warn_percents, calendar) if t > now
    ]
    clock.warn_at = schedule[0] if clock.breached_at is None and schedule else None
    clock.warnings_sent = len(clock.warn_percents) - len(schedule)
    clock.snoozed_until = until
    clock.save(update_fields=["due_at", "warn_at", "warnings_sent", "snoozed_until"])
    return clock, old_due


# --- enforcement -----------------------------------------------------------------------------
#
# One run handles a bounded batch of due clocks as sets, in one transaction: per kind
# (breach, warning), one query finds the due clocks through their partial index, locks
# them and loads what the messages need; one UPDATE records them. Then one INSERT
# creates the notifications, and their emails and the breach actions are queued as one
# message each after commit.
#
# Exactly once: the due-rows query locks the rows it returns (FOR NO KEY UPDATE) and
# PostgreSQL re-checks the due condition on the latest version of a row it had to wait
# for, so a clock that another run warned or breached, or that its rep met, meanwhile is
# left out. The UPDATEs repeat the due condition, and a run whose UPDATE does not match
# every row it selected records nothing (it cannot happen while the rows are locked; on
# SQLite, one writing transaction runs at a time). A second run at the same time waits
# for the first and finds nothing left to do.

# What a warning or breach message needs to know about its clock, loaded with the due rows.
MESSAGE_FIELDS = (
    "id",
    "obligation",
    "due_at",
    "lead_id",
    "lead__first_name",
    "lead__last_name",
    "lead__email",
    "lead__company",
    "owner_id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "owner__membership__team__manager_id",
    "policy_id",
    "policy__on_breach",
    "policy__escalate_to_manager",
)
# … and what the next warning is computed from (the owner's team: its business calendar).
SCHEDULE_FIELDS = ("started_at", "warn_percents", "warnings_sent", "owner__membership__team_id")


class EnforcementConflict(RuntimeError):
    """A locked due clock changed under the run: nothing of the run is recorded."""


def _due_locked(due, order: str, limit: int, fields=MESSAGE_FIELDS) -> list[dict]:
    """A bounded batch of the due clocks, locked for this transaction, in deadline order
    (every run locks in the same order, so two runs cannot deadlock)."""
    return list(due.select_for_update(no_key=True, of=("self",)).order_by(order).values(*fields)[:limit])


def _recorded(updated: int, clocks: list[dict]) -> None:
    if updated != len(clocks):
        raise EnforcementConflict(f"{len(clocks)} clocks were due, {updated} still were")


def _breaches_record(now: dt.datetime, limit: int) -> list[dict]:
    """Record the breach of each due clock of the batch; returns the clocks.

    A response clock breached keeps running: the MQL still needs its answer, and when it
    comes it is recorded as met late (speed to lead). A follow-up clock breached is over:
    its touches were not made in time, so it stops there (`cancelled_at` = the breach)
    and a later touch does not turn it into a met clock."""
    clocks = _due_locked(Clock.objects.breach_due(now), "due_at", limit)
    ids = [clock["id"] for clock in clocks]
    recorded = (
        Clock.objects.breach_due(now)
        .filter(pk__any=Values(ids))
        .update(
            breached_at=now,
            warn_at=None,
            cancelled_at=Case(When(obligation=Obligation.FOLLOW_UP, then=Value(now)), default=None),
        )
    )
    _recorded(recorded, clocks)
    return clocks


def _warnings_record(now: dt.datetime, limit: int) -> list[dict]:
    """Record the next warning of each clock of the batch whose warning time came; returns
    the clocks, each with `sent`, the warning's place in the clock's schedule."""
    clocks = _due_locked(Clock.objects.warning_due(now), "warn_at", limit, MESSAGE_FIELDS + SCHEDULE_FIELDS)
    calendars = calendars_of_teams({clock["owner__membership__team_id"] for clock in clocks})
    changes = []
    for clock in clocks:
        percents = clock["warn_percents"] or [settings.SLA_WARN_AT_PERCENT]
        calendar = calendars.get(clock["owner__membership__team_id"], calendars[None])
        schedule = _schedule(clock["started_at"], clock["due_at"], percents, calendar)
        clock["sent"] = clock["warnings_sent"]
        # Warnings already overtaken by time (after an outage) are not sent one after another.
        later = [t for t in schedule[clock["sent"] + 1 :] if t > now]
        changes.append((clock["id"], len(schedule) - len(later), later[0] if later else None))
    if changes:
        _recorded(_warnings_update(now, changes), clocks)
    return clocks


def _warnings_update(now: dt.datetime, changes: list[tuple[int, int, dt.datetime | None]]) -> int:
    """Set each clock's warnings sent and next warning time, (id, sent, warn at), in one
    UPDATE of the clocks still due for a warning; returns how many it updated."""
    ids = [pk for pk, _, _ in changes]
    if connection.vendor == "postgresql":
        # The new values joined as arrays (one literal each): a CASE of hundreds of branches
        # costs more than the update.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE sla_clock AS c SET warnings_sent = v.sent, warn_at = v.warn_at, warned_at = %s "
                "FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[]) AS v(id, sent, warn_at) "
                # … of the clocks still due for a warning, as ClockQuerySet.warning_due says
                "WHERE c.id = v.id AND c.met_at IS NULL AND c.cancelled_at IS NULL AND c.breached_at IS NULL "
                "AND c.warn_at <= %s",
                [
                    now,
                    array_literal(ids),
                    array_literal(sent for _, sent, _ in changes),
                    array_literal(at for _, _, at in changes),
                    now,
                ],
            )
            return cursor.rowcount
    prep = Clock._meta.get_field("warn_at").get_db_prep_save
    whens = " ".join(["WHEN %s THEN %s"] * len(changes))
    return (
        Clock.objects.warning_due(now)
        .filter(pk__in=ids)
        .update(
            warnings_sent=RawSQL(  # noqa: S611 - placeholders only
                f"CASE id {whens} ELSE warnings_sent END", [v for pk, sent, _ in changes for v in (pk, sent)]
            ),
            warn_at=RawSQL(  # noqa: S611
                f"CASE id {whens} ELSE warn_at END",
                [v for pk, _, at in changes for v in (pk, prep(at, connection))],
            ),
            warned_at=now,
        )
    )


def _messages(clock: dict, kind: str, *, also_manager: bool, key: str, tz, base_url: str) -> list[Message]:
    """The messages of a clock's warning or breach: to its owner, and to the owner's
    manager when the breach escalates. Times are shown in `tz`; links start `base_url`."""

    # The lead's and the owner's names as str(lead) and get_full_name() give them.
    lead = f"{clock['lead__first_name']} {clock['lead__last_name']}".strip() or clock["lead__email"]
    what = _obligation_word(clock["obligation"])
    due = f"{clock['due_at'].astimezone(tz):%a %d %b %H:%M}"
    if kind == NotificationKind.SLA_WARNING:
        subject = f"SLA: {what} for {lead} is due {due}"
    else:
        subject = f"SLA breached: {what} for {lead} was due {due}"
    owner = f"{clock['owner__first_name']} {clock['owner__last_name']}".strip() or clock["owner__username"]
    body = (
        f"{subject}.\n\nLead: {lead} <{clock['lead__email']}>, {clock['lead__company'] or 'no company'}.\n"
        f"Owner: {owner}.\n"
        f"Open the lead: {base_url}/leads/{clock['lead_id']}/"
    )
    recipients = [clock["owner_id"]]
    if also_manager and clock["owner__membership__team__manager_id"]:
        recipients.append(clock["owner__membership__team__manager_id"])
    return [Message(r, kind, clock["lead_id"], key, subject, body) for r in recipients]


@functools.cache
def _obligation_word(value: str) -> str:
    """What a message calls an obligation: its label, lower case ("response")."""
    return str(Obligation(value).label).lower()


def _breach_action(clock: dict) -> list | None:
    """What the policy does on this breach besides telling people: [task, lead, owner, clock]."""
    action = clock["policy__on_breach"] if clock["policy_id"] is not None else BreachAction.NOTIFY
    if action == BreachAction.REASSIGN:
        return ["sla_reassign", clock["lead_id"], clock["owner_id"], clock["id"]]
    if action == BreachAction.RETURN and clock["obligation"] == Obligation.RESPONSE:
        return ["sla_return", clock["lead_id"], clock["owner_id"], clock["id"]]
    return None


def _tell(breached: list[dict], warned: list[dict]) -> None:
    """Notify about the batch's breaches and warnings (one INSERT) and queue the breach
    actions after commit (one message)."""

    messages, actions = [], []
    tz, base_url = timezone.get_current_timezone(), settings.SMARKETING_BASE_URL
    for clock in breached:
        escalate = clock["policy__escalate_to_manager"] if clock["policy_id"] is not None else True
        key = f"clock:{clock['id']}"
        messages += _messages(
            clock, NotificationKind.SLA_BREACH, also_manager=escalate, key=key, tz=tz, base_url=base_url
        )
        if action := _breach_action(clock):
            actions.append(action)
    for clock in warned:
        key = f"clock:{clock['id']}:warn:{clock['sent']}"
        messages += _messages(
            clock, NotificationKind.SLA_WARNING, also_manager=False, key=key, tz=tz, base_url=base_url
        )
    notify_many(messages)
    if actions:
        transaction.on_commit(lambda: _queue("sla_breach_actions", actions))


def _queue(name: str, *args) -> None:
    enqueue(getattr(tasks, name), *args)


def sla_enforce(*, now: dt.datetime | None = None, batch_size: int | None = None) -> EnforcementRun:
    """Record every warning and breach that has fallen due, each exactly once, at most
    `batch_size` of each kind per run (`more_due` says when a full batch was due).

    A deadline that passed while no worker ran is recorded on the next run: `due_at`
    keeps the true deadline and `breached_at` says when the breach was detected.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.SLA_ENFORCE_BATCH_SIZE
    with transaction.atomic():
        breached = _breaches_record(now, batch_size)
        warned = _warnings_record(now, batch_size)
        if breached or warned:
            _tell(breached, warned)
        run = EnforcementRun.objects.create(
            started_at=now, finished_at=timezone.now(), warned=len(warned), breached=len(breached)
        )
        EnforcementRun.objects.filter(started_at__lt=now - dt.timedelta(days=7)).delete()
    run.more_due = len(breached) == batch_size or len(warned) == batch_size
    return run

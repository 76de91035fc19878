"""Starting, meeting, cancelling and enforcing SLA clocks.

Clock changes are called by the lead services inside their transaction. Enforcement is
idempotent by the data: a warning or a breach is recorded by a conditional UPDATE that
only one worker can win, however many run at once.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, NotificationKind
from smarketing.queue import enqueue

from .calendar import BusinessCalendar, add_business_time, business_time_between
from .models import BreachAction, Clock, EnforcementRun, Obligation, SlaPolicy, TeamCalendar


def calendar_for(user) -> BusinessCalendar:
    """The business calendar of the user's team (the organisation's zone, Monday to Friday
    9 to 5, when the team has set none)."""
    membership = getattr(user, "membership", None)
    if membership is None:
        return BusinessCalendar(time_zone=settings.SMARKETING_TIME_ZONE)
    return calendar_of_team(membership.team)


def calendar_of_team(team) -> BusinessCalendar:
    return calendar_from(team, TeamCalendar.objects.filter(team=team).prefetch_related("closures").first())


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


def _policy_matches(policy: SlaPolicy, lead: Lead, owner) -> bool:
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


def policy_for(lead: Lead, owner) -> SlaPolicy | None:
    """The first active policy (by priority) that matches the lead and its owner."""
    return next(
        (p for p in SlaPolicy.objects.filter(is_active=True) if _policy_matches(p, lead, owner)), None
    )


def _schedule(started_at: dt.datetime, due_at: dt.datetime, percents: list[int]) -> list[dt.datetime]:
    return [started_at + (due_at - started_at) * p / 100 for p in sorted(percents)]


def _start(
    *, obligation: str, lead: Lead, owner, started_at: dt.datetime, duration: dt.timedelta, policy
) -> Clock:
    due_at = add_business_time(started_at, duration, calendar_for(owner))
    percents = list(policy.warn_percents) if policy is not None else [settings.SLA_WARN_AT_PERCENT]
    schedule = _schedule(started_at, due_at, percents)
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


def clock_start_response(*, lead: Lead, owner, started_at: dt.datetime) -> Clock:
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


def clock_start_follow_up(*, lead: Lead, owner, started_at: dt.datetime) -> Clock:
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


def clock_meet_response(*, lead: Lead, met_at: dt.datetime) -> Clock | None:
    """Accept or reject meets the running response clock; met late is recorded as a breach."""
    clock = Clock.objects.running().filter(lead=lead, obligation=Obligation.RESPONSE).first()
    if clock is None:
        return None
    _meet(clock, met_at)
    if lead.stage == "sql":
        clock_start_follow_up(lead=lead, owner=lead.owner, started_at=met_at)
    return clock


def _meet(clock: Clock, met_at: dt.datetime) -> None:
    clock.met_at = met_at
    spent = business_time_between(clock.started_at, max(met_at, clock.started_at), calendar_for(clock.owner))
    clock.business_seconds = int(spent.total_seconds())
    fields = ["met_at", "business_seconds"]
    if met_at > clock.due_at and clock.breached_at is None:
        clock.breached_at = met_at
        fields.append("breached_at")
    clock.save(update_fields=fields)


def clock_touch_logged(*, lead: Lead, touch) -> Clock | None:
    """The Nth touch since acceptance meets the follow-up clock."""
    clock = Clock.objects.running().filter(lead=lead, obligation=Obligation.FOLLOW_UP).first()
    if clock is None:
        return None
    touches = lead.touches.filter(occurred_at__gte=clock.started_at).count()
    needed = clock.policy.follow_up_touches if clock.policy is not None else settings.SLA_FOLLOW_UP_TOUCHES
    if touches >= needed:
        _meet(clock, max(touch.occurred_at, clock.started_at))
    return clock


def clocks_cancel(*, lead: Lead, at: dt.datetime) -> int:
    """Stop every running clock of the lead (disqualified, lost, won, merged)."""
    return Clock.objects.running().filter(lead=lead).update(cancelled_at=at)


def clocks_transfer(*, lead: Lead, new_owner) -> int:
    """Running clocks follow a reassigned lead, keeping their deadline."""
    return Clock.objects.running().filter(lead=lead).update(owner=new_owner)


def clocks_restart(*, lead: Lead, new_owner, at: dt.datetime) -> int:
    """After an SLA reassignment: the first owner's clocks end where they are (a breach
    stays on their record) and the new owner gets fresh clocks under their own policy."""
    running = list(Clock.objects.running().filter(lead=lead))
    Clock.objects.filter(pk__in=[c.pk for c in running]).update(cancelled_at=at)
    for clock in running:
        starter = clock_start_response if clock.obligation == Obligation.RESPONSE else clock_start_follow_up
        starter(lead=lead, owner=new_owner, started_at=at)
    return len(running)


def clock_snooze(*, lead: Lead, until: dt.date, now: dt.datetime) -> tuple[Clock, dt.datetime]:
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
    schedule = [t for t in _schedule(clock.started_at, clock.due_at, clock.warn_percents) if t > now]
    clock.warn_at = schedule[0] if clock.breached_at is None and schedule else None
    clock.warnings_sent = len(clock.warn_percents) - len(schedule)
    clock.snoozed_until = until
    clock.save(update_fields=["due_at", "warn_at", "warnings_sent", "snoozed_until"])
    return clock, old_due


# --- enforcement -----------------------------------------------------------------------------


def _notify_clock(clock: Clock, kind: str, *, also_manager: bool, key: str) -> None:
    from leads.notifications import notify

    lead = clock.lead
    what = clock.get_obligation_display().lower()
    if kind == NotificationKind.SLA_WARNING:
        subject = f"SLA: {what} for {lead} is due {timezone.localtime(clock.due_at):%a %d %b %H:%M}"
    else:
        subject = f"SLA breached: {what} for {lead} was due {timezone.localtime(clock.due_at):%a %d %b %H:%M}"
    body = (
        f"{subject}.\n\nLead: {lead} <{lead.email}>, {lead.company or 'no company'}.\n"
        f"Owner: {clock.owner.get_full_name() or clock.owner.username}.\n"
        f"Open the lead: {settings.SMARKETING_BASE_URL}/leads/{lead.pk}/"
    )
    recipients = [clock.owner]
    membership = getattr(clock.owner, "membership", None)
    if also_manager and membership and membership.team.manager_id:
        recipients.append(membership.team.manager)
    for recipient in recipients:
        notify(recipient=recipient, kind=kind, lead=lead, dedupe_key=key, subject=subject, body=body)


def _warn(clock_id: int, now: dt.datetime) -> bool:
    """Send the clock's next warning, once: the conditional UPDATE names the warning."""
    clock = Clock.objects.filter(pk=clock_id).first()
    if clock is None or clock.warn_at is None:
        return False
    schedule = _schedule(
        clock.started_at, clock.due_at, clock.warn_percents or [settings.SLA_WARN_AT_PERCENT]
    )
    sent = clock.warnings_sent
    later = [t for t in schedule[sent + 1 :] if t > now]
    won = (
        Clock.objects.warning_due(now)
        .filter(pk=clock_id, warnings_sent=sent, warn_at=clock.warn_at)
        # Warnings already overtaken by time (after an outage) are not sent one after another.
        .update(warnings_sent=len(schedule) - len(later), warned_at=now, warn_at=later[0] if later else None)
    )
    if won:
        clock = Clock.objects.select_related("lead", "owner__membership__team").get(pk=clock_id)
        _notify_clock(
            clock, NotificationKind.SLA_WARNING, also_manager=False, key=f"clock:{clock_id}:warn:{sent}"
        )
    return bool(won)


def _breach(clock_id: int, now: dt.datetime) -> bool:
    won = Clock.objects.breach_due(now).filter(pk=clock_id).update(breached_at=now, warn_at=None)
    if not won:
        return False
    clock = Clock.objects.select_related("lead", "policy", "owner__membership__team__manager").get(
        pk=clock_id
    )
    escalate = clock.policy.escalate_to_manager if clock.policy is not None else True
    _notify_clock(clock, NotificationKind.SLA_BREACH, also_manager=escalate, key=f"clock:{clock_id}")
    action = clock.policy.on_breach if clock.policy is not None else BreachAction.NOTIFY
    lead_id, owner_id = clock.lead_id, clock.owner_id
    if action == BreachAction.REASSIGN:
        transaction.on_commit(lambda: _queue("sla_reassign", lead_id, owner_id, clock_id))
    elif action == BreachAction.RETURN and clock.obligation == Obligation.RESPONSE:
        transaction.on_commit(lambda: _queue("sla_return", lead_id, owner_id, clock_id))
    return True


def _queue(name: str, *args) -> None:
    from . import tasks

    enqueue(getattr(tasks, name), *args)


def sla_enforce(*, now: dt.datetime | None = None, batch_size: int | None = None) -> EnforcementRun:
    """Record every warning and breach that has fallen due, each exactly once.

    A deadline that passed while no worker ran is recorded on the next run: `due_at`
    keeps the true deadline and `breached_at` says when the breach was detected.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.SLA_ENFORCE_BATCH_SIZE
    run = EnforcementRun.objects.create(started_at=now)
    warned = breached = 0
    due_for_breach = list(
        Clock.objects.breach_due(now).order_by("due_at").values_list("id", flat=True)[:batch_size]
    )
    for clock_id in due_for_breach:
        with transaction.atomic():
            breached += _breach(clock_id, now)
    due_for_warning = list(
        Clock.objects.warning_due(now).order_by("warn_at").values_list("id", flat=True)[:batch_size]
    )
    for clock_id in due_for_warning:
        with transaction.atomic():
            warned += _warn(clock_id, now)
    run.warned, run.breached, run.finished_at = warned, breached, timezone.now()
    run.save(update_fields=["warned", "breached", "finished_at"])
    EnforcementRun.objects.filter(started_at__lt=now - dt.timedelta(days=7)).delete()
    run.more_due = len(due_for_breach) == batch_size or len(due_for_warning) == batch_size
    return run

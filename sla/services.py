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

from .calendar import BusinessCalendar, add_business_time
from .models import Clock, EnforcementRun, Obligation, TeamCalendar


def calendar_for(user) -> BusinessCalendar:
    """The business calendar of the user's team (the organisation's zone, Monday to Friday
    9 to 5, when the team has set none)."""
    membership = getattr(user, "membership", None)
    if membership is None:
        return BusinessCalendar(time_zone=settings.SMARKETING_TIME_ZONE)
    return calendar_of_team(membership.team)


def calendar_of_team(team) -> BusinessCalendar:
    stored = TeamCalendar.objects.filter(team=team).prefetch_related("closures").first()
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


def _warn_at(started_at: dt.datetime, due_at: dt.datetime) -> dt.datetime:
    return started_at + (due_at - started_at) * settings.SLA_WARN_AT_PERCENT / 100


def clock_start_response(*, lead: Lead, owner, started_at: dt.datetime) -> Clock:
    """Sales must respond (accept or reject) within the agreed business hours."""
    due_at = add_business_time(
        started_at, dt.timedelta(hours=settings.SLA_RESPONSE_BUSINESS_HOURS), calendar_for(owner)
    )
    return Clock.objects.create(
        obligation=Obligation.RESPONSE,
        lead=lead,
        owner=owner,
        started_at=started_at,
        due_at=due_at,
        warn_at=_warn_at(started_at, due_at),
    )


def clock_start_follow_up(*, lead: Lead, owner, started_at: dt.datetime) -> Clock:
    """After acceptance: at least N touches within D business days."""
    hours_per_day = 8
    due_at = add_business_time(
        started_at,
        dt.timedelta(hours=hours_per_day * settings.SLA_FOLLOW_UP_BUSINESS_DAYS),
        calendar_for(owner),
    )
    return Clock.objects.create(
        obligation=Obligation.FOLLOW_UP,
        lead=lead,
        owner=owner,
        started_at=started_at,
        due_at=due_at,
        warn_at=_warn_at(started_at, due_at),
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
    fields = ["met_at"]
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
    if touches >= settings.SLA_FOLLOW_UP_TOUCHES:
        _meet(clock, max(touch.occurred_at, clock.started_at))
    return clock


def clocks_cancel(*, lead: Lead, at: dt.datetime) -> int:
    """Stop every running clock of the lead (disqualified, lost, won, merged)."""
    return Clock.objects.running().filter(lead=lead).update(cancelled_at=at)


def clocks_transfer(*, lead: Lead, new_owner) -> int:
    """Running clocks follow a reassigned lead, keeping their deadline."""
    return Clock.objects.running().filter(lead=lead).update(owner=new_owner)


# --- enforcement -----------------------------------------------------------------------------


def _notify_clock(clock: Clock, kind: str, *, also_manager: bool) -> None:
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
        notify(
            recipient=recipient,
            kind=kind,
            lead=lead,
            dedupe_key=f"clock:{clock.pk}",
            subject=subject,
            body=body,
        )


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
            won = Clock.objects.breach_due(now).filter(pk=clock_id).update(breached_at=now)
            if won:
                breached += 1
                clock = Clock.objects.select_related("lead", "owner__membership__team__manager").get(
                    pk=clock_id
                )
                _notify_clock(clock, NotificationKind.SLA_BREACH, also_manager=True)
    due_for_warning = list(
        Clock.objects.warning_due(now).order_by("warn_at").values_list("id", flat=True)[:batch_size]
    )
    for clock_id in due_for_warning:
        with transaction.atomic():
            won = Clock.objects.warning_due(now).filter(pk=clock_id).update(warned_at=now)
            if won:
                warned += 1
                clock = Clock.objects.select_related("lead", "owner__membership__team").get(pk=clock_id)
                _notify_clock(clock, NotificationKind.SLA_WARNING, also_manager=False)
    run.warned, run.breached, run.finished_at = warned, breached, timezone.now()
    run.save(update_fields=["warned", "breached", "finished_at"])
    EnforcementRun.objects.filter(started_at__lt=now - dt.timedelta(days=7)).delete()
    run.more_due = len(due_for_breach) == batch_size or len(due_for_warning) == batch_size
    return run

"""Editing team calendars (the team's manager or an admin); each change is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import holidays
from django.db import transaction
from django.utils import timezone

from sla.calendar import BusinessCalendar, add_business_time
from sla.models import CalendarClosure, TeamCalendar
from smarketing.agreement.changes import agreement_change_record
from smarketing.core import formats
from smarketing.core.errors import ActionError
from smarketing.org import roles
from smarketing.org.models import Team

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DEFAULT_HOURS = {str(day): ["09:00", "17:00"] for day in range(5)}


def may_edit(actor, team: Team) -> bool:
    """The team's manager, or an admin."""
    return roles.is_admin(actor) or (
        roles.has_role(actor, roles.Role.MANAGER)
        and team.manager_id is not None
        and team.manager_id == actor.pk
    )


def refusal(team: Team) -> str:
    return f"Only the manager of {team} can change its calendar."


def _team(actor, team_id: int, *, lock: bool = True) -> tuple[Team, TeamCalendar]:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ActionError("No such team.", code=ActionError.NOT_FOUND)
    if not may_edit(actor, team):
        raise ActionError(refusal(team), code=ActionError.FORBIDDEN)
    calendar, _ = TeamCalendar.objects.get_or_create(team=team, defaults={"hours": DEFAULT_HOURS})
    if lock:
        calendar = TeamCalendar.objects.select_for_update().get(pk=calendar.pk)
    return team, calendar


def _clean_hours(hours: dict[Any, Any]) -> dict[str, list[str]]:
    cleaned: dict[str, list[str]] = {}
    for day, span in hours.items():
        try:
            weekday = int(day)
            opens, closes = (dt.time.fromisoformat(str(v)) for v in span)
        except (TypeError, ValueError):
            raise ActionError(
                "Working hours are a weekday (0 = Monday) with an opening and a closing time like 09:00.",
                field="hours",
            ) from None
        if not 0 <= weekday <= 6:
            raise ActionError("Weekdays go from 0 (Monday) to 6 (Sunday).", field="hours")
        if closes <= opens:
            raise ActionError(f"On {WEEKDAYS[weekday]} the team must close after it opens.", field="hours")
        cleaned[str(weekday)] = [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
    if not cleaned:
        raise ActionError("A calendar needs at least one working day.", field="hours")
    return dict(sorted(cleaned.items()))


@transaction.atomic
def team_calendar_update(
    *, actor, team_id: int, hours: dict, holiday_country: str = "", holiday_subdivision: str = ""
) -> TeamCalendar:
    team, calendar = _team(actor, team_id)
    cleaned = _clean_hours(hours)
    country = (holiday_country or "").strip().upper()
    subdivision = (holiday_subdivision or "").strip().upper()
    supported = holidays.list_supported_countries()
    if country and country not in supported:
        raise ActionError(
            f"“{country}” is not a country whose public holidays are known.", field="holiday_country"
        )
    if subdivision and (not country or subdivision not in supported[country]):
        raise ActionError(
            f"“{subdivision}” is not a region of {country or 'the chosen country'} (e.g. BY or BE for Germany).",
            field="holiday_subdivision",
        )
    before = {
        "hours": calendar.hours,
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
    }
    after = {"hours": cleaned, "holiday_country": country, "holiday_subdivision": subdivision}
    if before == after:
        return calendar
    calendar.hours, calendar.holiday_country, calendar.holiday_subdivision = cleaned, country, subdivision
    calendar.updated_at = timezone.now()
    calendar.save()
    agreement_change_record(
        area="calendar",
        actor=actor,
        summary=f"Calendar of {team}: hours and holidays",
        before=before,
        after=after,
    )
    return calendar


@transaction.atomic
def calendar_closure_add(*, actor, team_id: int, date: dt.date, reason: str) -> CalendarClosure:
    team, calendar = _team(actor, team_id)
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("Say why the team is closed that day.", field="reason")
    if calendar.closures.filter(date=date).exists():
        raise ActionError(f"{formats.day(date)} is already a closure.", field="date")
    closure = CalendarClosure.objects.create(calendar=calendar, date=date, reason=reason[:200])
    agreement_change_record(
        area="calendar",
        actor=actor,
        summary=f"Calendar of {team}: closed on {formats.day(date)} ({closure.reason})",
        after={"date": date.isoformat(), "reason": closure.reason},
    )
    return closure


@transaction.atomic
def calendar_closure_remove(*, actor, team_id: int, closure_id: int) -> None:
    team, calendar = _team(actor, team_id)
    closure = calendar.closures.filter(pk=closure_id).first()
    if closure is None:
        raise ActionError("No such closure.", code=ActionError.NOT_FOUND)
    before = {"date": closure.date.isoformat(), "reason": closure.reason}
    closure.delete()
    agreement_change_record(
        area="calendar",
        actor=actor,
        summary=f"Calendar of {team}: open again on {before['date']}",
        before=before,
    )


def deadline_preview(calendar: BusinessCalendar, start: dt.datetime, hours: float) -> dt.datetime:
    """“A lead handed off at `start` is due when?” for `hours` of business time."""
    return add_business_time(start, dt.timedelta(hours=hours), calendar)

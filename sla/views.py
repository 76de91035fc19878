"""SLA pages: team calendars and SLA policies, each with a deadline preview. Everyone reads;
managers edit (a calendar: its team's manager)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from sla import calendars
from sla.calendar import add_business_time, public_holidays
from sla.forms import SlaPolicyForm
from sla.models import SlaPolicy
from sla.policies import POLICY_FIELDS
from sla.services import calendar_from, calendar_of_team, follow_up_span, response_hours
from smarketing.agreement import versions
from smarketing.agreement.models import AgreementChange
from smarketing.core import formats
from smarketing.core.errors import ActionError
from smarketing.core.inputs import DATE_HELP, FIRST_YEAR, LAST_YEAR, date_in, datetime_in, id_in, optional
from smarketing.core.pages import act_then_redirect, refusal_status, show_refusal_at_fields
from smarketing.org.models import Team
from smarketing.org.roles import can_edit_agreement

PREVIEW_HELP = (
    f"Give a date and time like 2026-11-27 16:30 (between {FIRST_YEAR} and {LAST_YEAR}) for the preview."
)


def _card(team, user, preview_at: dt.datetime | None):
    stored = getattr(team, "calendar", None)  # selected with the team
    calendar = calendar_from(team, stored)
    today = timezone.localdate()
    upcoming = []
    if calendar.holiday_country:
        days = public_holidays(
            calendar.holiday_country, calendar.holiday_subdivision, today.year
        ) | public_holidays(calendar.holiday_country, calendar.holiday_subdivision, today.year + 1)
        upcoming = sorted(d for d in days if d >= today)[:5]
    preview = None
    if preview_at is not None:
        preview = {
            "response": calendars.deadline_preview(
                calendar, preview_at, settings.SLA_RESPONSE_BUSINESS_HOURS
            ),
            "follow_up": calendars.deadline_preview(
                calendar, preview_at, 8 * settings.SLA_FOLLOW_UP_BUSINESS_DAYS
            ),
        }
    return {
        "team": team,
        "days": [(i, name, calendar.hours_on(i)) for i, name in enumerate(calendars.WEEKDAYS)],
        "calendar": calendar,
        "closures": list(stored.closures.all()) if stored else [],
        "upcoming_holidays": upcoming,
        "can_edit": calendars.may_edit(user, team),
        "preview": preview,
    }


@login_required
def calendar_list(request):
    preview_at = None
    error = ""
    raw = request.GET.get("at", "")
    try:
        preview_at = optional(datetime_in, raw, name="at", message=PREVIEW_HELP)
    except ActionError as exc:
        error = exc.message
    teams = Team.objects.select_related("calendar", "manager").prefetch_related("calendar__closures")
    context = {
        "cards": [_card(team, request.user, preview_at) for team in teams],
        "at": raw,
        "preview_at": preview_at,
        "error": error,
        "response_hours": settings.SLA_RESPONSE_BUSINESS_HOURS,
        "follow_up_days": settings.SLA_FOLLOW_UP_BUSINESS_DAYS,
        "changes": AgreementChange.objects.filter(area="calendar").select_related("actor")[:10],
    }
    return render(request, "sla/calendars.html", context, status=400 if error else 200)


def _refuse(request, exc: ActionError):
    messages.error(request, exc.message)
    return redirect("calendars")


@require_POST
@login_required
def calendar_save(request, team_id: int):
    hours = {}
    for day in range(7):
        if request.POST.get(f"open-{day}"):
            hours[str(day)] = [request.POST.get(f"opens-{day}", ""), request.POST.get(f"closes-{day}", "")]
    try:
        calendars.team_calendar_update(
            actor=request.user,
            team_id=team_id,
            hours=hours,
            holiday_country=request.POST.get("holiday_country", ""),
            holiday_subdivision=request.POST.get("holiday_subdivision", ""),
        )
    except ActionError as exc:
        return _refuse(request, exc)
    messages.success(request, "Calendar saved. New clocks use it; running ones keep their deadline.")
    return redirect("calendars")


@require_POST
@login_required
def closure_add(request, team_id: int):
    try:
        date = date_in(
            request.POST.get("date"), name="date", message=f"Choose the date the team is closed. {DATE_HELP}"
        )
    except ActionError as exc:
        messages.error(request, exc.message)
        return redirect("calendars")
    try:
        calendars.calendar_closure_add(
            actor=request.user, team_id=team_id, date=date, reason=request.POST.get("reason", "")
        )
    except ActionError as exc:
        return _refuse(request, exc)
    messages.success(request, f"Closed on {formats.day(date)}.")
    return redirect("calendars")


@require_POST
@login_required
def closure_remove(request, team_id: int, closure_id: int):
    return act_then_redirect(
        request,
        "calendars",
        lambda: calendars.calendar_closure_remove(actor=request.user, team_id=team_id, closure_id=closure_id),
        "Closure removed.",
    )


# --- SLA policies ------------------------------------------------------------------------------


def _policy_page(request, *, form=None, editing=None, error="", status=200):

    if form is None:
        initial = {name: getattr(editing, name) for name in POLICY_FIELDS} if editing else None
        form = SlaPolicyForm(initial=initial)
    preview_at, preview_error, rows = None, "", []
    raw = request.GET.get("at", "")
    team_id = optional(id_in, request.GET.get("team"), name="team", message="Choose a sales team.")
    team = Team.objects.filter(pk=team_id, kind="sales").first() if team_id else None
    try:
        preview_at = optional(datetime_in, raw, name="at", message=PREVIEW_HELP)
    except ActionError as exc:
        preview_error = exc.message
    policies = list(SlaPolicy.objects.select_related("campaign", "team"))
    if preview_at is not None and team is not None:
        calendar = calendar_of_team(team)
        for policy in policies:
            if policy.is_active:
                rows.append(
                    (
                        policy,
                        add_business_time(preview_at, response_hours(policy), calendar),
                        add_business_time(preview_at, follow_up_span(policy), calendar),
                    )
                )
    context = {
        "policies": policies,
        "form": form,
        "editing": editing,
        "can_edit": can_edit_agreement(request.user),
        "error": error or preview_error,
        "sales_teams": Team.objects.filter(kind="sales"),
        "team": team,
        "at": raw,
        "preview_at": preview_at,
        "preview": rows,
        "changes": AgreementChange.objects.filter(area="sla").select_related("actor")[:10],
    }
    return render(request, "sla/policies.html", context, status=status if not preview_error else 400)


@login_required
def policy_list(request):

    edit_id = optional(id_in, request.GET.get("edit"), name="edit", message="Choose a policy to edit.")
    editing = SlaPolicy.objects.filter(pk=edit_id).first() if edit_id else None
    return _policy_page(request, editing=editing)


@require_POST
@login_required
def policy_save(request, policy_id: int | None = None):
    form = SlaPolicyForm(request.POST)
    editing = SlaPolicy.objects.filter(pk=policy_id).first() if policy_id else None
    if not can_edit_agreement(request.user):
        return _policy_page(
            request, form=form, editing=editing, error="Only a manager can change SLA policies.", status=403
        )
    if not form.is_valid():
        return _policy_page(request, form=form, editing=editing, status=400)
    try:
        version = versions.agreement_propose(
            actor=request.user, op="sla_policy_save", policy_id=policy_id, **form.cleaned_data
        )
    except ActionError as exc:
        error = "" if show_refusal_at_fields(form, exc) else exc.message
        return _policy_page(request, form=form, editing=editing, error=error, status=refusal_status(exc))
    messages.success(
        request,
        versions.proposed_message(version) + " New clocks use it then; running ones keep their terms.",
    )
    return redirect("sla-policies")


@require_POST
@login_required
def policy_delete(request, policy_id: int):
    return act_then_redirect(
        request,
        "sla-policies",
        lambda: versions.agreement_propose(actor=request.user, op="sla_policy_delete", policy_id=policy_id),
        versions.proposed_message,
    )

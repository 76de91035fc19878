"""Template tags for deadlines and the enforcement status line."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html

from sla.calendar import business_time_between
from sla.models import EnforcementRun
from sla.services import calendar_for
from smarketing.core.templatetags.core_tags import span

register = template.Library()

STALE_AFTER = dt.timedelta(minutes=3)


@register.simple_tag(takes_context=True)
def due(context, moment, soon_hours: int = 2, calendar=None, owner=None):
    """A deadline as `deadline` shows it, in `calendar`, or else `owner`'s (looked up once
    per team for the whole page, and only for a deadline still ahead), or the organisation's."""
    if calendar is None and moment is not None and moment > timezone.now():
        calendar = _owner_calendar(context.render_context, owner)
    return deadline(moment, soon_hours, calendar)


def _owner_calendar(cache, owner):
    membership = getattr(owner, "membership", None)
    key = ("sla-calendar", membership.team_id if membership is not None else None)
    if key not in cache:
        cache[key] = calendar_for(owner)
    return cache[key]


def deadline(moment, soon_hours: int = 2, calendar=None):
    """One way to show a deadline on every screen: "Mon 16:30 · in 7 h 30 m business time"
    (its weekday and time, the date too when it is a week or more away; the business time
    left in `calendar`, the organisation's by default) or "Mon 16:30 · overdue by 30 m",
    with the exact moment on hover; marked for the eye and not by colour alone."""
    if moment is None:
        return format_html('<span class="muted">no deadline</span>')
    now = timezone.now()
    local = timezone.localtime(moment)
    days_away = (local.date() - timezone.localdate(now)).days
    when = f"{local:%a %H:%M}" if -6 <= days_away <= 6 else f"{local:%a %d %b %H:%M}"
    exact = f"{local:%a %d %b %Y %H:%M} ({local.tzname()})"
    if moment <= now:
        return format_html(
            '<span class="due late" title="{}">{} · ⚠ overdue by {}</span>', exact, when, span(now - moment)
        )
    left = business_time_between(now, moment, calendar or calendar_for(None))
    css = "soon" if left < dt.timedelta(hours=soon_hours) else "ok"
    return format_html(
        '<span class="due {}" title="{}">{} · in {} business time</span>',
        css,
        exact,
        when,
        business_span(left),
    )


def business_span(left: dt.timedelta) -> str:
    """Business time in hours ("38 h", "8 h", "2 h 10 m", "35 m"): a business day is not 24 hours,
    so days would mislead."""
    minutes = int(left.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    if hours >= 10 or (hours and not minutes):
        return f"{hours} h"
    return f"{hours} h {minutes} m" if hours else f"{minutes} m"


@register.inclusion_tag("sla/_status.html")
def sla_status():
    """Proof on every page that the enforcement job runs (or a warning that it does not)."""
    run = EnforcementRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    stale = run is None or timezone.now() - run.finished_at > STALE_AFTER
    return {"run": run, "stale": stale}

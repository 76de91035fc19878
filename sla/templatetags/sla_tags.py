"""Template tags for deadlines and the enforcement status line."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html

from sla.calendar import business_time_between
from sla.models import EnforcementRun
from smarketing.core.templatetags.core_tags import span

register = template.Library()

STALE_AFTER = dt.timedelta(minutes=3)


@register.simple_tag
def due(moment, soon_hours: int = 2, calendar=None):
    """'due in 2 h 10 m' / 'overdue by 35 m', marked for the eye and not by colour alone.
    With a business calendar, the time left is business time, and says so."""
    if moment is None:
        return format_html('<span class="muted">no deadline</span>')
    now = timezone.now()
    left = business_time_between(now, moment, calendar) if calendar is not None else moment - now
    suffix = " (business time)" if calendar is not None else ""
    when = "due " + timezone.localtime(moment).strftime("%a %d %b %H:%M")
    if moment <= now:
        return format_html(
            '<span class="due late" title="{}">⚠ overdue by {}{}</span>', when, span(moment - now), ""
        )
    css = "soon" if left < dt.timedelta(hours=soon_hours) else "ok"
    return format_html('<span class="due {}" title="{}">due in {}{}</span>', css, when, span(left), suffix)


@register.inclusion_tag("sla/_status.html")
def sla_status():
    """Proof on every page that the enforcement job runs (or a warning that it does not)."""
    run = EnforcementRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    stale = run is None or timezone.now() - run.finished_at > STALE_AFTER
    return {"run": run, "stale": stale}

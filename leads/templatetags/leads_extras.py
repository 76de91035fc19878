"""Small presentation helpers: relative deadlines, stage badges, the SLA job's heartbeat."""

from __future__ import annotations

import datetime as dt

from django import forms, template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from leads.models import Source, Stage
from leads.roles import role_names
from sla.calendar import business_time_between
from sla.models import EnforcementRun

register = template.Library()

STALE_AFTER = dt.timedelta(minutes=3)


def span(delta: dt.timedelta) -> str:
    """'2 d 3 h', '2 h 10 m', '35 m', '20 s'."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} m"
    if minutes:
        return f"{minutes} m"
    return f"{secs} s"


@register.filter
def ago(moment):
    if not moment:
        return ""
    return f"{span(timezone.now() - moment)} ago"


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


@register.simple_tag
def stage_badge(lead):
    return _stage_badge(lead.stage, lead.get_stage_display(), getattr(lead, "recycle_count", 0))


def _stage_badge(stage: str, label: str, recycle_count: int) -> str:
    html = f'<span class="badge stage-{escape(stage)}">{escape(label)}</span>'
    if stage == "lead" and recycle_count:
        html += f' <span class="badge recycled">recycled ×{int(recycle_count)}</span>'
    return mark_safe(html)  # noqa: S308 - every value above is escaped


@register.simple_tag
def viewer_role_label(user):
    names = sorted(role_names(user))
    membership = getattr(user, "membership", None)
    label = ", ".join(names) or "Employee"
    return f"{label} ({membership.team.name})" if membership else label


@register.inclusion_tag("leads/_sla_status.html")
def sla_status():
    """Proof on every page that the enforcement job runs (or a warning that it does not)."""
    run = EnforcementRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    stale = run is None or timezone.now() - run.finished_at > STALE_AFTER
    return {"run": run, "stale": stale}


@register.simple_tag
def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return user.notifications.filter(read_at__isnull=True).count()


@register.filter
def get_item(mapping, key):
    """`{{ labels|get_item:code }}`: a dict lookup with a variable key."""
    return mapping.get(key, key) if hasattr(mapping, "get") else key


@register.simple_tag
def proposed_agreement_version():
    """The proposed version of the agreement, if one waits for confirmation (the agreement
    pages say so at the top: a change made there is not in force yet)."""
    from leads.versions import version_proposed

    return version_proposed()


# --- the lead list, rendered in Python --------------------------------------------------------
#
# A list page shows 50 rows and a dozen filters; through the template language (a lookup
# per attribute, a widget template per <option>) they cost more than the page's queries.


@register.simple_tag
def lead_rows(leads) -> str:
    """The list's <tr>s: name and email (linked), company, stage, score, owner, source,
    campaign, created (in the viewer's time zone)."""
    detail = reverse("lead-detail", args=[0])[: -len("0/")]
    # What get_FOO_display() and the date format "d M Y" give, looked up once per page.
    stages, sources = dict(Stage.choices), dict(Source.choices)
    months = {month: MONTHS_3[month].title() for month in MONTHS_3}
    html = []
    for lead in leads:
        owner = (lead.owner.get_full_name() if lead.owner is not None else "") or "—"
        campaign = str(lead.campaign) if lead.campaign is not None else "—"
        local = timezone.localtime(lead.created_at)
        stage = _stage_badge(lead.stage, stages.get(lead.stage, lead.stage), lead.recycle_count)
        html.append(
            f'<tr><td><a href="{detail}{lead.pk}/">{escape(str(lead))}</a><br>'
            f'<span class="muted">{escape(lead.email)}</span></td>'
            f"<td>{escape(lead.company)}</td><td>{stage}</td>"
            f'<td class="num">{lead.score}</td><td>{escape(owner)}</td>'
            f"<td>{escape(sources.get(lead.source, lead.source))}</td><td>{escape(campaign)}</td>"
            f"<td>{local.day:02d} {months[local.month]} {local.year:04d}</td></tr>"
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


@register.simple_tag
def select(field) -> str:
    """A bound form field's <select> (single or multiple), as its widget would render it
    (id, name, the chosen options selected), without a template per option. A widget
    with its own render() (e.g. a yes/no that maps its value first) renders itself."""
    widget = field.field.widget
    if type(widget).render is not forms.Widget.render:
        return str(field)
    attrs = field.build_widget_attrs({})
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)
    attrs = "".join(
        f" {name}" if value is True else f' {name}="{escape(value)}"'
        for name, value in context["widget"]["attrs"].items()
        if value is not False and value is not None
    )
    html = [f'<select name="{escape(field.html_name)}"{attrs}>']
    for group, options, _ in context["widget"]["optgroups"]:
        if group:
            html.append(f'<optgroup label="{escape(group)}">')
        for option in options:
            selected = " selected" if option["selected"] else ""
            html.append(
                f'<option value="{escape(option["value"])}"{selected}>{escape(option["label"])}</option>'
            )
        if group:
            html.append("</optgroup>")
    html.append("</select>")
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped

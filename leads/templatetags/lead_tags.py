"""Small presentation helpers: relative deadlines, stage badges, the SLA job's heartbeat."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from leads.models import NO_CONTACT, Consent, Stage
from smarketing.core import formats
from smarketing.org.models import Source
from smarketing.org.roles import sees_contact_details

register = template.Library()


@register.simple_tag
def stage_badge(lead):
    return _stage_badge(lead.stage, lead.get_stage_display(), getattr(lead, "recycle_count", 0))


@register.simple_tag
def no_contact_badge(lead):
    """“Do not contact — consent withdrawn” (or refused) when the person said no to
    marketing contact; nothing otherwise."""
    return _no_contact_badge(lead.consent, long=True)


def _no_contact_badge(consent: str, *, long: bool = False) -> str:
    if consent not in NO_CONTACT:
        return ""
    answer = dict(Consent.choices)[consent].lower()
    text = f"Do not contact — consent {answer}" if long else "do not contact"
    return mark_safe(  # noqa: S308 - the texts are ours
        f'<span class="badge no-contact" title="Consent to marketing contact {answer}">{text}</span>'
    )


def _stage_badge(stage: str, label: str, recycle_count: int) -> str:
    html = f'<span class="badge stage-{escape(stage)}">{escape(label)}</span>'
    if stage == "lead" and recycle_count:
        html += f' <span class="badge recycled">recycled ×{int(recycle_count)}</span>'
    return mark_safe(html)  # noqa: S308 - every value above is escaped


# --- the lead list, rendered in Python --------------------------------------------------------
#
# A list page shows 50 rows and a dozen filters; through the template language (a lookup
# per attribute, a widget template per <option>) they cost more than the page's queries.


def lead_name(lead, *, private: bool) -> str:
    """How a lead is named to a viewer: its name, or its email when it has none — unless
    the viewer is not shown contact details, who reads "Lead 42". An erased person's lead
    is "Erased person (lead 42)" to everyone."""
    if lead.erased_at is not None:
        return str(lead)
    return lead.full_name or (f"Lead {lead.pk}" if private else lead.email)


@register.simple_tag(takes_context=True)
def lead_rows(context, leads) -> str:
    """The list's <tr>s: name and email (linked; a marker on a person who refused or
    withdrew consent to marketing contact), company, stage, score, owner, source, campaign,
    created (in the viewer's time zone). The email only where the viewer's work needs it
    (`roles.sees_contact_details`)."""
    viewer = context["request"].user
    detail = reverse("lead-detail", args=[0])[: -len("0/")]
    # What get_FOO_display() gives, looked up once per page; the date in the one style.
    stages, sources = dict(Stage.choices), dict(Source.choices)
    html = []
    for lead in leads:
        owner = (lead.owner.get_full_name() if lead.owner is not None else "") or "—"
        campaign = str(lead.campaign) if lead.campaign is not None else "—"
        local = timezone.localtime(lead.created_at)
        stage = _stage_badge(lead.stage, stages.get(lead.stage, lead.stage), lead.recycle_count)
        if sees_contact_details(viewer, lead):
            name, email = str(lead), f'<br><span class="muted">{escape(lead.email)}</span>'
        else:
            name, email = lead_name(lead, private=True), ""
        marker = f" {_no_contact_badge(lead.consent)}" if lead.consent in NO_CONTACT else ""
        html.append(
            f'<tr><td><a href="{detail}{lead.pk}/">{escape(name)}</a>{marker}{email}</td>'
            f"<td>{escape(lead.company)}</td><td>{stage}</td>"
            f'<td class="num">{lead.score}</td><td>{escape(owner)}</td>'
            f"<td>{escape(sources.get(lead.source, lead.source))}</td><td>{escape(campaign)}</td>"
            f"<td>{formats.day(local)}</td></tr>"
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped

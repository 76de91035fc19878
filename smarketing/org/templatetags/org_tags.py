"""Template tags about the person looking at the page."""

from __future__ import annotations

from django import template

from smarketing.org.roles import role_names

register = template.Library()


@register.simple_tag
def viewer_role_label(user):
    names = sorted(role_names(user))
    membership = getattr(user, "membership", None)
    label = ", ".join(names) or "Employee"
    return f"{label} ({membership.team.name})" if membership else label

"""Template tags for the inbox."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return user.notifications.filter(read_at__isnull=True).count()

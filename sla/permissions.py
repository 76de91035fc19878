"""Who may change a team's calendar through the API: its manager or an admin, refused with
403 before the body is looked at (`sla.calendars.may_edit`, which the services check too)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from sla import calendars
from smarketing.core.errors import ActionError
from smarketing.org.models import Team
from smarketing.org.permissions import handles


class CalendarEditor(IsAuthenticated):
    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or not handles(view, request.method):
            return True
        team = Team.objects.filter(pk=view.kwargs.get("team_id")).first()
        if team is None:
            return True  # the view answers 404
        if calendars.may_edit(request.user, team):
            return True
        raise ActionError(calendars.refusal(team), code=ActionError.FORBIDDEN)

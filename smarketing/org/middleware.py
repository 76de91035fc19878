"""Times on every page in the viewer's team's time zone."""

import zoneinfo

from django.utils import timezone


class ViewerTimeZoneMiddleware:
    """Show times in the viewer's team time zone (the organisation's zone otherwise)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = getattr(request.user, "membership", None) if request.user.is_authenticated else None
        if membership is not None:
            timezone.activate(zoneinfo.ZoneInfo(membership.team.time_zone))
        else:
            timezone.deactivate()
        return self.get_response(request)

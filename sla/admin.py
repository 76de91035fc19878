from django.contrib import admin

from sla.models import CalendarClosure, Clock, EnforcementRun, TeamCalendar
from smarketing.core.admin import ReadOnlyAdmin


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdmin):
    list_display = [
        "lead",
        "obligation",
        "owner",
        "started_at",
        "due_at",
        "warned_at",
        "met_at",
        "breached_at",
        "cancelled_at",
    ]
    list_filter = ["obligation"]
    list_select_related = ["lead", "owner"]
    date_hierarchy = "due_at"


@admin.register(EnforcementRun)
class EnforcementRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "warned", "breached"]


# Calendars are edited on /agreement/calendars/ (audited); the admin shows them.
@admin.register(TeamCalendar)
class TeamCalendarAdmin(ReadOnlyAdmin):
    list_display = ["team", "hours", "holiday_country", "holiday_subdivision", "updated_at"]
    list_select_related = ["team"]


@admin.register(CalendarClosure)
class CalendarClosureAdmin(ReadOnlyAdmin):
    list_display = ["calendar", "date", "reason"]
    list_select_related = ["calendar__team"]

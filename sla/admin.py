from django.contrib import admin

from leads.admin import ReadOnlyAdmin

from .models import Clock, EnforcementRun


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

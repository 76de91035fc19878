from django.contrib import admin

from reports.models import DigestRun, WeekSnapshot
from smarketing.core.admin import ReadOnlyAdmin


@admin.register(WeekSnapshot)
class WeekSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["week_start", "frozen_at"]
    date_hierarchy = "week_start"


@admin.register(DigestRun)
class DigestRunAdmin(ReadOnlyAdmin):
    list_display = ["week_start", "sent_at", "recipients"]

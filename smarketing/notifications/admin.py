"""Admin for the notification outbox (read-only)."""

from __future__ import annotations

from django.contrib import admin

from smarketing.core.admin import ReadOnlyAdmin
from smarketing.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "kind", "subject", "read_at", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]

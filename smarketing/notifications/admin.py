"""Admin for the notification outbox (read-only)."""

from __future__ import annotations

from django.contrib import admin

from smarketing.core.admin import ReadOnlyAdmin
from smarketing.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "kind", "subject", "read_at", "emailed_at", "email_failed_at"]
    list_filter = ["kind", ("email_failed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient"]

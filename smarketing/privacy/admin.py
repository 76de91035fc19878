"""Admin for a person's rights: read-only (the audit is written by the services alone; the
policy is changed on the privacy page, where the change is audited)."""

from __future__ import annotations

from django.contrib import admin

from smarketing.core.admin import ReadOnlyAdmin
from smarketing.privacy.models import PrivacyAudit, RetentionPolicy, RetentionRun


@admin.register(PrivacyAudit)
class PrivacyAuditAdmin(ReadOnlyAdmin):
    # The lead by its id: its name would put a personal value in the audit's pages.
    list_display = ["at", "action", "actor", "lead_id", "reference"]
    list_filter = ["action"]
    list_select_related = ["actor"]
    fields = readonly_fields = ["action", "actor", "at", "lead_id", "reference", "detail"]


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "enabled",
        "inactive_months",
        "disqualified_months",
        "updated_by",
        "updated_at",
    ]
    list_select_related = ["updated_by"]


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "status", "started_by", "people", "leads", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["started_by"]

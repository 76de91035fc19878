"""Admin for every model. Stage and events are read-only here: the stage machine lives in
leads.services, and profile edits made here go through it too, so they are audited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models

from leads import services
from leads.models import Engagement, Lead, LeadEvent, Touch
from smarketing.core.admin import ReadOnlyAdmin
from smarketing.core.errors import ActionError

# Django 6 assumes https for scheme-less URLs; say so now, the same on both versions.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


def search_by_lead(queryset, search_term: str):
    """The rows of `queryset` whose lead the lead list's search finds (`LeadQuerySet.search`:
    names, email, company, campaign, what the lead did), through its indexes. `lead__email`
    alone in `search_fields` would read every lead: migration 0017 dropped the per-column
    trigram index it used. (With other fields beside it, as for engagements, the OR across
    the join read every lead anyway.)"""
    return queryset.filter(lead__in=Lead.objects.search(search_term).order_by().values("pk"))


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "type", "from_stage", "to_stage", "actor", "reason", "note"]
    readonly_fields = fields
    ordering = ["occurred_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "reason")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "first_name",
        "last_name",
        "company",
        "stage",
        "owner",
        "source",
        "campaign",
        "created_at",
    ]
    list_filter = ["stage", "source", "campaign"]
    list_select_related = ["owner", "campaign"]
    search_fields = ["email", "first_name", "last_name", "company"]  # see get_search_results
    readonly_fields = [
        "stage",
        "stage_entered_at",
        "owner",
        "qualified_by",
        "qualified_at",
        "score",
        "score_receipt",
        "scored_version",
        "scored_at",
        "recycle_count",
        "deal_amount",
        "closed_on",
        "merged_into",
        "version",
        "created_by",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["referrer"]
    formfield_overrides = URL_FIELDS
    inlines = [LeadEventInline]
    FIRST_TOUCH = ["source", "campaign", "referrer"]

    def get_readonly_fields(self, request, obj=None):
        # First touch is recorded at creation and never overwritten.
        return self.readonly_fields + (self.FIRST_TOUCH if obj else [])

    def save_model(self, request, obj, form, change):
        fields = {
            name: form.cleaned_data[name]
            for name in services.PROFILE_FIELDS + ("email",)
            if name in form.cleaned_data
        }
        try:
            if change:
                saved = services.lead_update(lead_id=obj.pk, actor=request.user, **fields)
            else:
                saved = services.lead_create(
                    actor=request.user,
                    source=form.cleaned_data["source"],
                    campaign=form.cleaned_data.get("campaign"),
                    referrer=form.cleaned_data.get("referrer"),
                    via="admin",
                    **fields,
                )
        except ActionError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = saved.pk
        obj.refresh_from_db()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), level=messages.ERROR)
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.path)

    def has_delete_permission(self, request, obj=None):
        return False  # the event log points at leads; merge or disqualify instead

    def get_search_results(self, request, queryset, search_term):
        # The lead list's search, on its trigram index, rather than `icontains` on each of
        # search_fields (whose own indexes migration 0017 dropped). No joins: no duplicates.
        if not search_term.strip():
            return queryset, False
        return queryset.search(search_term), False


@admin.register(LeadEvent)
class LeadEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "lead", "type", "from_stage", "to_stage", "actor", "reason"]
    list_filter = ["type", "to_stage"]
    list_select_related = ["lead", "actor", "reason"]
    search_fields = ["lead__email"]  # see get_search_results
    date_hierarchy = "occurred_at"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return search_by_lead(queryset, search_term), False


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "lead", "type", "title", "points", "origin"]
    list_filter = ["type", "origin"]
    list_select_related = ["lead"]
    raw_id_fields = ["lead", "logged_by"]
    formfield_overrides = URL_FIELDS
    search_fields = ["lead__email", "title", "external_id"]


@admin.register(Touch)
class TouchAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "lead", "kind", "outcome", "by"]
    list_filter = ["kind", "outcome"]
    list_select_related = ["lead", "by"]

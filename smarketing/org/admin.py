"""Admin for teams (with their members) and campaigns."""

from __future__ import annotations

from django.contrib import admin

from smarketing.core.admin import ReadOnlyAdmin
from smarketing.org.models import Campaign, CampaignChange, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["assigned_count"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "time_zone", "manager"]
    list_select_related = ["manager"]
    inlines = [MembershipInline]


# Campaigns are created and edited on /campaigns/ (and the API), through the service that
# validates and audits each change (smarketing.org.campaigns); the admin shows them.


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "channel", "starts_on", "ends_on", "budget", "cost", "owner", "version"]
    list_select_related = ["owner"]
    list_filter = ["channel"]
    search_fields = ["name"]


@admin.register(CampaignChange)
class CampaignChangeAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "campaign", "action", "actor"]
    list_select_related = ["campaign", "actor"]
    list_filter = ["action"]

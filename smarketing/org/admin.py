"""Admin for teams (with their members) and campaigns."""

from __future__ import annotations

from django.contrib import admin

from smarketing.org.models import Campaign, Membership, Team


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


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "cost", "starts_on", "ends_on"]
    list_filter = ["channel"]
    search_fields = ["name"]

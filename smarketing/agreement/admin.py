"""Admin for the agreement. Read-only: changes go through the agreement's pages and API,
which audit them and put them to both managers (versions)."""

from __future__ import annotations

from django.contrib import admin

from smarketing.agreement.models import (
    AgreementChange,
    AgreementVersion,
    HandoffGate,
    Reason,
    RoutingRule,
    ScoringDefinition,
    ScoringRule,
)
from smarketing.core.admin import ReadOnlyAdmin


@admin.register(Reason)
class ReasonAdmin(ReadOnlyAdmin):
    """Read-only: the reasons are part of the agreement, changed on /agreement/reasons/ in a
    version both managers confirm."""

    list_display = ["label", "kind", "code", "loss_outcome", "is_active", "position"]
    list_filter = ["kind", "is_active"]


# The agreement is edited on its own pages (/agreement/...), through services that audit
# each change and re-score leads; the admin shows it read-only.


@admin.register(ScoringDefinition)
class ScoringDefinitionAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "threshold",
        "auto_qualify",
        "decay_half_life_days",
        "updated_at",
        "updated_by",
    ]


@admin.register(ScoringRule)
class ScoringRuleAdmin(ReadOnlyAdmin):
    list_display = ["label", "kind", "field", "operator", "value", "engagement_type", "points", "is_active"]
    list_filter = ["kind", "is_active"]


@admin.register(HandoffGate)
class HandoffGateAdmin(ReadOnlyAdmin):
    list_display = ["required_fields", "min_engagements", "updated_at", "updated_by"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(ReadOnlyAdmin):
    list_display = [
        "position",
        "name",
        "countries",
        "min_company_size",
        "max_company_size",
        "team",
        "is_active",
    ]
    list_select_related = ["team"]


@admin.register(AgreementChange)
class AgreementChangeAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "area", "summary", "actor"]
    list_filter = ["area"]
    list_select_related = ["actor"]


@admin.register(AgreementVersion)
class AgreementVersionAdmin(ReadOnlyAdmin):
    """Read-only: versions are proposed, confirmed and withdrawn on /agreement/."""

    list_display = ["number", "status", "proposed_by", "proposed_at", "in_force_from", "in_force_until"]
    list_filter = ["status"]
    list_select_related = ["proposed_by"]

"""API representations. Read-only here; writes go through leads.services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Campaign, Lead, LeadEvent, Reason, Team
from .roles import role_names

User = get_user_model()


class UserMiniSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


class CampaignMiniSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "name", "channel"]


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "name", "channel", "cost", "starts_on", "ends_on"]


class ReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reason
        fields = ["id", "kind", "code", "label", "description", "loss_outcome", "is_active"]


class TeamSerializer(serializers.ModelSerializer):
    manager = UserMiniSerializer(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "kind", "time_zone", "manager"]


class LeadSerializer(serializers.ModelSerializer):
    owner = UserMiniSerializer(read_only=True)
    qualified_by = UserMiniSerializer(read_only=True)
    referrer = UserMiniSerializer(read_only=True)
    campaign = CampaignMiniSerializer(read_only=True)
    is_recycled = serializers.BooleanField(read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "job_title",
            "company_size",
            "country",
            "website",
            "source",
            "campaign",
            "referrer",
            "stage",
            "stage_entered_at",
            "owner",
            "qualified_by",
            "qualified_at",
            "score",
            "recycle_count",
            "is_recycled",
            "deal_amount",
            "closed_on",
            "merged_into",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadEventSerializer(serializers.ModelSerializer):
    actor = UserMiniSerializer(read_only=True)
    reason = ReasonSerializer(read_only=True)

    class Meta:
        model = LeadEvent
        fields = [
            "id",
            "lead",
            "type",
            "from_stage",
            "to_stage",
            "actor",
            "occurred_at",
            "reason",
            "note",
            "data",
        ]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "roles", "team"]

    def get_roles(self, user) -> list[str]:
        return sorted(role_names(user))

    @extend_schema_field(TeamSerializer(allow_null=True))
    def get_team(self, user):
        membership = getattr(user, "membership", None)
        return TeamSerializer(membership.team).data if membership else None


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()

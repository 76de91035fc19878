"""API serializers for people, teams and campaigns."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.core import serializers as strict
from smarketing.org.models import Campaign, Team
from smarketing.org.roles import role_names

User = get_user_model()


class UserMiniSerializer(strict.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


class CampaignMiniSerializer(strict.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "name", "channel"]


class CampaignSerializer(strict.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "name", "channel", "cost", "starts_on", "ends_on"]


class TeamSerializer(strict.ModelSerializer):
    manager = UserMiniSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Team
        fields = ["id", "name", "kind", "time_zone", "manager"]


class MeSerializer(strict.ModelSerializer):
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
    username = strict.CharField()
    password = strict.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = strict.CharField()

"""API serializers for people, teams and campaigns."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.core import serializers as strict
from smarketing.core.inputs import BoundedDateSerializerField, IdField
from smarketing.org.models import Campaign, Channel, Team
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
    owner = UserMiniSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "channel", "budget", "cost", "starts_on", "ends_on", "owner", "version"]


def _amount(help_text: str, **kwargs) -> strict.DecimalField:
    return strict.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, help_text=help_text, **kwargs
    )


class CampaignWriteSerializer(serializers.Serializer):
    """A campaign's values as the API takes them (types only: the rules — a unique name,
    an end not before the start, an owner on the marketing side — are the service's,
    `smarketing.org.campaigns.campaign_clean`, refused with 422). A field it does not know
    is refused (400)."""

    refuses_unknown_fields = True

    name = strict.CharField(max_length=200, trim_whitespace=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    budget = _amount("Planned spend; null for none.", allow_null=True)
    cost = _amount("Actual cost so far: what ROI and cost per customer divide by.")
    starts_on = BoundedDateSerializerField(required=False, allow_null=True)
    ends_on = BoundedDateSerializerField(required=False, allow_null=True)
    owner = IdField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="A user id on the marketing side; null for none.",
    )

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
        return attrs


class CampaignPatchSerializer(CampaignWriteSerializer):
    """The fields to change (the others stay); with `version`, an edit made on a stale copy
    is refused with 409."""

    name = strict.CharField(max_length=200, trim_whitespace=False, required=False)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The campaign version you saw; a stale one is refused with 409.",
    )


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

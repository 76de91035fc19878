"""API serializers for the agreement: reasons, scoring, the hand-off gate, routing, its terms in words."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.agreement.models import Reason, RoutingRule, ScoringDefinition, ScoringRule
from smarketing.agreement.scoring import RULE_FIELDS
from smarketing.agreement.services import GATE_FIELDS, ROUTING_RULE_FIELDS
from smarketing.core import serializers as strict
from smarketing.org.models import Source

User = get_user_model()


class ReasonSerializer(strict.ModelSerializer):
    class Meta:
        model = Reason
        fields = ["id", "kind", "code", "label", "description", "loss_outcome", "is_active", "position"]
        read_only_fields = ["code"]  # made from the label when the reason is added
        validators: list = []  # the service checks the list (a label once per kind)
        extra_kwargs = {"position": {"required": False}, "is_active": {"required": False}}

    def validate(self, data):
        if self.instance is not None and "kind" in data and data["kind"] != self.instance.kind:
            raise serializers.ValidationError(
                {"kind": "A reason keeps its kind: add a new reason instead."}, code="rule"
            )
        if self.instance is not None:
            data.pop("kind", None)
        return data


class ScoreLineSerializer(serializers.Serializer):
    rule = serializers.IntegerField()
    kind = strict.CharField()
    label = strict.CharField()
    points = serializers.IntegerField()
    detail = strict.CharField(required=False)
    engagement = serializers.IntegerField(required=False)
    before_decay = serializers.IntegerField(required=False)


class ScoringRuleSerializer(strict.ModelSerializer):
    class Meta:
        model = ScoringRule
        fields = ["id", *RULE_FIELDS]


class ScoringDefinitionSerializer(strict.ModelSerializer):
    rules = serializers.SerializerMethodField()

    class Meta:
        model = ScoringDefinition
        fields = ["version", "threshold", "auto_qualify", "decay_half_life_days", "updated_at", "rules"]

    @extend_schema_field(ScoringRuleSerializer(many=True))
    def get_rules(self, obj):
        return ScoringRuleSerializer(ScoringRule.objects.all(), many=True).data


class ScoringSettingsSerializer(serializers.Serializer):
    threshold = serializers.IntegerField(min_value=-1000, max_value=10000)
    auto_qualify = serializers.BooleanField()
    decay_half_life_days = serializers.IntegerField(min_value=1, max_value=3650, allow_null=True)


class HandoffGateSerializer(serializers.Serializer):
    required_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=list(GATE_FIELDS.items())), allow_empty=True
    )
    min_engagements = serializers.IntegerField(min_value=0, max_value=20)


class RoutingRuleSerializer(strict.ModelSerializer):
    sources = serializers.ListField(child=serializers.ChoiceField(choices=Source.choices), required=False)

    class Meta:
        model = RoutingRule
        fields = ["id", *ROUTING_RULE_FIELDS]


# --- the agreement in plain words (smarketing.agreement.terms) ---------------------------------------------------


class StageTermSerializer(serializers.Serializer):
    stage = strict.CharField()
    words = strict.CharField()


class ScoringRuleTermSerializer(serializers.Serializer):
    label = strict.CharField()
    kind = strict.CharField()
    words = strict.CharField()


class GateTermSerializer(serializers.Serializer):
    required_fields = serializers.ListField(child=strict.CharField())
    min_engagements = serializers.IntegerField()


class MqlDefinitionSerializer(serializers.Serializer):
    scoring_version = serializers.IntegerField()
    threshold = serializers.IntegerField()
    auto_qualify = serializers.BooleanField()
    rules = ScoringRuleTermSerializer(many=True)
    gate = GateTermSerializer()
    words = strict.CharField()


class SlaTermSerializer(serializers.Serializer):
    name = strict.CharField()
    priority = serializers.IntegerField()
    response_hours = strict.CharField(help_text="Business hours, as a decimal string.")
    follow_up_touches = serializers.IntegerField()
    follow_up_days = strict.CharField(help_text="Business days, as a decimal string.")
    on_breach = strict.CharField()
    words = strict.CharField()


class CommitmentTermSerializer(serializers.Serializer):
    team = strict.CharField()
    min_mqls = serializers.IntegerField()
    min_acceptance_percent = serializers.IntegerField()
    words = strict.CharField()


class AgreementTermsSerializer(serializers.Serializer):
    stages = StageTermSerializer(many=True)
    mql_definition = MqlDefinitionSerializer()
    sla_policies = SlaTermSerializer(many=True)
    reasons = serializers.DictField(child=serializers.ListField(child=strict.CharField()))
    commitments = CommitmentTermSerializer(many=True)

"""API representations. Read-only here; writes go through leads.services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from .agreement import ROUTING_RULE_FIELDS
from .models import (
    Campaign,
    EngagementType,
    ImportJob,
    ImportRow,
    Lead,
    LeadEvent,
    Notification,
    Reason,
    RoutingRule,
    ScoringDefinition,
    ScoringRule,
    Source,
    Stage,
    Team,
    Touch,
    TouchKind,
    TouchOutcome,
)
from .roles import role_names
from .scoring import RULE_FIELDS

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
        fields = ["id", "kind", "code", "label", "description", "loss_outcome", "is_active", "position"]
        read_only_fields = ["code"]  # made from the label when the reason is added
        validators: list = []  # the service checks the list (a label once per kind)
        extra_kwargs = {"position": {"required": False}, "is_active": {"required": False}}

    def validate(self, data):
        if self.instance is not None and "kind" in data and data["kind"] != self.instance.kind:
            raise serializers.ValidationError({"kind": "A reason keeps its kind: add a new reason instead."})
        if self.instance is not None:
            data.pop("kind", None)
        return data


class TeamSerializer(serializers.ModelSerializer):
    manager = UserMiniSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Team
        fields = ["id", "name", "kind", "time_zone", "manager"]


class ScoreLineSerializer(serializers.Serializer):
    rule = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()
    points = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    engagement = serializers.IntegerField(required=False)
    before_decay = serializers.IntegerField(required=False)


class FieldsOnceMixin:
    """Build a read-only serializer's fields once per class, not once per response.

    A ModelSerializer builds its fields from the model on every instantiation (about a
    millisecond for a lead with its nested people and campaign: more than the rest of a
    create's response). For a serializer whose fields only read the instance they are
    given, and never the context, the request or the serializer's own state, that work is
    the same every time: the fields are built once, bound to a bare instance (so that no
    request or object is kept), and shared by every later instance of the class (reading
    them is thread-safe; nothing writes to them). Not for serializers that validate input
    or whose fields depend on the context."""

    # (The docstring above is also the OpenAPI description of serializers without one of
    # their own, such as LeadSerializer: it is kept as published.) An input serializer may
    # use this too when it is never `partial` (the bare instance is not) and no field needs
    # the context (CurrentUserDefault, HiddenField, a queryset per request): validating
    # keeps nothing on the fields (errors and validated data are the serializer's), and
    # deep-copying the declared fields per request costs about half a millisecond for the
    # ten of a new lead (profile_api.LeadWriteSerializer).

    @property
    def fields(self):
        cls = type(self)
        shared = cls.__dict__.get("_fields_once")
        if shared is None:
            template = cls()
            shared = BindingDict(template)
            for name, field in template.get_fields().items():
                shared[name] = field
            cls._fields_once = shared  # two threads may both build it: the same fields
        return shared


class LeadSerializer(FieldsOnceMixin, serializers.ModelSerializer):
    owner = UserMiniSerializer(read_only=True, allow_null=True)
    qualified_by = UserMiniSerializer(read_only=True, allow_null=True)
    referrer = UserMiniSerializer(read_only=True, allow_null=True)
    campaign = CampaignMiniSerializer(read_only=True, allow_null=True)
    is_recycled = serializers.BooleanField(read_only=True)
    score_receipt = serializers.SerializerMethodField()
    website = serializers.CharField(read_only=True, help_text="A URL, or empty.")

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
            "score_receipt",
            "scored_version",
            "agreement_version",
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

    @extend_schema_field(ScoreLineSerializer(many=True))
    def get_score_receipt(self, obj) -> list:
        return obj.score_receipt


class LeadEventSerializer(serializers.ModelSerializer):
    actor = UserMiniSerializer(
        read_only=True, allow_null=True, help_text="None for the system (imports, SLA)."
    )
    reason = ReasonSerializer(read_only=True, allow_null=True)
    from_stage = serializers.ChoiceField(choices=Stage.choices, allow_blank=True, read_only=True)
    to_stage = serializers.ChoiceField(
        choices=Stage.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty for events that keep the stage.",
    )

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


# --- actions ----------------------------------------------------------------------------------


class ActionSerializer(serializers.Serializer):
    """Fields every action accepts: the version the client saw, and a note."""

    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The lead version you saw; a stale one is refused with 409."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class QualifySerializer(ActionSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="A manager may choose the rep instead of routing.",
    )


class ReasonActionSerializer(ActionSerializer):
    reason = serializers.IntegerField(help_text="Id of a reason of the right kind (see /api/reasons/).")


class WinSerializer(ActionSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    closed_on = serializers.DateField()


class ReassignSerializer(ActionSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


class TouchCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TouchKind.choices)
    outcome = serializers.ChoiceField(choices=TouchOutcome.choices)
    occurred_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class TouchSerializer(serializers.ModelSerializer):
    by = UserMiniSerializer(read_only=True)

    class Meta:
        model = Touch
        fields = ["id", "lead", "kind", "outcome", "occurred_at", "by", "note"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "lead", "subject", "body", "created_at", "read_at"]
        read_only_fields = fields


class HandoffSerializer(serializers.Serializer):
    """One hand-off I made and what became of it."""

    event_id = serializers.IntegerField()
    lead = serializers.IntegerField()
    lead_name = serializers.CharField()
    company = serializers.CharField()
    campaign = serializers.CharField(allow_null=True)
    handed_off_at = serializers.DateTimeField()
    outcome = serializers.CharField(help_text="waiting, accepted, rejected, won, lost or disqualified")
    outcome_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    amount = serializers.CharField(allow_null=True)


class ScoringRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringRule
        fields = ["id", *RULE_FIELDS]


class ScoringDefinitionSerializer(serializers.ModelSerializer):
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


class ImportRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRow
        fields = ["row_number", "outcome", "message", "email", "lead", "values"]


class ImportPlanSerializer(serializers.Serializer):
    row_number = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=["create", "update", "skip", "fail"])
    message = serializers.CharField()
    email = serializers.CharField()
    lead_id = serializers.IntegerField(allow_null=True)


class ImportPreviewSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    truncated = serializers.BooleanField(help_text="True when only the first rows were checked.")
    error = serializers.CharField()
    rows = ImportPlanSerializer(many=True, source="plans")


class ImportJobSerializer(serializers.ModelSerializer):
    created_by = UserMiniSerializer(read_only=True, allow_null=True)
    percent = serializers.IntegerField(read_only=True)
    fields_available = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "file_name",
            "file_size",
            "created_by",
            "created_at",
            "status",
            "encoding",
            "delimiter",
            "headers",
            "mapping",
            "fields_available",
            "default_source",
            "campaign",
            "rows_estimate",
            "rows_done",
            "percent",
            "created_count",
            "updated_count",
            "skipped_count",
            "failed_count",
            "error",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_fields_available(self, obj) -> dict:
        from .importing import FIELDS

        return FIELDS


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, help_text="A CSV file: UTF-8 (with or without BOM) or Latin-1; , ; or tab."
    )


class ImportConfigureSerializer(serializers.Serializer):
    mapping = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    default_source = serializers.ChoiceField(choices=Source.choices, required=False)
    campaign = serializers.IntegerField(required=False, allow_null=True)


class ProfileFieldsSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    company_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    website = serializers.URLField(max_length=300, required=False, allow_blank=True)


class EngagementIngestSerializer(ProfileFieldsSerializer):
    email = serializers.EmailField()
    type = serializers.ChoiceField(choices=EngagementType.choices)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    origin = serializers.SlugField(max_length=50, required=False, default="api")
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False, default=Source.WEBSITE)
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True
    )


class InboundFormSerializer(ProfileFieldsSerializer):
    email = serializers.EmailField()
    form = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="The form's name"
    )
    page_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=EngagementType.choices, required=False, default="form_submit")


class IngestResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    engagement = serializers.IntegerField()
    lead_created = serializers.BooleanField()
    engagement_created = serializers.BooleanField()


class HandoffGateSerializer(serializers.Serializer):
    required_fields = serializers.ListField(child=serializers.CharField(), allow_empty=True)
    min_engagements = serializers.IntegerField(min_value=0, max_value=20)


class RoutingRuleSerializer(serializers.ModelSerializer):
    sources = serializers.ListField(child=serializers.ChoiceField(choices=Source.choices), required=False)

    class Meta:
        model = RoutingRule
        fields = ["id", *ROUTING_RULE_FIELDS]


class RecycledLeadSerializer(serializers.ModelSerializer):
    campaign = CampaignMiniSerializer(read_only=True, allow_null=True)
    feedback_type = serializers.CharField(read_only=True, help_text="rejected or lost")
    feedback_reason = serializers.CharField(read_only=True, allow_null=True)
    feedback_note = serializers.CharField(read_only=True, allow_null=True)
    feedback_by = serializers.CharField(read_only=True, allow_null=True, help_text="username of the rep")
    sent_back_at = serializers.DateTimeField(source="stage_entered_at", read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "company",
            "campaign",
            "score",
            "recycle_count",
            "version",
            "feedback_type",
            "feedback_reason",
            "feedback_note",
            "feedback_by",
            "sent_back_at",
        ]


class SnoozeSerializer(ActionSerializer):
    until = serializers.DateField(help_text="The day the lead asked to be contacted again.")
    reason = serializers.CharField(max_length=500)


# --- the agreement in plain words (leads.terms) ---------------------------------------------------


class StageTermSerializer(serializers.Serializer):
    stage = serializers.CharField()
    words = serializers.CharField()


class ScoringRuleTermSerializer(serializers.Serializer):
    label = serializers.CharField()
    kind = serializers.CharField()
    words = serializers.CharField()


class GateTermSerializer(serializers.Serializer):
    required_fields = serializers.ListField(child=serializers.CharField())
    min_engagements = serializers.IntegerField()


class MqlDefinitionSerializer(serializers.Serializer):
    scoring_version = serializers.IntegerField()
    threshold = serializers.IntegerField()
    auto_qualify = serializers.BooleanField()
    rules = ScoringRuleTermSerializer(many=True)
    gate = GateTermSerializer()
    words = serializers.CharField()


class SlaTermSerializer(serializers.Serializer):
    name = serializers.CharField()
    priority = serializers.IntegerField()
    response_hours = serializers.CharField(help_text="Business hours, as a decimal string.")
    follow_up_touches = serializers.IntegerField()
    follow_up_days = serializers.CharField(help_text="Business days, as a decimal string.")
    on_breach = serializers.CharField()
    words = serializers.CharField()


class CommitmentTermSerializer(serializers.Serializer):
    team = serializers.CharField()
    min_mqls = serializers.IntegerField()
    min_acceptance_percent = serializers.IntegerField()
    words = serializers.CharField()


class AgreementTermsSerializer(serializers.Serializer):
    stages = StageTermSerializer(many=True)
    mql_definition = MqlDefinitionSerializer()
    sla_policies = SlaTermSerializer(many=True)
    reasons = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    commitments = CommitmentTermSerializer(many=True)

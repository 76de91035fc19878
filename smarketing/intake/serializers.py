"""API serializers for imports, inbound engagements and forms, and referrals."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.models import Stage
from smarketing.core import serializers as strict
from smarketing.core.inputs import BoundedDateTimeSerializerField, IdField
from smarketing.intake import migration
from smarketing.intake.models import CONTEXT_MAX, ImportJob, ImportKind, ImportRow, MigrationSystem, Referral
from smarketing.intake.values import FIELDS
from smarketing.org.models import Campaign, EngagementType, Source
from smarketing.org.serializers import UserMiniSerializer

User = get_user_model()


class ImportRowSerializer(strict.ModelSerializer):
    class Meta:
        model = ImportRow
        fields = ["row_number", "outcome", "message", "email", "lead", "values"]


class ImportPlanSerializer(serializers.Serializer):
    row_number = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=["create", "update", "skip", "fail"])
    message = strict.CharField()
    email = strict.CharField()
    lead_id = serializers.IntegerField(allow_null=True)
    stage = serializers.SerializerMethodField(help_text="A migration's row: the stage its lead ends in.")
    steps = serializers.SerializerMethodField(
        help_text="A migration's row: its path, each step with its date."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_stage(self, plan) -> str | None:
        return plan.history.stage if plan.history is not None and plan.outcome == "create" else None

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_steps(self, plan) -> list:
        if plan.history is None or plan.outcome != "create":
            return []
        return [{"transition": "create", "at": plan.history.created_at.isoformat()}] + [
            {"transition": step.transition, "at": step.at.isoformat(), "to": step.to}
            for step in plan.history.steps
        ]


class FoundValueSerializer(serializers.Serializer):
    value = strict.CharField()
    rows = serializers.IntegerField(help_text="Rows with this value among the first rows read.")
    maps_to = serializers.JSONField(
        help_text="A stage, a user id, a source code or a reason id; null: nothing."
    )
    label = strict.CharField(help_text="What it maps to, in words (or why it maps to nothing).")
    changed = serializers.BooleanField(help_text="True when the manager changed the default.")


class ImportPreviewSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    truncated = serializers.BooleanField(help_text="True when only the first rows were checked.")
    error = strict.CharField()
    rows = ImportPlanSerializer(many=True, source="plans")


class ImportJobSerializer(strict.ModelSerializer):
    created_by = UserMiniSerializer(read_only=True, allow_null=True)
    system = serializers.CharField(
        read_only=True, help_text="A migration's CRM: hubspot or salesforce; empty for an everyday import."
    )
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
            "kind",
            "system",
            "value_maps",
            "fallback_owner",
            "disqualification_reason",
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

    @extend_schema_field(serializers.DictField(child=strict.CharField()))
    def get_fields_available(self, obj) -> dict:
        if obj.kind == ImportKind.MIGRATION:
            return migration.FIELDS

        return FIELDS


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=ImportKind.choices,
        default=ImportKind.LEADS,
        help_text="leads: new leads (marketing); migration: leads with their history from HubSpot or "
        "Salesforce (managers; docs/migration.md).",
    )
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="A CSV file (UTF-8 with or without BOM, or Latin-1; , ; or tab) or an Excel workbook "
        "(.xlsx, told by its content: its first sheet, the header in its first non-empty row).",
    )


class ImportConfigureSerializer(serializers.Serializer):
    mapping = serializers.DictField(child=strict.CharField(allow_blank=True), required=False)
    default_source = serializers.ChoiceField(choices=Source.choices, required=False)
    campaign = serializers.IntegerField(required=False, allow_null=True)
    system = serializers.ChoiceField(
        choices=MigrationSystem.choices, required=False, help_text="A migration only."
    )
    value_maps = serializers.DictField(
        child=serializers.DictField(child=serializers.JSONField(allow_null=True)),
        required=False,
        help_text="A migration only: {stage|status|deal_stage|owner|source|loss_reason: {value: what it becomes}}.",
    )
    fallback_owner = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="A migration only: the active sales rep for unmatched owners.",
    )
    disqualification_reason = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="A migration only: the agreed reason disqualified rows get.",
    )


class ProfileFieldsSerializer(serializers.Serializer):
    first_name = strict.CharField(max_length=100, required=False, allow_blank=True)
    last_name = strict.CharField(max_length=100, required=False, allow_blank=True)
    phone = strict.CharField(max_length=40, required=False, allow_blank=True)
    company = strict.CharField(max_length=200, required=False, allow_blank=True)
    job_title = strict.CharField(max_length=200, required=False, allow_blank=True)
    company_size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    country = strict.CharField(max_length=2, required=False, allow_blank=True)
    website = strict.URLField(max_length=300, required=False, allow_blank=True)


class EngagementIngestSerializer(ProfileFieldsSerializer):
    email = strict.EmailField()
    type = serializers.ChoiceField(choices=EngagementType.choices)
    occurred_at = BoundedDateTimeSerializerField(required=False, allow_null=True)
    title = strict.CharField(max_length=300, required=False, allow_blank=True)
    url = strict.URLField(max_length=500, required=False, allow_blank=True)
    origin = strict.SlugField(max_length=50, required=False, default="api")
    external_id = strict.CharField(max_length=200, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False, default=Source.WEBSITE)
    campaign = IdField(queryset=Campaign.objects.all(), required=False, allow_null=True)


@extend_schema_field({"oneOf": [{"type": "string", "maxLength": 40}, {"type": "boolean"}]})
class ConsentAnswerField(serializers.Field):
    """A form's answer on marketing contact: a word (given, refused, withdrawn; or a
    checkbox's value: yes/no, on/off, true/false) or a JSON boolean. Which words mean what
    is the service's (`inbound.inbound_consent`)."""

    default_error_messages = {"invalid": "Send given, refused or withdrawn, or true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, str) and len(data) <= 40):
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class InboundFormSerializer(ProfileFieldsSerializer):
    """A website form's post. Of the profile fields, only those its inbound source allows
    (set up by a manager); the engagement it records is the source's, and so is the
    consent wording an answer is recorded with."""

    email = strict.EmailField()
    form = strict.CharField(max_length=300, required=False, allow_blank=True, help_text="The form's name")
    page_url = strict.URLField(max_length=500, required=False, allow_blank=True)
    consent = ConsentAnswerField(
        required=False,
        help_text="The person's answer to the form's consent question: given, refused or withdrawn, or "
        "the checkbox's true/false (yes/no, on/off); left out: nothing recorded. Recorded with the "
        "wording the inbound source's form shows, set in Smarketing (a source without one refuses it).",
    )


class InboundReceivedSerializer(serializers.Serializer):
    """The same answer for every accepted post, whether the person was new or known."""

    received = serializers.BooleanField()


class IngestResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    engagement = serializers.IntegerField()
    lead_created = serializers.BooleanField()
    engagement_created = serializers.BooleanField()


# --- referrals -------------------------------------------------------------------------------------


def _text(**kwargs) -> strict.CharField:
    return strict.CharField(required=False, allow_blank=True, default="", **kwargs)


class ReferralWriteSerializer(serializers.Serializer):
    """A referral: who the person is and what they need. The contact's lengths and formats
    are checked by the service (as the lead's profile is: 422 with the page's message)."""

    refuses_unknown_fields = True  # the schema says so: additionalProperties false

    email = strict.CharField(help_text="Compared after normalisation (trimmed, case-folded).")
    context = strict.CharField(
        max_length=CONTEXT_MAX,
        allow_blank=True,
        help_text="What the person needs, and why you think so. Required: blank is refused (422).",
    )
    first_name = _text()
    last_name = _text()
    company = _text()
    phone = _text()
    job_title = _text()

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
        return attrs


class ReferralSerializer(strict.ModelSerializer):
    """A referral and what became of it: `created` (a new lead) or `attached` (the person
    was known: the note is on their lead); `credited`: the referrer became the lead's
    referrer with it."""

    referrer = UserMiniSerializer(read_only=True)
    stage = serializers.ChoiceField(
        choices=Stage.choices, source="lead.stage", read_only=True, help_text="The lead's stage now."
    )
    message = serializers.SerializerMethodField(
        help_text="What the referrer is told: in the answer to a referral (null in lists)."
    )

    class Meta:
        model = Referral
        fields = [
            "id",
            "referrer",
            "lead",
            "stage",
            "outcome",
            "credited",
            "context",
            "email",
            "first_name",
            "last_name",
            "company",
            "phone",
            "job_title",
            "created_at",
            "message",
        ]
        read_only_fields = fields

    @extend_schema_field(strict.CharField(allow_null=True))
    def get_message(self, referral) -> str | None:
        return getattr(referral, "message", None)

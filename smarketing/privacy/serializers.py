"""API serializers of a person's rights: the audit trail, the requests to export or erase
a person, the retention policy, its preview and its runs. No answer here holds a personal
value but the preview's leads (what a run would anonymise, for a manager to check)."""

from __future__ import annotations

from rest_framework import serializers

from leads.models import Lead
from smarketing.core import serializers as strict
from smarketing.org.serializers import UserMiniSerializer
from smarketing.privacy.forms import CONFIRM_WORD
from smarketing.privacy.models import PrivacyAudit, RetentionPolicy, RetentionRun
from smarketing.privacy.retention import MONTHS_MAX
from smarketing.privacy.services import REFERENCE_MAX


class _Body(serializers.Serializer):
    """A request body that refuses fields it does not know (the schema says so:
    `additionalProperties: false`)."""

    refuses_unknown_fields = True

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
        return attrs


class PrivacyAuditSerializer(strict.ModelSerializer):
    actor = UserMiniSerializer(
        read_only=True, allow_null=True, help_text="Who acted; null: the nightly retention run."
    )
    action_label = strict.CharField(source="get_action_display", read_only=True)
    detail = serializers.DictField(
        read_only=True,
        help_text="Figures only: the person's lead ids and how many rows of each kind were "
        "exported or changed; a policy's values before and after; a run's counts.",
    )

    class Meta:
        model = PrivacyAudit
        fields = ["id", "action", "action_label", "actor", "at", "lead", "reference", "detail"]
        read_only_fields = fields
        extra_kwargs = {
            "lead": {"help_text": "The person's (first) lead; after an erasure, an anonymous record."}
        }


class PersonExportSerializer(_Body):
    reference = strict.CharField(
        max_length=REFERENCE_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="The request's reference (a ticket number), kept in the audit; never the person's name.",
    )


class PersonEraseSerializer(_Body):
    reference = strict.CharField(
        max_length=REFERENCE_MAX,
        help_text="The request's reference (a ticket number), kept in the audit; never the person's name.",
    )
    confirm = strict.CharField(
        max_length=20, help_text=f"Must be {CONFIRM_WORD}: an erasure cannot be undone."
    )

    def validate_confirm(self, value: str) -> str:
        if value != CONFIRM_WORD:
            raise serializers.ValidationError(
                f"Send confirm: {CONFIRM_WORD} — an erasure cannot be undone.", code="rule"
            )
        return value


def _months(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1, max_value=MONTHS_MAX, allow_null=True, required=False, default=None, help_text=help_text
    )


class RetentionPolicySerializer(strict.ModelSerializer):
    updated_by = UserMiniSerializer(read_only=True, allow_null=True)

    class Meta:
        model = RetentionPolicy
        fields = ["enabled", "inactive_months", "disqualified_months", "updated_by", "updated_at"]
        read_only_fields = fields


class RetentionPolicyWriteSerializer(_Body):
    enabled = serializers.BooleanField(help_text="Apply the policy every night.")
    inactive_months = _months(
        "Anonymise leads with marketing (stage Lead) with no activity for this many months; null: never."
    )
    disqualified_months = _months("Anonymise disqualified leads this many months after; null: never.")


class LeadBriefSerializer(strict.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = ["id", "name", "stage", "created_at"]
        read_only_fields = fields

    def get_name(self, lead) -> str:
        return str(lead)


class RetentionPreviewSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Leads a run would anonymise now.")
    inactive = serializers.IntegerField(help_text="… of which with marketing and inactive.")
    disqualified = serializers.IntegerField(help_text="… of which disqualified long enough ago.")
    inactive_before = serializers.DateTimeField(
        allow_null=True, help_text="No activity since this moment; null: the period is not set."
    )
    disqualified_before = serializers.DateTimeField(
        allow_null=True, help_text="Disqualified before this moment; null: the period is not set."
    )
    first = LeadBriefSerializer(many=True, help_text="The first of them, by id.")


class RetentionRunSerializer(strict.ModelSerializer):
    started_by = UserMiniSerializer(
        read_only=True, allow_null=True, help_text="Who pressed Run now; null: the nightly run."
    )
    status_label = strict.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = RetentionRun
        fields = [
            "id",
            "status",
            "status_label",
            "started_at",
            "finished_at",
            "started_by",
            "inactive_before",
            "disqualified_before",
            "people",
            "leads",
            "error",
        ]
        read_only_fields = fields


class RunQueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    message = strict.CharField()

"""API serializers for imports and inbound engagements and forms."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.core import serializers as strict
from smarketing.core.inputs import BoundedDateTimeSerializerField, IdField
from smarketing.intake.models import ImportJob, ImportRow
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


class ImportPreviewSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    truncated = serializers.BooleanField(help_text="True when only the first rows were checked.")
    error = strict.CharField()
    rows = ImportPlanSerializer(many=True, source="plans")


class ImportJobSerializer(strict.ModelSerializer):
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

    @extend_schema_field(serializers.DictField(child=strict.CharField()))
    def get_fields_available(self, obj) -> dict:

        return FIELDS


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, help_text="A CSV file: UTF-8 (with or without BOM) or Latin-1; , ; or tab."
    )


class ImportConfigureSerializer(serializers.Serializer):
    mapping = serializers.DictField(child=strict.CharField(allow_blank=True), required=False)
    default_source = serializers.ChoiceField(choices=Source.choices, required=False)
    campaign = serializers.IntegerField(required=False, allow_null=True)


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


class InboundFormSerializer(ProfileFieldsSerializer):
    """A website form's post. Of the profile fields, only those its inbound source allows
    (set up by a manager); the engagement it records is the source's."""

    email = strict.EmailField()
    form = strict.CharField(max_length=300, required=False, allow_blank=True, help_text="The form's name")
    page_url = strict.URLField(max_length=500, required=False, allow_blank=True)


class InboundReceivedSerializer(serializers.Serializer):
    """The same answer for every accepted post, whether the person was new or known."""

    received = serializers.BooleanField()


class IngestResultSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    engagement = serializers.IntegerField()
    lead_created = serializers.BooleanField()
    engagement_created = serializers.BooleanField()

"""Create, edit and merge leads through the API: parse, call one service, serialize.

`LeadWriteMixin` goes in front of `leads.api.LeadViewSet`'s bases, which gives
`POST /api/leads/`, `PATCH /api/leads/{id}/` and `POST /api/leads/{id}/merge/`.
The serializers only type the input; what is valid is decided by the services, so the
API and the pages refuse the same input with the same messages.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from . import services
from .models import Campaign, Lead, Source
from .profile_forms import (
    EMAIL_REQUIRED,
    UNKNOWN_CAMPAIGN,
    UNKNOWN_SOURCE,
    WHOLE_NUMBER,
    MergeForm,
    likely_duplicates,
)
from .serializers import FieldsOnceMixin, LeadSerializer

DUPLICATE_FIELDS = ("phone", "first_name", "last_name", "company")


class _StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, in the service's words, instead of ignoring them."""

    unknown_message = "Unknown field(s): {names}."

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(self.unknown_message.format(names=", ".join(sorted(unknown))))
        return attrs


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class LeadProfileSerializer(_StrictSerializer):
    """The contact and company profile as loose types: lengths and formats are checked
    by the service, which gives the same messages as the pages."""

    first_name = _text()
    last_name = _text()
    phone = _text()
    company = _text()
    job_title = _text()
    company_size = serializers.IntegerField(
        required=False, allow_null=True, error_messages={"invalid": WHOLE_NUMBER}
    )
    country = _text(help_text="ISO 3166-1 alpha-2 code, for example DE.")
    website = _text(help_text="A full URL, for example https://example.com.")


class LeadWriteSerializer(FieldsOnceMixin, LeadProfileSerializer):
    """A new lead: contact, company profile and first touch."""

    # Fields built once per class (FieldsOnceMixin): none needs the context, and a create
    # is never partial.

    email = serializers.CharField(
        help_text="Unique after normalisation (trimmed, case-folded); a duplicate is refused with 409.",
        error_messages={"required": EMAIL_REQUIRED, "blank": EMAIL_REQUIRED, "null": EMAIL_REQUIRED},
    )
    source = serializers.ChoiceField(
        choices=Source.choices,
        required=False,
        default=Source.OTHER,
        error_messages={"invalid_choice": UNKNOWN_SOURCE.replace("{value}", "{input}")},
        help_text="First touch; never changed later.",
    )
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": UNKNOWN_CAMPAIGN, "incorrect_type": UNKNOWN_CAMPAIGN},
        help_text="First touch; never changed later.",
    )


class LeadPatchSerializer(LeadProfileSerializer):
    """Changes to a lead's contact and company profile; send only what changes."""

    unknown_message = "These fields cannot be edited: {names}."

    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The lead version you saw; a stale one is refused with 409."
    )
    email = serializers.CharField(
        required=False,
        help_text="Unique after normalisation; another lead's email is refused with 409.",
        error_messages={"blank": EMAIL_REQUIRED, "null": EMAIL_REQUIRED},
    )


class LeadMergeSerializer(serializers.Serializer):
    other = serializers.PrimaryKeyRelatedField(
        queryset=Lead.objects.all(),
        help_text="Id of the other lead: the same person as this one.",
        error_messages={
            "does_not_exist": "No lead has the id {pk_value}.",
            "incorrect_type": "Give the other lead's id as a number.",
        },
    )
    survivor = serializers.ChoiceField(
        choices=MergeForm.SURVIVOR_CHOICES,
        default="this",
        help_text="Which lead survives: `this` (the one in the URL) or `other`.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class LikelyDuplicateSerializer(serializers.Serializer):
    code = serializers.SerializerMethodField()
    message = serializers.CharField()
    lead = serializers.IntegerField(source="lead.pk", help_text="Id of the lead that looks the same.")
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="“same phone” and/or “same name and company”."
    )

    def get_code(self, obj) -> str:
        return "likely_duplicate"


class LeadWithWarningsSerializer(LeadSerializer):
    warnings = LikelyDuplicateSerializer(
        many=True,
        read_only=True,
        help_text="Leads that are probably the same person (same phone, or same name and company). "
        "Nothing is refused: merge them if they are.",
    )

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


class LeadWriteMixin:
    """Writes for `LeadViewSet`: create, partial update and merge, each one service call."""

    def get_serializer_class(self):
        by_action = {
            "create": LeadWriteSerializer,
            "partial_update": LeadPatchSerializer,
            "merge": LeadMergeSerializer,
        }
        return by_action.get(getattr(self, "action", None)) or super().get_serializer_class()

    def _likely_duplicates(self, lead: Lead):
        """Other live leads like the saved one (its stored, normalised values)."""
        return likely_duplicates(
            **{name: getattr(lead, name) for name in DUPLICATE_FIELDS}, exclude_id=lead.pk
        )

    def _with_warnings(self, lead: Lead | int, warnings, status_code=status.HTTP_200_OK) -> Response:
        """The lead as saved, with `warnings`; given its id, it is read again first."""
        if not isinstance(lead, Lead):
            lead = self.get_queryset().get(pk=lead)
        lead.warnings = warnings
        return Response(LeadWithWarningsSerializer(lead).data, status=status_code)

    @extend_schema(request=LeadWriteSerializer, responses={201: LeadWithWarningsSerializer})
    def create(self, request, *args, **kwargs):
        """Create a lead (marketing). A duplicate email is refused with 409 and the
        `existing_id`; likely duplicates are listed in `warnings` and do not block."""
        data = LeadWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lead = services.lead_create(actor=request.user, via="api", **values)
        # The service returns the row it wrote: no need to read it back.
        return self._with_warnings(lead, self._likely_duplicates(lead), status.HTTP_201_CREATED)

    @extend_schema(request=LeadPatchSerializer, responses=LeadWithWarningsSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Edit the contact and company profile. With `version`, a stale edit is refused
        with 409. Likely duplicates of the new phone, name or company come as `warnings`."""
        lead = self.get_object()
        data = LeadPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = values.pop("version", None)
        lead = services.lead_update(lead_id=lead.pk, actor=request.user, expected_version=version, **values)
        warnings = self._likely_duplicates(lead) if set(values) & set(DUPLICATE_FIELDS) else []
        return self._with_warnings(lead.pk, warnings)

    @extend_schema(request=LeadMergeSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def merge(self, request, pk=None):
        """Merge another lead with this one (a marketer or a manager). The survivor keeps
        both histories; the other becomes a pointer to it (`merged_into`)."""
        lead = self.get_object()
        data = LeadMergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        other = data.validated_data["other"]
        survivor, merged = (lead, other) if data.validated_data["survivor"] == "this" else (other, lead)
        result = services.lead_merge(
            survivor_id=survivor.pk, other_id=merged.pk, actor=request.user, note=data.validated_data["note"]
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=result.pk)).data)

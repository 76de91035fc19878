"""The leads API's serializers: a lead, its events and touches as read; the input of each
action; and of creating, editing and merging (`LeadWriteMixin` in `leads.api`).

They only type the input: what is valid is decided by the services, so the API and the
pages refuse the same input with the same messages. What a lead shows depends on who
asks: contact details and amounts only where the viewer's work needs them
(`smarketing.org.roles.sees_contact_details`).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from leads.forms import EMAIL_REQUIRED, UNKNOWN_CAMPAIGN, UNKNOWN_SOURCE, WHOLE_NUMBER, MergeForm
from leads.models import ConsentRecord, Lead, LeadEvent, Stage, Touch, TouchKind, TouchOutcome
from leads.permissions import event_data_shown
from smarketing.agreement.serializers import ReasonSerializer, ScoreLineSerializer
from smarketing.core import serializers as strict
from smarketing.core.inputs import BoundedDateSerializerField, BoundedDateTimeSerializerField, IdField
from smarketing.org.models import Campaign, Source
from smarketing.org.roles import sees_contact_details
from smarketing.org.serializers import CampaignMiniSerializer, UserMiniSerializer

User = get_user_model()


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


# A lead's values shown only where the viewer's work needs them (null to everyone else).
PRIVATE_FIELDS = ("email", "phone", "deal_amount")
PRIVATE = "Null where the viewer's work does not need it: an employee sees it for their own referrals only."


def viewer_sees_contact_details(serializer, lead) -> bool:
    request = serializer.context.get("request")
    return request is None or sees_contact_details(request.user, lead)


class LeadSerializer(FieldsOnceMixin, strict.ModelSerializer):
    email = strict.EmailField(read_only=True, allow_null=True, help_text=PRIVATE)
    phone = strict.CharField(read_only=True, allow_null=True, help_text=PRIVATE)
    deal_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True, help_text=PRIVATE
    )
    owner = UserMiniSerializer(read_only=True, allow_null=True)
    qualified_by = UserMiniSerializer(read_only=True, allow_null=True)
    referrer = UserMiniSerializer(read_only=True, allow_null=True)
    campaign = CampaignMiniSerializer(read_only=True, allow_null=True)
    is_recycled = serializers.BooleanField(read_only=True)
    score_receipt = serializers.SerializerMethodField()
    website = strict.CharField(read_only=True, help_text="A URL, or empty.")
    consent = strict.CharField(
        read_only=True,
        help_text="The person's latest answer on marketing contact: given, refused, withdrawn, "
        "or empty when none is recorded. Every answer: GET /api/leads/{id}/consent/.",
    )
    consent_method = strict.CharField(
        read_only=True, help_text="How the latest answer came: form, import, by_hand, api; or empty."
    )
    consent_wording = strict.CharField(read_only=True, help_text="The wording, or its version, answered.")
    lawful_basis = strict.CharField(
        read_only=True, help_text="consent, legitimate_interest, contract, or empty (not recorded)."
    )
    no_contact = serializers.BooleanField(
        read_only=True,
        help_text="The person refused or withdrew consent: never handed off automatically.",
    )
    erased_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the person was erased: from then on an anonymous record kept for the reports.",
    )

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
            "consent",
            "consent_at",
            "consent_method",
            "consent_wording",
            "lawful_basis",
            "no_contact",
            "erased_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ScoreLineSerializer(many=True))
    def get_score_receipt(self, obj) -> list:
        return obj.score_receipt

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not viewer_sees_contact_details(self, instance):
            for name in PRIVATE_FIELDS:
                data[name] = None
        return data


class LeadEventSerializer(strict.ModelSerializer):
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

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["data"] = event_data_shown(data["data"], private=self.context.get("private", False))
        return data


# --- actions ----------------------------------------------------------------------------------


class ActionSerializer(serializers.Serializer):
    """Fields every action accepts: the version the client saw, and a note."""

    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The lead version you saw; a stale one is refused with 409."
    )
    note = strict.CharField(required=False, allow_blank=True, max_length=5000, default="")


class QualifySerializer(ActionSerializer):
    owner = IdField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="A manager may choose the rep instead of routing.",
    )


class ReasonActionSerializer(ActionSerializer):
    reason = serializers.IntegerField(help_text="Id of a reason of the right kind (see /api/reasons/).")


class WinSerializer(ActionSerializer):
    amount = strict.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    closed_on = BoundedDateSerializerField()


class ReassignSerializer(ActionSerializer):
    owner = IdField(queryset=User.objects.filter(is_active=True))


class TouchCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TouchKind.choices)
    outcome = serializers.ChoiceField(choices=TouchOutcome.choices)
    occurred_at = BoundedDateTimeSerializerField(required=False)
    note = strict.CharField(required=False, allow_blank=True, max_length=5000, default="")


class TouchSerializer(strict.ModelSerializer):
    by = UserMiniSerializer(read_only=True)

    class Meta:
        model = Touch
        fields = ["id", "lead", "kind", "outcome", "occurred_at", "by", "note"]
        read_only_fields = fields


class HandoffSerializer(serializers.Serializer):
    """One hand-off I made and what became of it."""

    event_id = serializers.IntegerField()
    lead = serializers.IntegerField()
    lead_name = strict.CharField()
    company = strict.CharField()
    campaign = strict.CharField(allow_null=True)
    handed_off_at = serializers.DateTimeField()
    outcome = strict.CharField(help_text="waiting, accepted, rejected, won, lost or disqualified")
    outcome_at = serializers.DateTimeField(allow_null=True)
    reason = strict.CharField(allow_null=True)
    note = strict.CharField(allow_blank=True)
    amount = strict.CharField(allow_null=True)


# Sales' latest feedback on a lead it sent back (`selectors.recycled_queue` annotates it):
# the reason, the note and who wrote them. The serializers of lists that show it inherit
# these fields; each says for itself what its `feedback_type` can be. (A comment, not a
# docstring: the schema would take it as the inheriting serializers' description.)
class SentBackFields(serializers.Serializer):
    feedback_reason = strict.CharField(read_only=True, allow_null=True)
    feedback_note = strict.CharField(read_only=True, allow_null=True)
    feedback_by = strict.CharField(read_only=True, allow_null=True, help_text="username of the rep")


class RecycledLeadSerializer(SentBackFields, strict.ModelSerializer):
    campaign = CampaignMiniSerializer(read_only=True, allow_null=True)
    feedback_type = strict.CharField(read_only=True, help_text="rejected or lost")
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
    until = BoundedDateSerializerField(help_text="The day the lead asked to be contacted again.")
    reason = strict.CharField(max_length=500)


DUPLICATE_FIELDS = ("phone", "first_name", "last_name", "company")


class _StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, in the service's words, instead of ignoring them
    (the schema says so: `additionalProperties: false`, smarketing.core.schema.AutoSchema)."""

    refuses_unknown_fields = True
    unknown_message = "Unknown field(s): {names}."

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(self.unknown_message.format(names=", ".join(sorted(unknown))))
        return attrs


def _text(**kwargs) -> strict.CharField:
    return strict.CharField(required=False, allow_blank=True, **kwargs)


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


class ConsentInputSerializer(serializers.Serializer):
    """A person's answer on marketing contact, as loose text: what is a valid answer, time,
    wording and basis is `leads.services.consent_clean`'s alone (the pages and imports give
    the same messages), refused with 422 under the field's name."""

    consent = _text(allow_null=True, help_text="given, refused or withdrawn (or their labels).")
    consent_at = _text(
        allow_null=True,
        help_text="When the person answered: an ISO 8601 date-time (2026-03-01T14:30:00+01:00) or a date; "
        "now when left out. Not in the future, not before 1990.",
    )
    consent_wording = _text(
        allow_null=True,
        help_text="The wording, or its version (“Newsletter v3”), the person answered: required with "
        "an answer, at most 500 characters.",
    )
    lawful_basis = _text(
        allow_null=True,
        help_text="consent, legitimate_interest or contract; “consent” when consent was given and it "
        "is left out.",
    )


CONSENT_INPUTS = tuple(ConsentInputSerializer._declared_fields)


class LeadWriteSerializer(FieldsOnceMixin, LeadProfileSerializer, ConsentInputSerializer):
    """A new lead: contact, company profile and first touch; optionally the person's answer
    on marketing contact (`consent`, `consent_at`, `consent_wording`, `lawful_basis`)."""

    # Fields built once per class (FieldsOnceMixin): none needs the context, and a create
    # is never partial.

    email = strict.CharField(
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
    campaign = IdField(
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
    email = strict.CharField(
        required=False,
        help_text="Unique after normalisation; another lead's email is refused with 409.",
        error_messages={"blank": EMAIL_REQUIRED, "null": EMAIL_REQUIRED},
    )


class LeadMergeSerializer(serializers.Serializer):
    other = IdField(
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
    note = strict.CharField(required=False, allow_blank=True, default="")


class LikelyDuplicateSerializer(serializers.Serializer):
    code = serializers.SerializerMethodField()
    message = strict.CharField()
    lead = serializers.IntegerField(source="lead.pk", help_text="Id of the lead that looks the same.")
    reasons = serializers.ListField(
        child=strict.CharField(), help_text="“same phone” and/or “same name and company”."
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


# --- consent ----------------------------------------------------------------------------------


class ConsentRecordCreateSerializer(_StrictSerializer, ConsentInputSerializer):
    """A new answer on marketing contact (`consent` and `consent_wording` required by the
    service). The latest answer by when it was given becomes the lead's."""


class ConsentRecordSerializer(FieldsOnceMixin, strict.ModelSerializer):
    """One answer the person gave on marketing contact, as it was recorded."""

    recorded_by = UserMiniSerializer(
        read_only=True, allow_null=True, help_text="None for an import or a form."
    )

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "lead",
            "consent",
            "given_at",
            "method",
            "wording",
            "lawful_basis",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


# --- notes ------------------------------------------------------------------------------------


class NoteCreateSerializer(_StrictSerializer):
    """A note on a lead. Its rules (not empty once trimmed; storable text) are the
    service's: a note that breaks one is refused with 422 and the page's words."""

    body = strict.CharField(
        max_length=5000,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The note, at most 5,000 characters. `@username` tells that colleague (if they "
        "have a marketing or sales role); names that tell nobody are listed in `messages`.",
    )


class MentionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = strict.CharField()


class NoteSerializer(serializers.Serializer):
    """A note on the lead (or on a lead merged into it: `lead` says which)."""

    id = serializers.IntegerField(help_text="The note's event id (it is also in the lead's events).")
    lead = serializers.IntegerField(source="lead_id")
    author = UserMiniSerializer(source="actor", read_only=True, allow_null=True)
    written_at = serializers.DateTimeField(source="occurred_at")
    body = strict.CharField(source="note")
    mentions = serializers.SerializerMethodField(help_text="The colleagues told about it.")
    unknown_mentions = serializers.SerializerMethodField(help_text="@names that are nobody here.")
    not_notified = serializers.SerializerMethodField(
        help_text="People mentioned who cannot read notes (no marketing or sales role): not told."
    )

    @extend_schema_field(MentionSerializer(many=True))
    def get_mentions(self, event) -> list:
        return [m for m in event.data.get("mentions", []) if isinstance(m, dict)]

    def get_unknown_mentions(self, event) -> list[str]:
        return list(event.data.get("unknown", []))

    def get_not_notified(self, event) -> list[str]:
        return list(event.data.get("not_notified", []))


class NoteAddedSerializer(NoteSerializer):
    messages = serializers.ListField(
        child=strict.CharField(),
        help_text="What became of mentions that told nobody, in the page's words "
        "(“@bob is not a colleague here; nobody was notified for it.”).",
    )


# --- marketing's work queue -------------------------------------------------------------------


class QueueLeadSerializer(SentBackFields, strict.ModelSerializer):
    """One lead of marketing's work queue, with what its list shows: its age, and the
    reason it is there (the referrer; sales' feedback for a recycled lead, null otherwise)."""

    campaign = CampaignMiniSerializer(read_only=True, allow_null=True)
    referrer = UserMiniSerializer(read_only=True, allow_null=True)
    feedback_type = strict.CharField(
        read_only=True, allow_null=True, help_text="rejected, lost or returned (recycled only)"
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "company",
            "source",
            "campaign",
            "referrer",
            "score",
            "recycle_count",
            "version",
            "created_at",
            "stage_entered_at",
            "feedback_type",
            "feedback_reason",
            "feedback_note",
            "feedback_by",
        ]
        read_only_fields = fields

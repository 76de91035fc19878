"""The API of agreement versions: list and read them, compare any two, write the change
note, confirm or withdraw a proposed one; and the viewset the agreement's write endpoints
share, which proposes a change instead of applying it (202 Accepted, with the version)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from smarketing.agreement import services as agreement
from smarketing.agreement import versions
from smarketing.agreement.filters import ReasonFilter
from smarketing.agreement.models import (
    AgreementVersion,
    HandoffGate,
    Reason,
    RoutingRule,
    ScoringDefinition,
    ScoringRule,
    VersionStatus,
)
from smarketing.agreement.serializers import (
    AgreementTermsSerializer,
    HandoffGateSerializer,
    ReasonSerializer,
    RoutingRuleSerializer,
    ScoringDefinitionSerializer,
    ScoringRuleSerializer,
    ScoringSettingsSerializer,
)
from smarketing.agreement.terms import agreement_terms
from smarketing.core import serializers as strict
from smarketing.core.viewsets import ServiceWriteViewSet
from smarketing.org.permissions import ManagerWrites


class ChangeSerializer(serializers.Serializer):
    summary = strict.CharField()
    op = strict.CharField(help_text="The service the change calls when the version comes into force.")
    by = serializers.IntegerField(help_text="The manager who proposed it (user id).")
    by_name = strict.CharField()
    at = serializers.DateTimeField()


class ConfirmationSerializer(serializers.Serializer):
    by = serializers.IntegerField()
    by_name = strict.CharField()
    at = serializers.DateTimeField()


class ConfirmationsSerializer(serializers.Serializer):
    sales = ConfirmationSerializer(allow_null=True)
    marketing = ConfirmationSerializer(allow_null=True)


class AgreementVersionSerializer(strict.ModelSerializer):
    status_label = strict.CharField(source="get_status_display", read_only=True)
    proposed_by_name = serializers.SerializerMethodField()
    changes = ChangeSerializer(many=True, read_only=True)
    confirmations = serializers.SerializerMethodField()
    waiting_for = serializers.SerializerMethodField()

    class Meta:
        model = AgreementVersion
        fields = [
            "number",
            "status",
            "status_label",
            "note",
            "proposed_by",
            "proposed_by_name",
            "proposed_at",
            "changes",
            "confirmations",
            "waiting_for",
            "in_force_from",
            "in_force_until",
        ]
        read_only_fields = fields

    def get_proposed_by_name(self, version) -> str | None:
        person = version.proposed_by
        return (person.get_full_name() or person.get_username()) if person else None

    @extend_schema_field(ConfirmationsSerializer)
    def get_confirmations(self, version) -> dict:
        result = {}
        for side in ("sales", "marketing"):
            person = getattr(version, f"{side}_confirmed_by")
            result[side] = (
                {
                    "by": person.pk,
                    "by_name": person.get_full_name() or person.get_username(),
                    "at": getattr(version, f"{side}_confirmed_at"),
                }
                if person
                else None
            )
        return ConfirmationsSerializer(result).data

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(["sales", "marketing"])))
    def get_waiting_for(self, version) -> list[str]:
        return versions.waiting_for(version)


class DiffRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(["same", "changed", "added", "removed"])
    before = strict.CharField(allow_null=True)
    after = strict.CharField(allow_null=True)


class DiffSectionSerializer(serializers.Serializer):
    title = strict.CharField()
    changed = serializers.IntegerField(help_text="How many rows differ.")
    rows = DiffRowSerializer(many=True)


class AgreementVersionDetailSerializer(AgreementVersionSerializer):
    terms = AgreementTermsSerializer(
        read_only=True, help_text="The agreement as it reads under this version (a proposal: once in force)."
    )
    compared_with = serializers.SerializerMethodField()
    diff = serializers.SerializerMethodField()

    class Meta(AgreementVersionSerializer.Meta):
        fields = [*AgreementVersionSerializer.Meta.fields, "terms", "compared_with", "diff"]
        read_only_fields = fields

    def _against_previous(self, version) -> tuple:
        """Looked up once per version serialized (both fields read it)."""
        cache = self.context.setdefault("against_previous", {})
        if version.pk not in cache:
            cache[version.pk] = versions.against_previous(version)
        return cache[version.pk]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_compared_with(self, version) -> int | None:
        previous, _ = self._against_previous(version)
        return previous.number if previous else None

    @extend_schema_field(DiffSectionSerializer(many=True))
    def get_diff(self, version) -> list[dict]:
        return self._against_previous(version)[1]


class VersionNoteSerializer(serializers.Serializer):
    note = strict.CharField(max_length=2000, help_text="Why the agreement changes.")


class VersionDiffSerializer(serializers.Serializer):
    before = serializers.IntegerField()
    after = serializers.IntegerField()
    changed = serializers.IntegerField()
    sections = DiffSectionSerializer(many=True)


def _versions():
    return AgreementVersion.objects.select_related(
        "proposed_by", "sales_confirmed_by", "marketing_confirmed_by"
    )


def _version(number: int) -> AgreementVersion:
    versions.version_in_force()  # version 1 exists from the first read
    return get_object_or_404(_versions(), number=number)


class AgreementVersionListView(generics.ListAPIView):
    """Every version of the agreement, newest first: proposed, in force, superseded, withdrawn."""

    serializer_class = AgreementVersionSerializer
    queryset = AgreementVersion.objects.none()  # the schema's model; get_queryset reads

    def get_queryset(self):
        versions.version_in_force()
        return _versions().order_by("-number")


class AgreementVersionView(APIView):
    """One version: its change note, changes, confirmations, its terms and what changed
    against the version before it. PATCH writes the change note of a proposed version."""

    permission_classes = [ManagerWrites]

    @extend_schema(responses=AgreementVersionDetailSerializer)
    def get(self, request, number: int):
        return Response(AgreementVersionDetailSerializer(_version(number)).data)

    @extend_schema(request=VersionNoteSerializer, responses=AgreementVersionDetailSerializer)
    def patch(self, request, number: int):
        data = VersionNoteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        # A PATCH without a note changes nothing: the service still says who may and what is.
        note = data.validated_data.get("note", _version(number).note)
        versions.version_note_update(actor=request.user, number=number, note=note)
        return Response(AgreementVersionDetailSerializer(_version(number)).data)


class AgreementVersionConfirmView(APIView):
    """The sales or the marketing manager confirms a proposed version for their side; the
    second confirmation puts it in force (its changes are applied then)."""

    permission_classes = [ManagerWrites]
    manager_refusal = "Only the sales manager and the marketing manager confirm the agreement."

    @extend_schema(request=None, responses=AgreementVersionDetailSerializer)
    def post(self, request, number: int):
        versions.version_confirm(actor=request.user, number=number)
        return Response(AgreementVersionDetailSerializer(_version(number)).data)


class AgreementVersionWithdrawView(APIView):
    """A manager withdraws a proposed version: none of its changes is made."""

    permission_classes = [ManagerWrites]

    @extend_schema(request=None, responses=AgreementVersionDetailSerializer)
    def post(self, request, number: int):
        versions.version_withdraw(actor=request.user, number=number)
        return Response(AgreementVersionDetailSerializer(_version(number)).data)


class AgreementVersionDiffView(APIView):
    """Any two versions side by side, section by section."""

    @extend_schema(responses=VersionDiffSerializer)
    def get(self, request, before: int, after: int):
        old, new = _version(before), _version(after)
        sections = versions.diff(old.terms, new.terms)
        return Response(
            VersionDiffSerializer(
                {
                    "before": old.number,
                    "after": new.number,
                    "changed": versions.diff_count(sections),
                    "sections": sections,
                }
            ).data
        )


# --- writes to the agreement propose a change ------------------------------------------------------

PROPOSED = OpenApiResponse(
    AgreementVersionSerializer,
    description="Proposed: the change waits in the proposed version until the sales and the "
    "marketing manager have both confirmed it; until then the version in force applies.",
)


def proposed(version: AgreementVersion) -> Response:
    return Response(AgreementVersionSerializer(version).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    methods=["POST"], responses={202: PROPOSED}, description="Proposes adding it (see the versions)."
)
@extend_schema(methods=["PUT", "PATCH"], responses={202: PROPOSED}, description="Proposes the change.")
class ProposedWriteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Read by everyone; a write proposes the change in the agreement's proposed version
    (checked now by the service that will make it). A subclass names its operations
    (`save_op`, `delete_op`, see `smarketing.agreement.versions`) and the keyword they take the id by."""

    permission_classes = [ManagerWrites]

    pagination_class = None
    id_kwarg = "rule_id"
    save_op = ""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return proposed(
            versions.agreement_propose(actor=request.user, op=self.save_op, **serializer.validated_data)
        )

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return proposed(
            versions.agreement_propose(
                actor=request.user,
                op=self.save_op,
                **{self.id_kwarg: instance.pk},
                **serializer.validated_data,
            )
        )

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class ProposedRemoval:
    """`POST …/{id}/remove/`: propose removing the row in the agreement's proposed
    version. Not DELETE: a DELETE that succeeds says the row is gone, and it stays in
    force until both managers confirm the version (docs/decisions.md)."""

    delete_op = ""

    @extend_schema(request=None, responses={202: PROPOSED}, description="Proposes removing it.")
    @action(detail=True, methods=["post"])
    def remove(self, request, *args, **kwargs):
        instance = self.get_object()
        return proposed(
            versions.agreement_propose(actor=request.user, op=self.delete_op, **{self.id_kwarg: instance.pk})
        )


class ReasonViewSet(ProposedWriteViewSet):
    """The agreed rejection, loss and disqualification reasons. A manager's POST (a new
    reason) or PUT/PATCH (rename, reorder, retire with `is_active: false`) proposes the
    change in the agreement's proposed version. Reasons are retired, not deleted: leads
    keep the reason they were given."""

    queryset = Reason.objects.all()
    serializer_class = ReasonSerializer
    filterset_class = ReasonFilter
    ordering = ["kind", "position", "label"]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS
    id_kwarg = "reason_id"
    save_op = "reason_save"


class ScoringView(APIView):
    """The scoring definition: readable by everyone. A manager's PUT proposes the change in
    the agreement's proposed version; once both managers confirm, it bumps the scoring
    version and re-scores every lead in the background."""

    permission_classes = [ManagerWrites]

    @extend_schema(responses=ScoringDefinitionSerializer)
    def get(self, request):
        return Response(ScoringDefinitionSerializer(ScoringDefinition.current()).data)

    @extend_schema(request=ScoringSettingsSerializer, responses={202: PROPOSED})
    def put(self, request):
        data = ScoringSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return proposed(
            versions.agreement_propose(
                actor=request.user, op="scoring_definition_update", **data.validated_data
            )
        )


class ScoringRuleViewSet(ProposedRemoval, ProposedWriteViewSet):
    """Fit and engagement scoring rules. A write proposes the change in the agreement's
    proposed version; once in force, every lead is re-scored in the background."""

    serializer_class = ScoringRuleSerializer
    queryset = ScoringRule.objects.all()
    save_op = "scoring_rule_save"
    delete_op = "scoring_rule_delete"


class HandoffGateView(APIView):
    """What a lead needs before it can be handed to sales; a manager's PUT proposes a change
    in the agreement's proposed version."""

    permission_classes = [ManagerWrites]

    @extend_schema(responses=HandoffGateSerializer)
    def get(self, request):
        return Response(HandoffGateSerializer(HandoffGate.current()).data)

    @extend_schema(request=HandoffGateSerializer, responses={202: PROPOSED})
    def put(self, request):
        data = HandoffGateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return proposed(
            versions.agreement_propose(actor=request.user, op="handoff_gate_update", **data.validated_data)
        )


class RoutingRuleViewSet(ServiceWriteViewSet):
    """Territory and segment routing rules, first match wins; managers change them."""

    permission_classes = [ManagerWrites]
    manager_refusal = "Only a manager can change routing."

    serializer_class = RoutingRuleSerializer
    queryset = RoutingRule.objects.select_related("team")
    save_rule = staticmethod(agreement.routing_rule_save)
    delete_rule = staticmethod(agreement.routing_rule_delete)


class AgreementView(APIView):
    """The agreement both teams work to, in plain words, from the live configuration (what
    the agreement page shows): the terms of the version in force, which version that is and
    who confirmed it, and the proposed version waiting for confirmation, if any (its terms
    and diff: /api/agreement/versions/{number}/). Readable by every employee."""

    @extend_schema(
        responses=inline_serializer(
            "Agreement",
            {
                "terms": AgreementTermsSerializer(),
                "in_force": AgreementVersionSerializer(),
                "proposed": AgreementVersionSerializer(allow_null=True),
            },
        )
    )
    def get(self, request):

        versions.version_in_force()  # version 1 from the first read
        rows = {
            version.status: version
            for version in AgreementVersion.objects.filter(
                status__in=[VersionStatus.IN_FORCE, VersionStatus.PROPOSED]
            ).select_related("proposed_by", "sales_confirmed_by", "marketing_confirmed_by")
        }
        in_force, proposed_version = rows[VersionStatus.IN_FORCE], rows.get(VersionStatus.PROPOSED)
        return Response(
            {
                "terms": AgreementTermsSerializer(agreement_terms()).data,
                "in_force": AgreementVersionSerializer(in_force).data,
                "proposed": AgreementVersionSerializer(proposed_version).data if proposed_version else None,
            }
        )

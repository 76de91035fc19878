"""The API: parse, call a selector or service, serialize. No business logic here."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, mixins, status, viewsets
from rest_framework import serializers as drf_fields
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from smarketing.api import error_body
from smarketing.csvs import csv_download
from smarketing.inputs import check_date, check_id
from smarketing.viewsets import ServiceWriteViewSet

from . import agreement, imports, inbound, selectors, services, versions
from .filters import LeadFilter, ReasonFilter
from .models import (
    AgreementVersion,
    Campaign,
    HandoffGate,
    ImportJob,
    ImportStatus,
    Lead,
    Notification,
    Reason,
    RoutingRule,
    ScoringDefinition,
    ScoringRule,
    Team,
    VersionStatus,
)
from .profile_api import LeadWriteMixin
from .roles import can_import
from .serializers import (
    ActionSerializer,
    AgreementTermsSerializer,
    CampaignSerializer,
    EngagementIngestSerializer,
    HandoffGateSerializer,
    HandoffSerializer,
    ImportConfigureSerializer,
    ImportJobSerializer,
    ImportPreviewSerializer,
    ImportRowSerializer,
    ImportUploadSerializer,
    InboundFormSerializer,
    IngestResultSerializer,
    LeadEventSerializer,
    LeadSerializer,
    MeSerializer,
    NotificationSerializer,
    QualifySerializer,
    ReasonActionSerializer,
    ReasonSerializer,
    ReassignSerializer,
    RecycledLeadSerializer,
    RoutingRuleSerializer,
    ScoringDefinitionSerializer,
    ScoringRuleSerializer,
    ScoringSettingsSerializer,
    SnoozeSerializer,
    TeamSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    TouchCreateSerializer,
    TouchSerializer,
    WinSerializer,
)
from .version_api import PROPOSED, AgreementVersionSerializer, ProposedWriteViewSet, proposed


class LeadCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"


class LeadViewSet(LeadWriteMixin, viewsets.ReadOnlyModelViewSet):
    """Every lead, readable by everyone logged in (the closed loop)."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["created_at", "score", "stage_entered_at", "last_name", "company"]
    ordering = ["-created_at", "-id"]
    # A cursor, not a page number: no COUNT and no deep OFFSET over a million leads.
    pagination_class = LeadCursorPagination
    queryset = Lead.objects.live().select_related("owner", "qualified_by", "referrer", "campaign")

    # --- transitions: each a POST that calls one service ------------------------------------

    def _act(self, request, serializer_class, service, **fixed):
        lead = self.get_object()
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = values.pop("version", None)
        service(lead_id=lead.pk, actor=request.user, expected_version=version, **values, **fixed)
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=QualifySerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def qualify(self, request, pk=None):
        """Hand the lead to sales (marketing): stage MQL, routed to a rep (or the rep a
        manager chooses), response clock started."""
        return self._act(request, QualifySerializer, services.lead_qualify)

    @extend_schema(request=SnoozeSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def snooze(self, request, pk=None):
        """Move an SQL's follow-up deadline to the day the lead asked for (owner or manager)."""
        lead = self.get_object()
        data = SnoozeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("note", None)
        services.lead_snooze(
            lead_id=lead.pk, actor=request.user, expected_version=values.pop("version", None), **values
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=ActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def accept(self, request, pk=None):
        """Accept an MQL (the assigned rep or their manager): it becomes an SQL."""
        return self._act(request, ActionSerializer, services.lead_accept)

    @extend_schema(request=ReasonActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request, pk=None):
        """Send an MQL back to marketing with a rejection reason; it is recycled."""
        return self._act(request, ReasonActionSerializer, services.lead_reject)

    @extend_schema(request=WinSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def win(self, request, pk=None):
        """Win an SQL: stage customer, revenue credited to its first touch."""
        return self._act(request, WinSerializer, services.lead_win)

    @extend_schema(request=ReasonActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def lose(self, request, pk=None):
        """Lose an SQL with a loss reason: recycled or disqualified, as the reason says."""
        return self._act(request, ReasonActionSerializer, services.lead_lose)

    @extend_schema(request=ReasonActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def disqualify(self, request, pk=None):
        """Take the lead out of the funnel with a disqualification reason."""
        return self._act(request, ReasonActionSerializer, services.lead_disqualify)

    @extend_schema(request=ActionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reopen(self, request, pk=None):
        """Bring a disqualified lead back to marketing."""
        return self._act(request, ActionSerializer, services.lead_reopen)

    @extend_schema(request=ReassignSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reassign(self, request, pk=None):
        """Give an MQL or SQL to another rep (the sales manager)."""
        lead = self.get_object()
        data = ReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lead_reassign(
            lead_id=lead.pk,
            actor=request.user,
            new_owner=data.validated_data["owner"],
            note=data.validated_data["note"],
            expected_version=data.validated_data.get("version"),
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=TouchCreateSerializer, responses={201: TouchSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def touches(self, request, pk=None):
        """Log a follow-up touch on an SQL (its owner or their manager)."""
        lead = self.get_object()
        data = TouchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        touch = services.touch_log(lead_id=lead.pk, actor=request.user, **data.validated_data)
        return Response(TouchSerializer(touch).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=LeadEventSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=None, pagination_class=None)
    def events(self, request, pk=None):
        """The lead's history, including the events of leads merged into it."""
        lead = self.get_object()
        return Response(LeadEventSerializer(selectors.lead_timeline(lead), many=True).data)


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
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    id_kwarg = "reason_id"
    save_op = "reason_save"


class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    ordering = ["-starts_on", "name"]


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Team.objects.select_related("manager")
    serializer_class = TeamSerializer
    ordering = ["name"]


class MeView(generics.RetrieveAPIView):
    serializer_class = MeSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user


class TokenView(APIView):
    """Obtain an API token with a username and password; DELETE revokes it."""

    throttle_classes = [AnonRateThrottle]

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenSerializer, 429: OpenApiTypes.OBJECT})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, so that a lockout (django-axes) is seen by its middleware.
        user = authenticate(request._request, **data.validated_data)
        if getattr(request._request, "axes_locked_out", False):
            from smarketing.security import lockout_response

            return lockout_response(request._request)
        if user is None or not user.is_active:
            from rest_framework.exceptions import AuthenticationFailed

            raise AuthenticationFailed("Wrong username or password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        deleted, _ = Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """My in-app notifications, newest first; `?unread=true` for the unread ones."""

    serializer_class = NotificationSerializer
    filterset_fields = []
    ordering = ["-created_at", "-id"]

    queryset = Notification.objects.none()  # for the schema; the real one is per user

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        rows = Notification.objects.filter(recipient=self.request.user)
        if self.request.query_params.get("unread") in ("true", "1"):
            rows = rows.filter(read_at__isnull=True)
        return rows

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_mark_read(user=request.user, notification_id=pk)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        request=None, responses={200: inline_serializer("ReadAll", {"marked": drf_fields.IntegerField()})}
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})


class HandoffListView(generics.ListAPIView):
    """My hand-offs and what became of each: waiting, accepted, rejected (reason and note),
    won (amount), lost (reason). Filters: `week` (any date in the ISO week), `campaign`."""

    serializer_class = HandoffSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("week", OpenApiTypes.DATE, description="Any date in the ISO week wanted"),
            OpenApiParameter("campaign", OpenApiTypes.INT),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        week = self.request.query_params.get("week")
        campaign = self.request.query_params.get("campaign")
        try:
            week_of = check_date(dt.date.fromisoformat(week)) if week else None
        except (ValueError, DjangoValidationError):
            raise ValidationError({"week": ["Use a date like 2026-11-16, between 1900 and 2200."]}) from None
        try:
            campaign_id = check_id(int(campaign)) if campaign else None
        except (ValueError, DjangoValidationError):
            raise ValidationError({"campaign": ["Use a campaign id."]}) from None
        return selectors.handoffs(self.request.user, week_of=week_of, campaign_id=campaign_id)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = [
            {
                "event_id": row.pk,
                "lead": row.lead_id,
                "lead_name": str(row.lead),
                "company": row.lead.company,
                "campaign": row.lead.campaign.name if row.lead.campaign else None,
                "handed_off_at": row.occurred_at,
                "outcome": selectors.handoff_outcome(row),
                "outcome_at": row.outcome_at,
                "reason": row.outcome_reason,
                "note": row.outcome_note or "",
                "amount": str(row.lead.deal_amount) if row.outcome_type == "won" else None,
            }
            for row in page
        ]
        return self.get_paginated_response(HandoffSerializer(rows, many=True).data)


class ScoringView(APIView):
    """The scoring definition: readable by everyone. A manager's PUT proposes the change in
    the agreement's proposed version; once both managers confirm, it bumps the scoring
    version and re-scores every lead in the background."""

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


class ScoringRuleViewSet(ProposedWriteViewSet):
    """Fit and engagement scoring rules. A write proposes the change in the agreement's
    proposed version; once in force, every lead is re-scored in the background."""

    serializer_class = ScoringRuleSerializer
    queryset = ScoringRule.objects.all()
    save_op = "scoring_rule_save"
    delete_op = "scoring_rule_delete"


class CanImport(IsAuthenticated):
    message = "Only marketing can import leads."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and can_import(request.user)


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CSV imports: upload (columns mapped automatically), adjust the mapping, preview,
    start; then poll for progress and fetch the per-row results."""

    serializer_class = ImportJobSerializer
    permission_classes = [CanImport]
    queryset = ImportJob.objects.select_related("created_by")
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def _with_preview(self, job, status_code=200):
        body = dict(ImportJobSerializer(job).data)
        if job.status == ImportStatus.MAPPING:
            body["preview"] = ImportPreviewSerializer(imports.import_preview(job)).data
        return Response(body, status=status_code)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportJobSerializer}
    )
    def create(self, request):
        data = ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = imports.import_upload(actor=request.user, uploaded=data.validated_data["file"])
        return self._with_preview(job, status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return self._with_preview(self.get_object())

    @extend_schema(request=ImportConfigureSerializer, responses=ImportJobSerializer)
    def partial_update(self, request, pk=None):
        job = self.get_object()
        data = ImportConfigureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "campaign" in values and values["campaign"] is None:
            values["campaign"] = ""
        job = imports.import_configure(actor=request.user, job_id=job.pk, **values)
        return self._with_preview(job)

    @extend_schema(request=None, responses=ImportJobSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        job = imports.import_start(actor=request.user, job_id=self.get_object().pk)
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("outcome", OpenApiTypes.STR, enum=["failed", "skipped"])],
        responses=ImportRowSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def rows(self, request, pk=None):
        job = self.get_object()
        rows = job.rows.all()
        outcome = request.query_params.get("outcome")
        if outcome:
            if outcome not in ("failed", "skipped"):
                raise ValidationError({"outcome": ["Use failed or skipped."]})
            rows = rows.filter(outcome=outcome)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ImportRowSerializer(page, many=True).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path="failed-rows")
    def failed_rows(self, request, pk=None):
        job = self.get_object()
        return csv_download(imports.failed_rows_csv(job), imports.failed_rows_filename(job))


class EngagementIngestView(APIView):
    """Record an engagement by email (idempotent by `origin` + `external_id`); the lead is
    created as inbound when the email is new. 201 when something was created, else 200."""

    @extend_schema(
        request=EngagementIngestSerializer,
        responses={201: IngestResultSerializer, 200: IngestResultSerializer},
    )
    def post(self, request):
        data = EngagementIngestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        profile = {k: values.pop(k) for k in list(values) if k in services.PROFILE_FIELDS}
        result = inbound.engagement_ingest(
            actor=request.user,
            profile={k: v for k, v in profile.items() if v not in (None, "")},
            **values,
        )
        created = result["lead_created"] or result["engagement_created"]
        return Response(result, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class InboundFormView(APIView):
    """For website forms: authenticate with `Authorization: Api-Key <key>` (or `X-Api-Key`)
    of an inbound source. The key can create leads and engagements here and nothing else.
    Send an `Idempotency-Key` header so that a retried submission is not recorded twice."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=InboundFormSerializer,
        responses={201: IngestResultSerializer, 200: IngestResultSerializer},
        parameters=[
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Api-Key", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        auth=[],
    )
    def post(self, request):
        header = request.headers.get("Authorization", "")
        raw_key = (
            header[len("Api-Key ") :] if header.startswith("Api-Key ") else request.headers.get("X-Api-Key")
        )
        source = inbound.inbound_authenticate(raw_key)
        if source is None:
            return Response(
                error_body(
                    "not_authenticated", "A valid inbound API key is required (Authorization: Api-Key …)."
                ),
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": "Api-Key"},
            )
        data = InboundFormSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code, body, replayed = inbound.inbound_submit(
            inbound=source,
            payload=dict(data.validated_data),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        response = Response(body, status=code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class HandoffGateView(APIView):
    """What a lead needs before it can be handed to sales; a manager's PUT proposes a change
    in the agreement's proposed version."""

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

    serializer_class = RoutingRuleSerializer
    queryset = RoutingRule.objects.select_related("team")
    save_rule = staticmethod(agreement.routing_rule_save)
    delete_rule = staticmethod(agreement.routing_rule_delete)


class RecycledListView(generics.ListAPIView):
    """Marketing's recycled queue: leads sales sent back, with the latest reason and note.
    Filter: `reason` (a rejection or loss reason id). Re-qualify with POST
    /api/leads/{id}/qualify/ and a note on what changed."""

    serializer_class = RecycledLeadSerializer
    filter_backends: list = []

    @extend_schema(parameters=[OpenApiParameter("reason", OpenApiTypes.INT)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        reason = self.request.query_params.get("reason")
        if reason and not reason.isdigit():
            raise ValidationError({"reason": ["Use a reason id."]})
        return selectors.recycled_queue(reason_id=int(reason) if reason else None)


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
        from .terms import agreement_terms

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

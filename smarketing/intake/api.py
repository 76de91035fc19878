"""The API of intake: CSV imports, engagements from other systems, website forms,
referrals."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import services
from smarketing.core.api import error_body
from smarketing.core.parsers import JSONParser
from smarketing.core.sheets import EXPORT_FORMAT_PARAMETER, EXPORT_RESPONSES, ExportNegotiation, export_format
from smarketing.intake import imports, inbound, migration, referrals
from smarketing.intake.models import ImportJob, ImportKind, ImportStatus
from smarketing.intake.serializers import (
    EngagementIngestSerializer,
    FoundValueSerializer,
    ImportConfigureSerializer,
    ImportJobSerializer,
    ImportPreviewSerializer,
    ImportRowSerializer,
    ImportUploadSerializer,
    InboundFormSerializer,
    InboundReceivedSerializer,
    IngestResultSerializer,
    ReferralSerializer,
    ReferralWriteSerializer,
)
from smarketing.org.roles import can_import, can_migrate
from smarketing.org.security import ClientRateThrottle


class CanImport(IsAuthenticated):
    message = "Only marketing can import leads. Only managers can migrate a team's history from another CRM."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and (
            can_import(request.user) or can_migrate(request.user)
        )


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CSV imports: upload (columns mapped automatically), adjust the mapping, preview,
    start; then poll for progress and fetch the per-row results."""

    serializer_class = ImportJobSerializer
    permission_classes = [CanImport]
    queryset = ImportJob.objects.select_related("created_by")

    def get_parsers(self):
        # The upload is a file (multipart); everything else about an import is JSON.
        # (DRF asks before it sets `action`, so the method says which one it will be.)
        request = getattr(self, "request", None)
        method = request.method.lower() if request is not None else ""
        if (getattr(self, "action", None) or getattr(self, "action_map", {}).get(method)) == "create":
            return [MultiPartParser(), FormParser(), JSONParser()]
        return [JSONParser()]

    def get_queryset(self):
        # Marketing sees its imports, managers their migrations (a marketing manager both).
        kinds = [
            kind
            for kind, may in ((ImportKind.LEADS, can_import), (ImportKind.MIGRATION, can_migrate))
            if may(self.request.user)
        ]
        return super().get_queryset().filter(kind__in=kinds)

    def get_object(self):
        # A job of a kind this person does not work with is refused, not hidden.
        job = super().get_queryset().filter(pk=self.kwargs["pk"]).first()
        if job is None:
            raise NotFound()
        if not imports.may_see(self.request.user, job):
            raise PermissionDenied(
                "Only managers can migrate a team's history from another CRM."
                if job.kind == ImportKind.MIGRATION
                else "Only marketing can import leads."
            )
        return job

    def _with_preview(self, job, status_code=200):
        body = dict(ImportJobSerializer(job).data)
        if job.status == ImportStatus.MAPPING:
            body["preview"] = ImportPreviewSerializer(imports.import_preview(job)).data
            if job.kind == ImportKind.MIGRATION:
                body["values"] = {
                    kind: FoundValueSerializer(found, many=True).data
                    for kind, found in migration.values_found(job).items()
                }
        return Response(body, status=status_code)

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportJobSerializer}
    )
    def create(self, request):
        data = ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = imports.import_upload(
            actor=request.user, uploaded=data.validated_data["file"], kind=data.validated_data["kind"]
        )
        return self._with_preview(job, status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return self._with_preview(self.get_object())

    @extend_schema(request=ImportConfigureSerializer, responses=ImportJobSerializer)
    def partial_update(self, request, pk=None):
        job = self.get_object()
        data = ImportConfigureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        for name in ("campaign", "fallback_owner", "disqualification_reason"):
            if name in values and values[name] is None:
                values[name] = ""  # null: none
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
        if outcome is not None:
            if outcome not in ("failed", "skipped"):
                raise ValidationError({"outcome": ["Use failed or skipped."]})
            rows = rows.filter(outcome=outcome)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ImportRowSerializer(page, many=True).data)

    @extend_schema(
        parameters=[EXPORT_FORMAT_PARAMETER],
        responses=EXPORT_RESPONSES,
    )
    @action(detail=True, methods=["get"], url_path="failed-rows", content_negotiation_class=ExportNegotiation)
    def failed_rows(self, request, pk=None):
        """The failed rows, to fix and import again: the uploaded columns, then the row
        number and the reason; as CSV, or as an Excel workbook with `format=xlsx`."""
        return imports.failed_rows_download(
            self.get_object(), export_format(request.query_params.get("format"))
        )


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
    Send an `Idempotency-Key` header so that a retried submission is not recorded twice.
    What a post records (the engagement type, the profile fields it may fill, its limits)
    is the source's, set up by a manager; every accepted post is answered 202 the same way,
    whether the person was new or known."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientRateThrottle]
    parser_classes = [JSONParser, FormParser]  # a website's form posts form-encoded

    @extend_schema(
        request=InboundFormSerializer,
        responses={202: InboundReceivedSerializer},
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
        if inbound.inbound_rate_exceeded(source):
            return Response(
                error_body(
                    "throttled",
                    f"This form sent more than {source.per_minute} posts in a minute: try again soon.",
                ),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": "60"},
            )
        data = InboundFormSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code, body, replayed = inbound.inbound_submit(
            inbound=source,
            payload=dict(data.validated_data),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            sent=set(request.data) if hasattr(request.data, "keys") else set(),
        )
        response = Response(body, status=code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class ReferralListView(generics.ListAPIView):
    """Referrals, for any employee. GET: your own referrals, newest first, with what
    became of each (each person sees only their own). POST: refer someone — a new lead,
    or, when marketing already knows the email, a note attached to their lead (201 either
    way; `outcome` says which, `message` what to tell the referrer)."""

    serializer_class = ReferralSerializer
    filter_backends: list = []

    def get_queryset(self):
        return referrals.referrals_by(self.request.user).select_related("referrer", "lead")

    @extend_schema(request=ReferralWriteSerializer, responses={201: ReferralSerializer})
    def post(self, request):
        data = ReferralWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submitted = referrals.referral_submit(referrer=request.user, **data.validated_data)
        referral = submitted.referral
        referral.message = submitted.message
        return Response(ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)

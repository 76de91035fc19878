"""The API of a person's rights, for managers (and admins) only — the same checks and the
same services as the pages: the audit trail, a person's data as a zip, erasure, the
retention policy with its preview and its runs."""

from __future__ import annotations

import io

from django.http import FileResponse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from smarketing.core.errors import ActionError
from smarketing.core.sheets import ExportNegotiation
from smarketing.org.roles import may_manage_privacy
from smarketing.privacy import retention, services, tasks
from smarketing.privacy.models import PrivacyAudit, RetentionPolicy, RetentionRun
from smarketing.privacy.serializers import (
    PersonEraseSerializer,
    PersonExportSerializer,
    PrivacyAuditSerializer,
    RetentionPolicySerializer,
    RetentionPolicyWriteSerializer,
    RetentionPreviewSerializer,
    RetentionRunSerializer,
    RunQueuedSerializer,
)

REFUSED = "Only a manager can handle people's data and the retention policy."


class ManagesPrivacy(IsAuthenticated):
    """Managers of either side and admins (`may_manage_privacy`), refused with 403 before
    the body is read; the services check again."""

    message = REFUSED

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False  # 401: who is it?
        if not may_manage_privacy(request.user):
            raise ActionError(REFUSED, code=ActionError.FORBIDDEN)
        return True


class PrivacyAuditListView(generics.ListAPIView):
    """Every action taken on people's data, newest first: exports, erasures, changes of the
    retention policy and its runs — who, when, the lead, the request's reference and
    figures, never a personal value."""

    permission_classes = [ManagesPrivacy]
    serializer_class = PrivacyAuditSerializer
    queryset = PrivacyAudit.objects.select_related("actor")
    filter_backends: list = []


ZIP = "application/zip"


class PersonExportView(APIView):
    """Everything held about the person of this lead (with every lead merged with it), as
    one zip: `person.json` with every section, and one CSV per section. Audited."""

    permission_classes = [ManagesPrivacy]
    content_negotiation_class = ExportNegotiation  # the zip comes whatever Accept says

    @extend_schema(request=PersonExportSerializer, responses={(200, ZIP): OpenApiTypes.BINARY})
    def post(self, request, lead_id: int):
        data = PersonExportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        filename, content = services.person_export(
            lead_id=lead_id, actor=request.user, reference=data.validated_data["reference"]
        )
        response = FileResponse(io.BytesIO(content), as_attachment=True, filename=filename, content_type=ZIP)
        patch_cache_control(response, no_store=True, private=True)
        return response


class PersonEraseView(APIView):
    """Erase the person of this lead (with every lead merged with it): every personal value
    goes, the leads and their events stay as anonymous records, so every report figure
    stays the same. Cannot be undone: send `confirm: "ERASE"`. Answers the audit record."""

    permission_classes = [ManagesPrivacy]

    @extend_schema(request=PersonEraseSerializer, responses=PrivacyAuditSerializer)
    def post(self, request, lead_id: int):
        data = PersonEraseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        audit = services.person_erase(
            lead_id=lead_id, actor=request.user, reference=data.validated_data["reference"]
        )
        return Response(PrivacyAuditSerializer(audit).data)


class RetentionPolicyView(APIView):
    """How long people's data is kept. PUT sets it (audited); a period left null is not
    applied, and the policy runs every night once `enabled`."""

    permission_classes = [ManagesPrivacy]

    @extend_schema(responses=RetentionPolicySerializer)
    def get(self, request):
        return Response(RetentionPolicySerializer(RetentionPolicy.current()).data)

    @extend_schema(request=RetentionPolicyWriteSerializer, responses=RetentionPolicySerializer)
    def put(self, request):
        data = RetentionPolicyWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = retention.retention_policy_set(actor=request.user, **data.validated_data)
        return Response(RetentionPolicySerializer(policy).data)


class RetentionPreviewView(APIView):
    """What a run of the policy as saved would anonymise now: how many leads, by rule, and
    the first of them."""

    permission_classes = [ManagesPrivacy]

    @extend_schema(responses=RetentionPreviewSerializer)
    def get(self, request):
        return Response(
            RetentionPreviewSerializer(retention.retention_preview(RetentionPolicy.current())).data
        )


class RetentionRunListView(generics.ListAPIView):
    """The runs of the retention policy, newest first. POST runs it now, in the background
    (202): the run appears in this list when it starts."""

    permission_classes = [ManagesPrivacy]
    serializer_class = RetentionRunSerializer
    queryset = RetentionRun.objects.select_related("started_by")
    filter_backends: list = []

    @extend_schema(request=None, responses={202: RunQueuedSerializer})
    def post(self, request):
        tasks.retention_run_soon(actor=request.user)
        return Response(
            RunQueuedSerializer(
                {"queued": True, "message": "The run is queued: it is listed in the runs when it starts."}
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )

"""The API of the organisation: who I am, an API token, teams and campaigns."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.parsers import FormParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from smarketing.core.errors import ActionError
from smarketing.core.parsers import JSONParser
from smarketing.org import campaigns
from smarketing.org.models import Campaign, Team
from smarketing.org.permissions import handles
from smarketing.org.security import ClientRateThrottle, lockout_response
from smarketing.org.serializers import (
    CampaignPatchSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    MeSerializer,
    TeamSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


class CampaignPermission(IsAuthenticated):
    """Marketing, sales and managers read campaigns; marketing creates and edits them
    (`smarketing.org.campaigns`, which checks again). Refused before the body is read."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False  # 401
        if request.method not in SAFE_METHODS and handles(view, request.method):
            if not campaigns.can_edit_campaigns(request.user):
                raise ActionError(campaigns.EDIT_REFUSAL, code=ActionError.FORBIDDEN)
        elif not campaigns.can_read_campaigns(request.user):
            raise ActionError(campaigns.READ_REFUSAL, code=ActionError.FORBIDDEN)
        return True


class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Campaigns, newest first. Marketing creates (POST) and edits (PATCH) them through
    the same service as the pages; each write is audited. Its funnel, revenue and ROI:
    `/api/campaigns/{id}/funnel/`."""

    queryset = Campaign.objects.select_related("owner")
    serializer_class = CampaignSerializer
    permission_classes = [CampaignPermission]
    ordering = ["-starts_on", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=CampaignWriteSerializer, responses={201: CampaignSerializer})
    def create(self, request, *args, **kwargs):
        """Create a campaign (marketing). A name already taken (whatever its case), an end
        before the start or an owner outside marketing is refused with 422."""
        data = CampaignWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = campaigns.campaign_create(actor=request.user, **data.validated_data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignPatchSerializer, responses=CampaignSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change the fields given (marketing). With `version`, a stale edit is refused with 409."""
        campaign = self.get_object()
        data = CampaignPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        version = values.pop("version", None)
        campaign = campaigns.campaign_update(
            actor=request.user, campaign_id=campaign.pk, expected_version=version, **values
        )
        return Response(CampaignSerializer(Campaign.objects.select_related("owner").get(pk=campaign.pk)).data)


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

    throttle_classes = [ClientRateThrottle]
    parser_classes = [JSONParser, FormParser]  # `curl -d username=… -d password=…` too

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenSerializer, 429: OpenApiTypes.OBJECT})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, so that a lockout (django-axes) is seen by its middleware.
        user = authenticate(request._request, **data.validated_data)
        if getattr(request._request, "axes_locked_out", False):
            return lockout_response(request._request)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        deleted, _ = Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

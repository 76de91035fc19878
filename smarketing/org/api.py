"""The API of the organisation: who I am, an API token, teams and campaigns."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from smarketing.core.parsers import JSONParser
from smarketing.org.models import Campaign, Team
from smarketing.org.security import ClientRateThrottle, lockout_response
from smarketing.org.serializers import (
    CampaignSerializer,
    MeSerializer,
    TeamSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


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

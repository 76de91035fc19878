"""The API: parse, call a selector or service, serialize. No business logic here."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from . import selectors
from .filters import LeadFilter, ReasonFilter
from .models import Campaign, Lead, Reason, Team
from .serializers import (
    CampaignSerializer,
    LeadEventSerializer,
    LeadSerializer,
    MeSerializer,
    ReasonSerializer,
    TeamSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


class LeadViewSet(viewsets.ReadOnlyModelViewSet):
    """Every lead, readable by everyone logged in (the closed loop)."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["created_at", "score", "stage_entered_at"]
    ordering = ["-created_at", "-id"]
    queryset = Lead.objects.live().select_related("owner", "qualified_by", "referrer", "campaign")

    @extend_schema(responses=LeadEventSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=None, pagination_class=None)
    def events(self, request, pk=None):
        """The lead's history, including the events of leads merged into it."""
        lead = self.get_object()
        return Response(LeadEventSerializer(selectors.lead_timeline(lead), many=True).data)


class ReasonViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Reason.objects.all()
    serializer_class = ReasonSerializer
    filterset_class = ReasonFilter
    ordering = ["kind", "position", "label"]


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

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenSerializer})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None or not user.is_active:
            from rest_framework.exceptions import AuthenticationFailed

            raise AuthenticationFailed("Wrong username or password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        deleted, _ = Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

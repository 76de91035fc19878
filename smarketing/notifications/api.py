"""The API of the inbox: my notifications, and marking them read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, viewsets
from rest_framework import serializers as drf_fields
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.notifications import services
from smarketing.notifications.models import Notification
from smarketing.notifications.serializers import NotificationSerializer


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

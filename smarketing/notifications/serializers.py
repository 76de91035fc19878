"""API serializer for a notification."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from smarketing.core import serializers as strict
from smarketing.notifications.models import Notification

User = get_user_model()


class NotificationSerializer(strict.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "lead", "subject", "body", "created_at", "read_at"]
        read_only_fields = fields

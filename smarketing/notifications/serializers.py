"""API serializer for a notification."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from smarketing.notifications.models import Notification

User = get_user_model()


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "lead", "subject", "body", "created_at", "read_at"]
        read_only_fields = fields

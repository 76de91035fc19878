"""The notification outbox: one row per message to one person about one thing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class NotificationKind(models.TextChoices):
    MQL_ASSIGNED = "mql_assigned", "An MQL was assigned to you"
    MQL_REJECTED = "mql_rejected", "Your MQL was rejected"
    MQL_RETURNED = "mql_returned", "Your MQL was returned: sales did not respond in time"
    LEAD_WON = "lead_won", "Your lead was won"
    REFERRAL_CONVERTED = "referral_converted", "A lead you referred converted"
    REFERRAL_RECEIVED = "referral_received", "A colleague referred someone to marketing"
    MENTIONED = "mentioned", "A colleague mentioned you in a note"
    SLA_WARNING = "sla_warning", "SLA deadline approaching"
    SLA_BREACH = "sla_breach", "SLA deadline breached"
    WEEKLY_DIGEST = "weekly_digest", "Weekly funnel digest"
    AGREEMENT = "agreement", "The agreement changed"


EMAIL_ATTEMPTS = 5


class Notification(models.Model):
    """An outbox row: one message to one person about one thing that happened.

    The unique key makes "never twice for one event" a property of the data; `emailed_at`
    is set in the same conditional update that claims the row for sending.
    """

    # Loose keys (no database constraint, migration 0020): an SLA run writes ~1,500
    # notifications at once, and each constraint was a checked, locking query per row.
    # No index of its own: notification_once_per_event and notification_unread begin with it.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    lead = models.ForeignKey(
        "leads.Lead",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_constraint=False,
    )
    dedupe_key = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # An email the server refused is tried again (the beat job), up to EMAIL_ATTEMPTS
    # times; then it is marked failed, with the last error, and shown so, never lost quietly.
    # Defaults in the database too: `notify_many` inserts rows with SQL of its own.
    email_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    email_failed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        db_table = "leads_notification"  # its table since it lived in leads (docs/architecture.md)
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            ),
            models.Index(
                fields=["created_at"],
                name="notification_email_pending",
                condition=Q(emailed_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "dedupe_key"], name="notification_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return self.subject

"""Notification emails: sent after commit, each at most once (see `services`), and a
beat job that sends the ones whose task never ran."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from smarketing.core.locks import job_lock
from smarketing.notifications import services
from smarketing.notifications.models import Notification


@shared_task(acks_late=True)
def notification_email(notification_id: int) -> bool:
    return services.notification_email_send(notification_id)


@shared_task(acks_late=True)
def notification_emails(notification_ids: list[int]) -> int:
    """The emails of notifications created together (one message for a batch)."""
    return services.notification_emails_send(notification_ids)


@shared_task
def notifications_deliver_pending(batch_size: int = 200) -> int:
    """Catch emails whose task never ran (the broker was down at commit time), and try
    again those the mail server refused (up to EMAIL_ATTEMPTS times). Once at a time
    (`job_lock`); each email is claimed by a conditional UPDATE before it is sent, so a
    second run that went ahead would send none of them again."""
    with job_lock("notifications-deliver") as mine:
        return _deliver_pending(batch_size) if mine else 0


def _deliver_pending(batch_size: int) -> int:
    cutoff = timezone.now() - dt.timedelta(minutes=2)
    ids = list(
        Notification.objects.filter(
            email_claimed_at__isnull=True, email_failed_at__isnull=True, created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("id", flat=True)[:batch_size]
    )
    return sum(services.notification_email_send(pk) for pk in ids)

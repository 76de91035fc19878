import datetime as dt

from celery import shared_task
from django.utils import timezone

from smarketing.queue import enqueue

from . import notifications
from .models import Notification


@shared_task(acks_late=True)
def notifications_for_event(event_id: int) -> int:
    """Turn one lead event into its notifications (idempotent by the outbox's unique key)."""
    return len(notifications.notifications_for_event(event_id))


@shared_task(acks_late=True)
def notification_email(notification_id: int) -> bool:
    return notifications.notification_email_send(notification_id)


@shared_task(acks_late=True)
def notification_emails(notification_ids: list[int]) -> int:
    """The emails of notifications created together (one message for a batch)."""
    return notifications.notification_emails_send(notification_ids)


@shared_task
def notifications_deliver_pending(batch_size: int = 200) -> int:
    """Catch emails whose task never ran (the broker was down at commit time)."""
    cutoff = timezone.now() - dt.timedelta(minutes=2)
    ids = list(
        Notification.objects.filter(email_claimed_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:batch_size]
    )
    return sum(notifications.notification_email_send(pk) for pk in ids)


@shared_task(acks_late=True)
def lead_auto_qualify(lead_id: int) -> bool:
    """Hand a lead to sales at the score threshold; harmless if it already moved on."""
    from .scoring import lead_auto_qualify as qualify

    return qualify(lead_id=lead_id)


@shared_task(acks_late=True)
def leads_rescore(version: int) -> int:
    """Re-score leads still on an older definition, one bounded batch per run; re-queues
    itself until none is left (a newer definition's job takes over from an older one)."""
    from .scoring import leads_rescore_batch

    done = leads_rescore_batch(version=version)
    if done:
        enqueue(leads_rescore, version)
    return done


@shared_task
def leads_rescore_pending() -> int:
    """Periodic catch-up: start a re-score if leads lag the definition (a lost message,
    or decay moving scores as time passes)."""
    from .scoring import rescore_start_if_needed

    return rescore_start_if_needed()


@shared_task(acks_late=True)
def import_run(job_id: int) -> int:
    """Run a CSV import; resumes after the last committed row if redelivered."""
    from .imports import import_run as run

    return run(job_id=job_id).rows_done


@shared_task
def deferred_tasks_send() -> int:
    """Beat job: send the tasks kept while the broker was down (smarketing.queue)."""
    from smarketing.queue import deferred_send

    return deferred_send()


@shared_task
def imports_resume_stalled() -> int:
    """Beat job: queue again the imports a dead worker left running."""
    from .imports import imports_resume_stalled as resume

    return len(resume())

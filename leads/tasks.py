"""The funnel's Celery tasks: each takes ids, calls one service, and is harmless to run
twice (the services check the lead's state again)."""

from celery import shared_task

from leads import event_notifications, scoring, services
from smarketing.core.locks import job_lock
from smarketing.core.queue import enqueue


@shared_task(acks_late=True)
def notifications_for_event(event_id: int) -> int:
    """Turn one lead event into its notifications (idempotent by the outbox's unique key)."""
    return len(event_notifications.notifications_for_event(event_id))


@shared_task(acks_late=True)
def lead_auto_qualify(lead_id: int) -> bool:
    """Hand a lead to sales at the score threshold; harmless if it already moved on."""
    return services.lead_auto_qualify(lead_id=lead_id)


@shared_task(acks_late=True)
def leads_rescore(version: int) -> int:
    """Re-score leads still on an older definition, one bounded batch per run; re-queues
    itself until none is left (a newer definition's job takes over from an older one).

    One chain per version at a time: a second one (two beats each started one) finds the
    lock held and ends there. Were both to run, each lead is still written once per
    version (a conditional UPDATE on the score it read)."""
    with job_lock(f"leads-rescore:{version}") as mine:
        if not mine:
            return 0
        done = scoring.leads_rescore_batch(version=version)
    if done:  # after the lock is released: the next batch must not find it held
        enqueue(leads_rescore, version)
    return done


@shared_task
def leads_rescore_pending() -> int:
    """Periodic catch-up: start a re-score if leads lag the definition (a lost message,
    or decay moving scores as time passes). Once at a time (`job_lock`)."""
    with job_lock("leads-rescore") as mine:
        return scoring.rescore_start_if_needed() if mine else 0

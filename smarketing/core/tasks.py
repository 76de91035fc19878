"""The kernel's beat job: send the tasks kept while the broker was down."""

from celery import shared_task

from smarketing.core.locks import job_lock
from smarketing.core.queue import deferred_send


@shared_task
def deferred_tasks_send() -> int:
    """Beat job: send the tasks kept while the broker was down (smarketing.core.queue).
    Once at a time (`job_lock`); the rows are locked and skipped (SKIP LOCKED) and deleted
    as they are sent, so a second run that went ahead would send none of them again."""

    with job_lock("deferred-tasks-send") as mine:
        return deferred_send() if mine else 0

"""The kernel's beat job: send the tasks kept while the broker was down."""

from celery import shared_task

from smarketing.core.queue import deferred_send


@shared_task
def deferred_tasks_send() -> int:
    """Beat job: send the tasks kept while the broker was down (smarketing.core.queue)."""

    return deferred_send()

"""Sending work to the Celery worker without making a person's action depend on the broker.

`enqueue(task, *args)` sends the task; if the broker (Redis) cannot be reached, the task is
kept as a `DeferredTask` row instead and the caller carries on — a hand-off is recorded
even while Redis is down. The beat job `deferred_tasks_send` sends the kept tasks once the
broker answers again (each task here is idempotent: notifications are unique per event
and recipient, re-scoring and imports resume where they were).
"""

from __future__ import annotations

import logging

from celery import current_app as current_celery_app
from django.db import transaction
from django.db.models import F
from kombu.exceptions import OperationalError

from smarketing.core.models import DeferredTask

log = logging.getLogger(__name__)


def enqueue(task, *args) -> bool:
    """Send `task(*args)` to the worker; True if sent, False if kept for later."""
    try:
        task.apply_async(args=args, retry=True, retry_policy={"max_retries": 1, "interval_start": 0})
    except OperationalError as exc:
        DeferredTask.objects.create(name=task.name, args=list(args))
        log.warning("Broker unreachable (%s): %s kept to send later.", type(exc).__name__, task.name)
        return False
    return True


def on_commit_enqueue(task, *args) -> None:
    """`enqueue` once the current transaction has committed (the worker must see its rows)."""
    transaction.on_commit(lambda: enqueue(task, *args))


def deferred_send(limit: int = 500) -> int:
    """Send the tasks kept while the broker was down, oldest first; returns how many went."""
    app = current_celery_app
    sent = 0
    with transaction.atomic():
        rows = list(DeferredTask.objects.select_for_update(skip_locked=True).order_by("id")[:limit])
        for row in rows:
            try:
                app.tasks[row.name].apply_async(args=row.args, retry=True, retry_policy={"max_retries": 1})
            except OperationalError:
                DeferredTask.objects.filter(pk__in=[r.pk for r in rows if r.pk >= row.pk]).update(
                    attempts=F("attempts") + 1
                )
                break
            row.delete()
            sent += 1
    return sent

"""Celery's signals, connected when the apps load (`OpsConfig.ready`), in web and worker.

Before a task: its id and name go into the log context (`logs.TASK`). After it: one run is
added to its `TaskCounter` row — with the outcome and the time it took — where a web
node's /metrics reads it. A task run eagerly (tests, CELERY_TASK_ALWAYS_EAGER) runs inside
the caller's request and transaction: it is not counted (the request's own latency covers
it, and the caller's transaction is left alone).
"""

from __future__ import annotations

import logging
import time

from celery import signals, states
from django.db import DatabaseError

from smarketing.ops.counters import task_counted
from smarketing.ops.logs import TASK

log = logging.getLogger(__name__)

_started: dict[str, tuple[float, object]] = {}  # task id → (monotonic start, log context token)


def task_started(sender=None, task_id=None, task=None, **kwargs) -> None:
    name = getattr(task, "name", None) or getattr(sender, "name", "") or ""
    token = TASK.set((task_id or "", name))
    _started[task_id or ""] = (time.monotonic(), token)


def task_finished(sender=None, task_id=None, task=None, state=None, **kwargs) -> None:
    started, token = _started.pop(task_id or "", (None, None))
    if token is not None:
        try:
            TASK.reset(token)
        except ValueError:  # set in another context (a thread pool): just clear it
            TASK.set(("", ""))
    task = task or sender
    if task is None or getattr(task.request, "is_eager", False):
        return
    seconds = time.monotonic() - started if started is not None else 0.0
    try:
        task_counted(
            task=task.name, failed=state == states.FAILURE, retried=state == states.RETRY, seconds=seconds
        )
    except DatabaseError as exc:  # the count is lost, the task's outcome is not
        log.warning("Task %s not counted: %s", task.name, exc)


def connect() -> None:
    signals.task_prerun.connect(task_started, dispatch_uid="smarketing.ops.task_started")
    signals.task_postrun.connect(task_finished, dispatch_uid="smarketing.ops.task_finished")

"""The figures /metrics computes when it is scraped: each one query (or two) that an index
serves, so a scrape costs the same at a million leads as at a hundred.

| figure | query | served by |
| --- | --- | --- |
| SLA lag | the first due_at of running, unbreached clocks due by now; the first warn_at likewise | partial indexes `clock_open_due`, `clock_open_warn_next` (the ones enforcement reads): the first entry |
| last enforcement run | MAX(started_at) of EnforcementRun | its `started_at` index (and a week of rows at most) |
| outbox | counts and MIN(created_at) of notifications not emailed | partial index `notification_email_pending` (emailed_at IS NULL): only what waits or failed |
| imports | SUM(rows_done); running jobs' progress | none needed: one row per uploaded file |
| deferred tasks | COUNT of tasks kept while the broker was down | none needed: empty unless the broker was down |
| task counters | every row of TaskCounter | one row per task name |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from sla.models import Clock, EnforcementRun
from smarketing.core.models import DeferredTask
from smarketing.intake.models import ImportJob, ImportStatus
from smarketing.notifications.models import Notification
from smarketing.ops.models import TaskCounter


@dataclass(frozen=True)
class Figures:
    sla_lag_seconds: float
    sla_last_run_age_seconds: float | None
    outbox_waiting: int
    outbox_oldest_seconds: float
    outbox_failed: int
    import_rows_total: int
    imports_running: int
    import_rows_per_second: float
    deferred_tasks: int
    tasks: list[TaskCounter]


def _age(now: dt.datetime, then: dt.datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then else 0.0


def sla_due_unrecorded(now: dt.datetime):
    """The deadline and warning time, oldest first, of clocks whose breach or warning has
    fallen due and that enforcement has not yet recorded (the same conditions it reads:
    `Clock.objects.breach_due` / `warning_due`)."""
    return (
        Clock.objects.breach_due(now).order_by("due_at").values_list("due_at", flat=True),
        Clock.objects.warning_due(now).order_by("warn_at").values_list("warn_at", flat=True),
    )


def sla_lag_seconds(now: dt.datetime) -> float:
    """How long the oldest deadline that has passed has waited for enforcement to record
    it; 0 when enforcement is up to date."""
    due = [moment for moment in (qs.first() for qs in sla_due_unrecorded(now)) if moment is not None]
    return _age(now, min(due)) if due else 0.0


def outbox_unsent():
    """Notifications not emailed: those waiting, and those given up (email_failed_at)."""
    return Notification.objects.filter(emailed_at__isnull=True)


def figures(now: dt.datetime | None = None) -> Figures:
    now = now or timezone.now()
    last_run = EnforcementRun.objects.aggregate(last=Max("started_at"))["last"]
    waiting = Q(email_claimed_at__isnull=True, email_failed_at__isnull=True)
    outbox = outbox_unsent().aggregate(
        waiting=Count("id", filter=waiting),
        oldest=Min("created_at", filter=waiting),
        failed=Count("id", filter=Q(email_failed_at__isnull=False)),
    )
    imported = ImportJob.objects.aggregate(rows=Sum("rows_done"))["rows"] or 0
    running = list(
        ImportJob.objects.filter(status=ImportStatus.RUNNING).values_list("rows_done", "started_at")
    )
    rate = sum(rows / max(_age(now, started), 1.0) for rows, started in running if started)
    return Figures(
        sla_lag_seconds=sla_lag_seconds(now),
        sla_last_run_age_seconds=_age(now, last_run) if last_run else None,
        outbox_waiting=outbox["waiting"],
        outbox_oldest_seconds=_age(now, outbox["oldest"]),
        outbox_failed=outbox["failed"],
        import_rows_total=imported,
        imports_running=len(running),
        import_rows_per_second=rate,
        deferred_tasks=DeferredTask.objects.count(),
        tasks=list(TaskCounter.objects.order_by("task")),
    )

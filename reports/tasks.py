"""The reports' beat jobs: freeze finished weeks, send Monday's digest, keep the rollups
up to date, record marketing's finished weeks.

Each runs once at a time (`job_lock`: a second beat's run returns at once), and each is
harmless twice without it: a unique week (CommitmentWeek, WeekSnapshot, DigestRun) or the
dirty marks locked while they are refreshed (the rollups)."""

import logging

from celery import shared_task

from reports import rollups
from reports.commitments import CLOSE_BATCH
from reports.commitments import commitments_close_weeks as close
from reports.digest import send_weekly_digest
from reports.snapshots import freeze_finished_weeks
from smarketing.core.locks import job_lock
from smarketing.core.queue import enqueue

log = logging.getLogger(__name__)


@shared_task
def commitments_close_weeks() -> int:
    """Hourly: record marketing's finished weeks (once each) and flag those that fell short,
    a bounded batch per run; a full batch (a long outage, a first run) queues the next."""

    with job_lock("sla-commitments") as mine:
        if not mine:
            return 0
        recorded = close(limit=CLOSE_BATCH)
    if recorded >= CLOSE_BATCH:  # after the lock is released: the next batch must not find it held
        enqueue(commitments_close_weeks)
    return recorded


@shared_task
def reports_freeze_weeks() -> int:
    """Hourly: freeze each finished week's dashboard figures (once each), for late data."""

    with job_lock("reports-freeze-weeks") as mine:
        return freeze_finished_weeks() if mine else 0


@shared_task
def reports_send_digest() -> int:
    """Hourly: send last week's digest once, from Monday 07:00 org time."""

    with job_lock("reports-send-digest") as mine:
        return send_weekly_digest() if mine else 0


@shared_task
def reports_rollups_catch_up() -> int:
    """Every half minute: refresh the rollup for the leads changed since (normally a handful;
    after a large import, all of them, in batches), so the dashboard rarely has to."""

    if not rollups.supported():
        return 0
    with job_lock("reports-rollups") as mine:
        return (rollups.catch_up() or 0) if mine else 0

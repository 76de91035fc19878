"""The reports' beat jobs: freeze finished weeks, send Monday's digest, keep the rollups
up to date, record marketing's finished weeks."""

import logging

from celery import shared_task

from reports import rollups
from reports.commitments import CLOSE_BATCH
from reports.commitments import commitments_close_weeks as close
from reports.digest import send_weekly_digest
from reports.snapshots import freeze_finished_weeks
from smarketing.core.queue import enqueue

log = logging.getLogger(__name__)


@shared_task
def commitments_close_weeks() -> int:
    """Hourly: record marketing's finished weeks (once each) and flag those that fell short,
    a bounded batch per run; a full batch (a long outage, a first run) queues the next."""

    recorded = close(limit=CLOSE_BATCH)
    if recorded >= CLOSE_BATCH:
        enqueue(commitments_close_weeks)
    return recorded


@shared_task
def reports_freeze_weeks() -> int:
    """Hourly: freeze each finished week's dashboard figures (once each), for late data."""

    return freeze_finished_weeks()


@shared_task
def reports_send_digest() -> int:
    """Hourly: send last week's digest once, from Monday 07:00 org time."""

    return send_weekly_digest()


@shared_task
def reports_rollups_catch_up() -> int:
    """Every half minute: refresh the rollup for the leads changed since (normally a handful;
    after a large import, all of them, in batches), so the dashboard rarely has to."""

    if not rollups.supported():
        return 0
    return rollups.catch_up() or 0

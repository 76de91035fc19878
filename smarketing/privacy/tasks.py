"""The nightly retention run (beat: `privacy-retention` in settings)."""

from __future__ import annotations

import logging

from celery import shared_task

from smarketing.core.locks import job_lock
from smarketing.privacy.models import RetentionPolicy
from smarketing.privacy.retention import retention_run

log = logging.getLogger(__name__)


@shared_task
def privacy_retention_nightly() -> int:
    """Apply the retention policy when it is on; returns the people anonymised. One run
    at a time, however many beats send it."""
    if not RetentionPolicy.current().enabled:
        return 0
    with job_lock("privacy-retention") as mine:
        if not mine:
            return 0
        return retention_run(actor=None).people

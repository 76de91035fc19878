"""The retention policy's runs: the nightly one (beat: `privacy-retention` in settings)
and the one a manager asks for with "Run now"."""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from smarketing.core.errors import ActionError
from smarketing.core.locks import job_lock
from smarketing.core.queue import on_commit_enqueue
from smarketing.privacy.models import RetentionPolicy
from smarketing.privacy.retention import cutoffs, retention_run
from smarketing.privacy.services import privacy_allowed

log = logging.getLogger(__name__)

User = get_user_model()


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


@shared_task
def privacy_retention_run(user_id: int) -> int:
    """A manager's "Run now": the policy applied now, recorded as started by them (whether
    the policy is on or not). Returns the people anonymised. It shares the nightly run's
    lock: while another run holds it, this one does nothing (that run anonymises the same
    people). A refusal (no longer a manager, no period left) is logged, not retried."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return 0
    with job_lock("privacy-retention") as mine:
        if not mine:
            log.info("Retention run for user %s: another run holds the lock", user_id)
            return 0
        try:
            return retention_run(actor=user).people
        except ActionError as exc:
            log.warning("Retention run for user %s refused: %s", user_id, exc.message)
            return 0


def retention_run_soon(*, actor) -> None:
    """Queue a manager's "Run now" once the caller's transaction commits, after checking
    now what the run will check (who may, a period set), so that a refusal is told at
    once rather than lost in the worker's log."""
    privacy_allowed(actor, "run the retention policy")
    if cutoffs(RetentionPolicy.current(), timezone.now()) == (None, None):
        raise ActionError(
            "Set a period in the retention policy (and save it) before running it.", field="inactive_months"
        )
    on_commit_enqueue(privacy_retention_run, actor.pk)

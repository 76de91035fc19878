"""Intake's Celery tasks: running an import, the watchdog that restarts stalled ones, and
telling marketing of a referral."""

from celery import shared_task

from smarketing.core.locks import job_lock
from smarketing.intake import imports, referrals, run


@shared_task(acks_late=True)
def import_run(job_id: int) -> int:
    """Run a CSV import; resumes after the last committed row if redelivered."""
    return run.import_run(job_id=job_id).rows_done


@shared_task
def imports_resume_stalled() -> int:
    """Beat job: queue again the imports a dead worker left running. Once at a time
    (`job_lock`); each restart is claimed by a conditional UPDATE of the heartbeat, so a
    second run that went ahead would queue none again."""
    with job_lock("imports-resume-stalled") as mine:
        return len(imports.imports_resume_stalled()) if mine else 0


@shared_task(acks_late=True)
def referral_notify(referral_id: int) -> int:
    """Tell marketing of a referral (idempotent by the outbox's unique key)."""
    return len(referrals.referral_notify(referral_id))

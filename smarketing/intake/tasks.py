"""Intake's Celery tasks: running an import, and the watchdog that restarts stalled ones."""

from celery import shared_task

from smarketing.intake import imports, run


@shared_task(acks_late=True)
def import_run(job_id: int) -> int:
    """Run a CSV import; resumes after the last committed row if redelivered."""
    return run.import_run(job_id=job_id).rows_done


@shared_task
def imports_resume_stalled() -> int:
    """Beat job: queue again the imports a dead worker left running."""
    return len(imports.imports_resume_stalled())

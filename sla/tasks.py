from celery import shared_task

from . import services


@shared_task(acks_late=True)
def sla_enforce() -> dict:
    """The beat scan. Re-queues itself while a full batch was due, so a backlog (after an
    outage) drains in bounded batches."""
    run = services.sla_enforce()
    if run.more_due:
        sla_enforce.delay()
    return {"warned": run.warned, "breached": run.breached}

import logging

from celery import shared_task

from smarketing.queue import enqueue

from . import services

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def sla_enforce() -> dict:
    """The beat scan. Re-queues itself while a full batch was due, so a backlog (after an
    outage) drains in bounded batches."""
    run = services.sla_enforce()
    if run.more_due:
        enqueue(sla_enforce)
    return {"warned": run.warned, "breached": run.breached}


@shared_task(acks_late=True)
def sla_breach_actions(actions: list[list]) -> int:
    """The breach actions of one enforcement run, one message for the batch: each is
    [task name, lead id, owner id, clock id] (sla_reassign or sla_return), harmless to
    repeat; one that fails is logged and does not hold up the others."""
    done = 0
    for name, lead_id, from_owner_id, clock_id in actions:
        try:
            done += ACTIONS[name](lead_id, from_owner_id, clock_id)
        except Exception:
            log.exception("SLA breach action %s on lead %s failed", name, lead_id)
    return done


@shared_task(acks_late=True)
def sla_reassign(lead_id: int, from_owner_id: int, clock_id: int) -> bool:
    """On breach, when the policy says so: the lead goes to the next available rep."""
    from leads.services import lead_sla_reassign

    note = f"SLA breach (clock {clock_id}): reassigned automatically."
    return lead_sla_reassign(lead_id=lead_id, from_owner_id=from_owner_id, note=note) is not None


@shared_task(acks_late=True)
def sla_return(lead_id: int, from_owner_id: int, clock_id: int) -> bool:
    """On breach, when the policy says so: the MQL goes back to marketing."""
    from leads.services import lead_return_to_marketing

    note = f"SLA breach (clock {clock_id}): no response in time, returned to marketing."
    return lead_return_to_marketing(lead_id=lead_id, from_owner_id=from_owner_id, note=note) is not None


ACTIONS = {"sla_reassign": sla_reassign, "sla_return": sla_return}


@shared_task
def commitments_close_weeks() -> int:
    """Hourly: record marketing's finished weeks (once each) and flag those that fell short."""
    from .commitments import commitments_close_weeks as close

    return close()

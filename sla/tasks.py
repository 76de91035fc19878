"""SLA enforcement's Celery tasks: the beat scan, and the breach actions it queues.

Each takes ids, calls one service (or, for an action on the lead, the funnel through
`sla.hooks`) and is harmless to run twice."""

import logging

from celery import shared_task

from sla import hooks, services
from smarketing.core.locks import job_lock
from smarketing.core.queue import enqueue

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def sla_enforce() -> dict:
    """The beat scan. Re-queues itself while a full batch was due, so a backlog (after an
    outage) drains in bounded batches. A second run at the same moment (a second beat)
    returns at once; were it to go ahead, it would find the due clocks locked and, once
    they are free, recorded (`services.sla_enforce`)."""
    with job_lock("sla-enforce") as mine:
        if not mine:
            return {"warned": 0, "breached": 0}
        run = services.sla_enforce()
    if run.more_due:  # after the lock is released: the next batch must not find it held
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
    note = f"SLA breach (clock {clock_id}): reassigned automatically."
    return (
        hooks.breach_reassign(lead_id=lead_id, from_owner_id=from_owner_id, note=note, clock_id=clock_id)
        is not None
    )


@shared_task(acks_late=True)
def sla_return(lead_id: int, from_owner_id: int, clock_id: int) -> bool:
    """On breach, when the policy says so: the MQL goes back to marketing."""
    note = f"SLA breach (clock {clock_id}): no response in time, returned to marketing."
    return (
        hooks.breach_return(lead_id=lead_id, from_owner_id=from_owner_id, note=note, clock_id=clock_id)
        is not None
    )


ACTIONS = {"sla_reassign": sla_reassign, "sla_return": sla_return}

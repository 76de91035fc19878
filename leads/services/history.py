"""A lead's history brought from another CRM: the path it took (created, handed off,
accepted or rejected, reassigned, won or lost, disqualified, reopened), each step checked
against the one transition table as a transition in Smarketing would be, then written as
back-dated events marked as migrated (docs/migration.md). A HubSpot or Salesforce row
gives the forward path its dates show; a Smarketing export gives every step it took
(docs/exports.md). `leads.services.create.leads_create_migrated` writes them; this module
only describes and checks, without the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from leads.models import EventType, Stage
from leads.stages import TRANSITIONS, check_stage, check_target
from smarketing.core.errors import ActionError

# The steps a migrated path may hold: every transition a person or the system makes.
MIGRATED_STEPS = ("qualify", "accept", "reject", "return", "reassign", "win", "lose", "disqualify", "reopen")


@dataclass(frozen=True)
class Step:
    """One transition of the path: the row of `TRANSITIONS` it is, when, and where it ended."""

    transition: str
    at: dt.datetime
    to: str
    reason_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    owner_id: int | None = None  # the rep a hand-off or a reassignment gives it (else History's)
    # Who made it: a user here (a Smarketing export names them), else the manager who runs
    # the migration; `system`: nobody, the system did (an automatic hand-off, an escalation).
    actor_id: int | None = None
    system: bool = False

    def actor(self, importer: int | None) -> int | None:
        return None if self.system else (self.actor_id or importer)


@dataclass
class History:
    """What a row of the old CRM says happened to one lead."""

    created_at: dt.datetime
    steps: list[Step]
    owner_id: int | None = None
    deal_amount: Decimal | None = None
    closed_on: dt.date | None = None
    migrated: dict[str, Any] = field(default_factory=dict)  # system, import_job, row
    referrer_id: int | None = None  # the employee who referred it (a Smarketing export)
    # SLA clocks already resolved (met or breached) in the system it came from, as
    # `sla.models.Clock` columns with the owner's id (a Smarketing export); none run.
    clocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return self.steps[-1].to if self.steps else Stage.LEAD

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label


def history_check(history: History) -> None:
    """Walk the path from `lead` through the transition table: each step must start from
    the stage the one before ended in, end where its row allows, and not happen before it.
    Raises ActionError with what is wrong (the row is refused)."""
    stage, since, what = Stage.LEAD, history.created_at, "was created"
    for step in history.steps:
        if step.transition not in MIGRATED_STEPS:
            raise ActionError(f"A migrated history cannot {step.transition} a lead.")
        transition = TRANSITIONS[step.transition]
        check_stage(transition, stage)
        check_target(transition, step.to)
        if step.at < since:
            raise ActionError(
                f"It was {transition.past} on {step.at:%Y-%m-%d}, before it {what} on {since:%Y-%m-%d}: "
                "the dates are out of order."
            )
        if transition.reason and step.reason_id is None:
            raise ActionError(f"Being {transition.past} needs a reason.")
        if step.transition == "win" and (history.deal_amount is None or history.closed_on is None):
            raise ActionError("A won deal needs its amount and close date.")
        if step.transition == "win" and history.deal_amount < 0:
            raise ActionError(f"The deal amount {history.deal_amount} is negative.")
        if step.transition == "reassign" and step.to != stage:
            raise ActionError("A reassignment gives the lead a new rep; it does not move its stage.")
        if step.transition in ("qualify", "reassign") and (step.owner_id or history.owner_id) is None:
            raise ActionError(f"A lead {transition.past} to sales needs its rep (the owner).")
        stage, since, what = step.to, step.at, f"was {transition.past}"


def history_lead_columns(history: History, *, actor_id: int | None = None) -> dict[str, Any]:
    """The lead's own columns at the end of its path (what the transitions would have
    left, `leads.services.transitions`): stage and since when, owner, hand-off time and
    who handed it off (`actor_id`: the manager running the migration, for steps whose
    maker is not known), recycles, deal, referrer."""
    columns: dict[str, Any] = {
        "stage": Stage.LEAD,
        "stage_entered_at": history.created_at,
        "created_at": history.created_at,
        "owner_id": None,
        "qualified_at": None,
        "qualified_by_id": None,
        "recycle_count": 0,
        "deal_amount": None,
        "closed_on": None,
        "referrer_id": history.referrer_id,
    }
    for step in history.steps:
        if step.to != columns["stage"]:
            columns["stage_entered_at"] = step.at
        columns["stage"] = step.to
        columns["owner_id"] = _owner_after(step, history, columns["owner_id"])
        columns["recycle_count"] += _recycles(step)
        if step.transition == "qualify":
            columns["qualified_at"], columns["qualified_by_id"] = step.at, step.actor(actor_id)
        elif step.transition == "win":
            columns["deal_amount"], columns["closed_on"] = history.deal_amount, history.closed_on
    return columns


def _recycles(step: Step) -> int:
    """1 when the step sends the lead back to marketing as recycled: rejected, returned
    after an SLA breach, or lost to nurture."""
    return int(
        step.transition in ("reject", "return") or (step.transition == "lose" and step.to == Stage.LEAD)
    )


def _owner_after(step: Step, history: History, owner: int | None) -> int | None:
    """The lead's rep after the step: a hand-off or a reassignment gives one, a step back
    to marketing (recycled or reopened) takes it away, the others keep it."""
    if step.transition in ("qualify", "reassign"):
        return step.owner_id or history.owner_id
    if _recycles(step) or step.transition == "reopen":
        return None
    return owner


def history_events(history: History, *, actor_id: int | None) -> list[dict[str, Any]]:
    """The events of the path after `created` (which the creation writes), as rows: each
    with the data its transition writes in Smarketing, `stage_since` (when the lead entered
    the stage it leaves), and the migration mark."""
    rows: list[dict[str, Any]] = []
    stage, since, owner, recycles = Stage.LEAD, history.created_at, None, 0
    for step in history.steps:
        transition = TRANSITIONS[step.transition]
        recycles += _recycles(step)
        data: dict[str, Any] = {
            **_step_data(step, owner, _owner_after(step, history, owner), recycles, history),
            **step.data,
            "migrated": history.migrated,
        }
        rows.append(
            {
                "type": transition.event,
                "from_stage": stage,
                "to_stage": step.to,
                "actor_id": step.actor(actor_id),
                "occurred_at": step.at,
                "reason_id": step.reason_id,
                "note": "",
                "data": data,
                "stage_since": since if step.to != stage else None,
            }
        )
        if step.to != stage:
            since = step.at
        stage = step.to
        owner = _owner_after(step, history, owner)
    return rows


def _step_data(
    step: Step, owner: int | None, new_owner: int | None, recycles: int, history: History
) -> dict[str, Any]:
    """What each transition's event holds in Smarketing (`leads.services.transitions`):
    `owner` is the rep the lead had before the step, `new_owner` after it, `recycles` the
    recycle count after it."""
    event = TRANSITIONS[step.transition].event
    if event == EventType.QUALIFIED:
        return {"owner": new_owner, "routing_rule": "migrated", "automatic": step.system}
    if event == EventType.ACCEPTED:
        return {"response_on_time": None}
    if event == EventType.REJECTED:
        return {"owner": owner, "recycle_count": recycles, "response_on_time": None}
    if event == EventType.RETURNED:
        return {"from_owner": owner}
    if event == EventType.REASSIGNED:
        return {"from_owner": owner, "owner": new_owner, "routing_rule": "migrated"}
    if event == EventType.WON:
        return {"amount": str(history.deal_amount), "closed_on": history.closed_on.isoformat()}
    if event == EventType.LOST:
        return {"owner": owner, "outcome": "recycle" if step.to == Stage.LEAD else "disqualify"}
    if event == EventType.DISQUALIFIED:
        return {"clocks_cancelled": 0}
    return {}

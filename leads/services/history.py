"""A lead's history brought from another CRM: the path it took (created, handed off,
accepted, won or lost, disqualified), each step checked against the one transition table
as a transition in Smarketing would be, then written as back-dated events marked as
migrated (docs/migration.md). `leads.services.create.leads_create_migrated` writes them;
this module only describes and checks, without the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from leads.models import EventType, Stage
from leads.stages import TRANSITIONS, check_stage, check_target
from smarketing.core.errors import ActionError

# The steps a migrated path may hold, in the order the funnel allows them.
MIGRATED_STEPS = ("qualify", "accept", "win", "lose", "disqualify")


@dataclass(frozen=True)
class Step:
    """One transition of the path: the row of `TRANSITIONS` it is, when, and where it ended."""

    transition: str
    at: dt.datetime
    to: str
    reason_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class History:
    """What a row of the old CRM says happened to one lead."""

    created_at: dt.datetime
    steps: list[Step]
    owner_id: int | None = None
    deal_amount: Decimal | None = None
    closed_on: dt.date | None = None
    migrated: dict[str, Any] = field(default_factory=dict)  # system, import_job, row

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
        stage, since, what = step.to, step.at, f"was {transition.past}"
    if history.owner_id is None and any(step.transition == "qualify" for step in history.steps):
        raise ActionError("A lead handed to sales needs its rep (the owner).")


def history_lead_columns(history: History) -> dict[str, Any]:
    """The lead's own columns at the end of its path (what the transitions would have
    left): stage and since when, owner, hand-off time, recycles, deal."""
    columns: dict[str, Any] = {
        "stage": Stage.LEAD,
        "stage_entered_at": history.created_at,
        "created_at": history.created_at,
        "owner_id": None,
        "qualified_at": None,
        "recycle_count": 0,
        "deal_amount": None,
        "closed_on": None,
    }
    for step in history.steps:
        if step.to != columns["stage"]:
            columns["stage_entered_at"] = step.at
        columns["stage"] = step.to
        if step.transition == "qualify":
            columns["owner_id"], columns["qualified_at"] = history.owner_id, step.at
        elif step.transition == "win":
            columns["deal_amount"], columns["closed_on"] = history.deal_amount, history.closed_on
        elif step.transition == "lose" and step.to == Stage.LEAD:
            columns["owner_id"] = None
            columns["recycle_count"] += 1
    return columns


def history_events(history: History, *, actor_id: int | None) -> list[dict[str, Any]]:
    """The events of the path after `created` (which the creation writes), as rows: each
    with the data its transition writes in Smarketing, `stage_since` (when the lead entered
    the stage it leaves), and the migration mark."""
    rows: list[dict[str, Any]] = []
    stage, since = Stage.LEAD, history.created_at
    for step in history.steps:
        transition = TRANSITIONS[step.transition]
        data: dict[str, Any] = {**_step_data(step, history), **step.data, "migrated": history.migrated}
        rows.append(
            {
                "type": transition.event,
                "from_stage": stage,
                "to_stage": step.to,
                "actor_id": actor_id,
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
    return rows


def _step_data(step: Step, history: History) -> dict[str, Any]:
    """What each transition's event holds in Smarketing (`leads.services.transitions`)."""
    event = TRANSITIONS[step.transition].event
    if event == EventType.QUALIFIED:
        return {"owner": history.owner_id, "routing_rule": "migrated", "automatic": False}
    if event == EventType.ACCEPTED:
        return {"response_on_time": None}
    if event == EventType.WON:
        return {"amount": str(history.deal_amount), "closed_on": history.closed_on.isoformat()}
    if event == EventType.LOST:
        return {"owner": history.owner_id, "outcome": "recycle" if step.to == Stage.LEAD else "disqualify"}
    if event == EventType.DISQUALIFIED:
        return {"clocks_cancelled": 0}
    return {}

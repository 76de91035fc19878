"""A Smarketing lead export migrated into another Smarketing: each row's History cell
(docs/exports.md, "History") read back into the path the lead took — every move at its
time, by whom, the reps and reasons matched here by email and code, and the SLA clocks it
met or breached (docs/migration.md, "From one Smarketing to another").
`smarketing.intake.migration.MigrationContext.history` hands a row here when the file is a
Smarketing export."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from leads import services
from leads.models import Stage
from leads.services.history import MIGRATED_STEPS
from leads.stages import TRANSITIONS
from sla.models import Obligation
from smarketing.core.inputs import FIRST_YEAR, LAST_YEAR, decimal_in
from smarketing.intake.values import label_key

if TYPE_CHECKING:
    from smarketing.intake.migration import MigrationContext


def exported_history(ctx: MigrationContext, row_number: int, values: dict[str, str]) -> services.History:
    """The path a Smarketing export's row took, step by step, as its History cell
    says: every hand-off, answer, reassignment and outcome at its own time, the reps
    and reasons matched here by email and code, and the SLA clocks it met or breached.
    ValueError says what is wrong with the cell."""
    raw = values.get("history", "").strip()
    if not raw:
        raise ValueError(
            "The History cell is empty: export the lead list as a marketer, rep or manager "
            "(an export without a product role leaves it out)."
        )
    try:
        cell = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any export writes
        raise ValueError("The History cell is not the JSON a Smarketing export writes.") from None
    if not isinstance(cell, dict) or not isinstance(cell.get("events", []), list):
        raise ValueError("The History cell is not the JSON a Smarketing export writes.")
    created = _past(ctx, _moment(cell.get("created"), "created"), "created")
    stage, owner, last_owner_step = Stage.LEAD, None, None
    steps: list[services.Step] = []
    deal_amount = closed_on = None
    for n, event in enumerate(cell.get("events") or [], start=1):
        if not isinstance(event, dict):
            raise ValueError(f"Step {n} of the History cell is not an event.")
        transition = _BY_EVENT.get(event["type"]) if isinstance(event.get("type"), str) else None
        if transition is None:
            raise ValueError(f"Step {n} of the History cell, “{str(event.get('type'))[:40]}”, is not a move.")
        at = _past(ctx, _moment(event.get("at"), f"step {n}"), f"step {n}")
        to = event.get("to") or TRANSITIONS[transition].target or stage
        if to not in Stage.values:
            raise ValueError(f"Step {n} of the History cell ends in “{str(to)[:40]}”, which is not a stage.")
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        step_owner = None
        if transition in ("qualify", "reassign"):
            step_owner = history_user(ctx, event.get("owner"), f"the rep of step {n}")
            owner, last_owner_step = step_owner, len(steps)
        reason_id = None
        if kind := TRANSITIONS[transition].reason:
            reason_id = exported_reason(ctx, kind, event.get("reason"), n)
        if transition == "win":
            deal_amount = decimal_in(
                str(data.get("amount") or "0"),
                name="amount",
                message=f"Step {n}'s deal amount is not an amount.",
            )
            closed_on = _day(data.get("closed_on"), n)
            if closed_on > timezone.localdate(ctx.go_live) + dt.timedelta(days=1):
                raise ValueError(f"Step {n}'s close date {closed_on} is after the migration.")
        kept = {key: data[key] for key in _KEPT_DATA if isinstance(data.get(key), str | int | bool)}
        by = ctx.owner_match(str(event.get("by") or "").strip()[:254])
        steps.append(
            services.Step(
                transition,
                at,
                to,
                reason_id,
                kept,
                owner_id=step_owner.pk if step_owner else None,
                actor_id=by.pk if by else None,  # someone not here: the manager running it
                system="by" in event and event["by"] is None,
            )
        )
        stage = to
    if stage in (Stage.MQL, Stage.SQL) and owner is not None and owner.pk not in ctx.active_reps:
        # An open MQL or SQL needs an active rep now: the fallback takes over the last hand-off.
        fallback = ctx.owner(owner.email or (owner.get_full_name() or owner.get_username()), open_deal=True)
        steps[last_owner_step] = replace(steps[last_owner_step], owner_id=fallback.pk)
    return services.History(
        created_at=created,
        steps=steps,
        deal_amount=deal_amount,
        closed_on=closed_on,
        migrated={"system": ctx.system, "import_job": ctx.job.pk, "row": row_number},
        referrer_id=history_user(ctx, values["referrer"], "the referrer").pk
        if values.get("referrer", "").strip()
        else None,
        clocks=[exported_clock(ctx, clock, n) for n, clock in enumerate(cell.get("clocks") or [], start=1)],
    )


def history_user(ctx: MigrationContext, value, what: str):
    """The user an email of the export names here (the manager's owner map first), else
    the fallback owner; ValueError when neither."""
    text = str(value or "").strip()[:254]
    user = ctx.owner_match(text)
    if user is None:
        user = ctx.fallback_owner
    if user is None:
        raise ValueError(
            f"No user here has the email “{text}” ({what}): map it to a user, or pick a fallback owner."
        )
    return user


def exported_reason(ctx: MigrationContext, kind: str, value, n: int) -> int:
    reason = ctx.reason_by_key.get((kind, label_key(str(value or ""))))
    if reason is None:
        raise ValueError(
            f"Step {n}'s reason “{str(value or '')[:100]}” is not one of the agreed reasons here: "
            "add it on the Reasons page first."
        )
    return reason.pk


def exported_clock(ctx: MigrationContext, clock, n: int) -> dict[str, Any]:
    if not isinstance(clock, dict) or clock.get("obligation") not in Obligation.values:
        raise ValueError(f"Clock {n} of the History cell is not an SLA clock.")
    seconds = clock.get("business_seconds")
    if seconds is not None and not (
        isinstance(seconds, int) and not isinstance(seconds, bool) and 0 <= seconds < 2**31
    ):
        raise ValueError(f"Clock {n} of the History cell has business seconds that are not a count.")
    met = _moment(clock["met"], f"clock {n}") if clock.get("met") else None
    breached = _moment(clock["breached"], f"clock {n}") if clock.get("breached") else None
    if met is None and breached is None:
        raise ValueError(f"Clock {n} of the History cell was neither met nor breached.")
    cancelled = _moment(clock["cancelled"], f"clock {n}") if clock.get("cancelled") else None
    if met is None and cancelled is None:
        # Breached and still waiting there: it ends here at go-live, where the lead's
        # own clock starts (docs/migration.md, "No SLA clock runs in the past").
        cancelled = ctx.go_live
    started, due = _moment(clock.get("started"), f"clock {n}"), _moment(clock.get("due"), f"clock {n}")
    if due < started:
        raise ValueError(f"Clock {n} of the History cell is due before it started.")
    return {
        "obligation": clock["obligation"],
        "owner_id": history_user(ctx, clock.get("owner"), f"the owner of clock {n}").pk,
        "started_at": started,
        "due_at": due,
        "met_at": met,
        "breached_at": breached,
        "cancelled_at": cancelled,
        "business_seconds": seconds,
        "measured_only": clock.get("measured_only") is True,
    }


_BY_EVENT = {transition.event: name for name, transition in TRANSITIONS.items() if name in MIGRATED_STEPS}
_KEPT_DATA = ("scoring_version", "agreement_version", "automatic")  # amount and close date are the deal's


def _moment(value, what: str) -> dt.datetime:
    """An exact time as the export writes it (ISO 8601 with its offset)."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(
            f"The time of {what} in the History cell, “{str(value)[:40]}”, is not a time."
        ) from None
    if timezone.is_naive(moment):
        raise ValueError(f"The time of {what} in the History cell has no offset from UTC.")
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(
            f"The time of {what} in the History cell is not between {FIRST_YEAR} and {LAST_YEAR}."
        )
    return moment


def _past(ctx: MigrationContext, moment: dt.datetime, what: str) -> dt.datetime:
    """A step of the path happened before the migration that brings it."""
    if moment > ctx.go_live:
        raise ValueError(
            f"The time of {what} in the History cell is after the migration ({moment:%Y-%m-%d %H:%M})."
        )
    return moment


def _day(value, n: int) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"Step {n}'s close date “{str(value)[:40]}” is not a date.") from None

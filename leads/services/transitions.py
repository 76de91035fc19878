"""Every stage transition, driven by the one table of `leads.stages`.

Each service below starts with `_begin`: the lead locked, its row of the table read and
checked (the stages it starts from, who may act, the version the caller read); moves the
lead with `_enter` to the row's target; and writes the row's event with `_record`. What a
service adds is only what its verb needs: the hand-off gate and routing, the deal amount,
the reason's outcome, the SLA clocks.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads import permissions, scoring
from leads.events import event_record
from leads.models import EventType, Lead, LeadEvent, Stage
from leads.services.base import check_version, clean_note, denied, lock, move, notify_after_commit, save
from leads.stages import TRANSITIONS, Transition, check_stage, check_target, check_who
from sla import services as sla_services
from smarketing.agreement import versions
from smarketing.agreement.models import HandoffGate, LossOutcome, Reason, ReasonKind, ScoringDefinition
from smarketing.agreement.routing import route_mql
from smarketing.core.errors import ActionError
from smarketing.org import roles

log = logging.getLogger(__name__)


# --- the table, applied ----------------------------------------------------------------------


def _check(transition: Transition, lead: Lead, actor, expected_version: int | None = None) -> None:
    """The row's checks on a locked lead: its stage, then the person (`None`: the system),
    then the version the caller read."""
    check_stage(transition, lead.stage)
    check_who(transition, actor, lead)
    check_version(lead, expected_version)


def _begin(name: str, *, lead_id: int, actor, expected_version: int | None = None) -> tuple[Lead, Transition]:
    """Lock the lead and check it against the row of transition `name`."""
    transition = TRANSITIONS[name]
    lead = lock(lead_id)
    _check(transition, lead, actor, expected_version)
    return lead, transition


def _enter(
    lead: Lead, transition: Transition, now: dt.datetime, *, to: str | None = None, **changes: Any
) -> str:
    """Move the locked lead to the row's target (`to`: one of its targets, where the row
    has several) with `changes`, and save it. Returns the stage it left."""
    to_stage = to or transition.target or lead.stage
    check_target(transition, to_stage)
    from_stage = move(lead, to_stage, now, **changes)
    save(lead)
    return from_stage


def _record(lead: Lead, transition: Transition, actor, from_stage: str, **fields: Any) -> LeadEvent:
    """The row's event, from the stage the lead left to the one it is in."""
    return event_record(
        lead=lead, type=transition.event, actor=actor, from_stage=from_stage, to_stage=lead.stage, **fields
    )


def _reason(reason: Reason | int | None, transition: Transition) -> Reason:
    """The reason given, if it is one of the agreed reasons of the row's kind."""
    kind = transition.reason
    if reason in (None, ""):
        raise ActionError(
            f"Choose a reason to {transition.name} this lead.",
            code=ActionError.REASON_REQUIRED,
            field="reason",
        )
    if not isinstance(reason, Reason):
        try:
            reason = Reason.objects.get(pk=reason)
        except (Reason.DoesNotExist, ValueError, TypeError):
            raise ActionError(
                "That reason does not exist.", code=ActionError.INVALID, field="reason"
            ) from None
    if reason.kind != kind or not reason.is_active:
        raise ActionError(
            f"“{reason.label}” is not one of the agreed {ReasonKind(kind).label.split(' ')[0].lower()} reasons.",
            code=ActionError.INVALID,
            field="reason",
        )
    return reason


# --- the hand-off gate -----------------------------------------------------------------------


def handoff_missing(lead: Lead, gate: HandoffGate | None = None) -> list[str]:
    """What the hand-off gate still needs before this lead can become an MQL."""
    gate = gate or HandoffGate.current()
    missing = []
    for name in gate.required_fields:
        if getattr(lead, name, None) in (None, ""):
            missing.append(str(Lead._meta.get_field(name).verbose_name))
    needed = gate.min_engagements
    if needed and lead.engagements.count() < needed:
        missing.append(f"at least {needed} engagement{'s' if needed != 1 else ''}")
    return missing


# --- transitions -----------------------------------------------------------------------------


@transaction.atomic
def lead_qualify(
    *,
    lead_id: int,
    actor,
    expected_version: int | None = None,
    owner=None,
    note: str = "",
) -> Lead:
    """Hand a lead to sales: stage MQL, assigned by routing, response clock started.

    `actor=None` is the system (automatic qualification at the score threshold).
    `owner` is a manager's override of routing.
    """
    lead, transition = _begin("qualify", lead_id=lead_id, actor=actor, expected_version=expected_version)
    note = clean_note(note)
    if lead.recycle_count > 0 and actor is not None and not note:
        raise ActionError(
            "This lead was sent back by sales before: say what changed in a note.",
            code=ActionError.INVALID,
            field="note",
        )
    missing = handoff_missing(lead)
    if missing:
        raise ActionError(
            "The hand-off gate is not met: missing " + ", ".join(missing) + ".",
            code=ActionError.INVALID,
            data={"missing": missing},
        )
    if owner is not None:
        if actor is not None and not (roles.has_role(actor, roles.Role.MANAGER) or roles.is_admin(actor)):
            raise denied("choose the rep for", "a manager")
        if not roles.is_active_sales_rep(owner):
            raise ActionError(f"{owner} is not an active sales rep.", field="owner")
        rule = "manager override"
    else:
        owner, rule = route_mql(lead)
    now = timezone.now()
    agreement_version = versions.number_in_force()
    from_stage = _enter(
        lead,
        transition,
        now,
        owner=owner,
        qualified_by=actor,
        qualified_at=now,
        agreement_version=agreement_version,
    )
    event = _record(
        lead,
        transition,
        actor,
        from_stage,
        note=note,
        data={
            "owner": owner.pk,
            "routing_rule": rule,
            "score": lead.score,
            "scoring_version": lead.scored_version,
            "agreement_version": agreement_version,
            "score_receipt": lead.score_receipt,
            "automatic": actor is None,
        },
    )
    sla_services.clock_start_response(lead=lead, owner=owner, started_at=now)
    notify_after_commit(event)
    return lead


@transaction.atomic
def lead_accept(*, lead_id: int, actor, expected_version: int | None = None, note: str = "") -> Lead:
    # The stage is checked before the person: an MQL answered a moment ago by someone else
    # is refused as answered, not as somebody else's.
    lead, transition = _begin("accept", lead_id=lead_id, actor=actor, expected_version=expected_version)
    now = timezone.now()
    handed_off_at = lead.stage_entered_at
    from_stage = _enter(lead, transition, now)
    clock = sla_services.clock_meet_response(lead=lead, met_at=now, handed_off_at=handed_off_at)
    _record(
        lead,
        transition,
        actor,
        from_stage,
        note=clean_note(note),
        data={"response_on_time": clock.met_on_time if clock else None},
    )
    return lead


@transaction.atomic
def lead_reject(
    *,
    lead_id: int,
    actor,
    reason: Reason | int | None,
    note: str = "",
    expected_version: int | None = None,
) -> Lead:
    """Send an MQL back to marketing as recycled, with a reason from the agreed list."""
    lead, transition = _begin("reject", lead_id=lead_id, actor=actor, expected_version=expected_version)
    reason = _reason(reason, transition)
    now = timezone.now()
    rejected_by_owner = lead.owner_id
    handed_off_at = lead.stage_entered_at
    from_stage = _enter(lead, transition, now, owner=None, recycle_count=F("recycle_count") + 1)
    clock = sla_services.clock_meet_response(lead=lead, met_at=now, handed_off_at=handed_off_at)
    event = _record(
        lead,
        transition,
        actor,
        from_stage,
        reason=reason,
        note=clean_note(note),
        data={
            "owner": rejected_by_owner,
            "recycle_count": lead.recycle_count,
            "response_on_time": clock.met_on_time if clock else None,
        },
    )
    notify_after_commit(event)
    return lead


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ActionError("Enter the deal amount as a number.", field="amount") from None
    if not amount.is_finite() or amount < 0:
        raise ActionError("The deal amount cannot be negative.", field="amount")
    if amount >= Decimal("1e12"):
        raise ActionError("The deal amount is too large.", field="amount")
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def lead_win(
    *,
    lead_id: int,
    actor,
    amount: Any,
    closed_on: dt.date | None,
    note: str = "",
    expected_version: int | None = None,
) -> Lead:
    lead, transition = _begin("win", lead_id=lead_id, actor=actor, expected_version=expected_version)
    if amount in (None, ""):
        raise ActionError("Enter the deal amount.", field="amount")
    amount = _amount(amount)
    if closed_on is None:
        raise ActionError("Enter the close date.", field="closed_on")
    if closed_on > timezone.localdate() + dt.timedelta(days=1):
        raise ActionError("The close date cannot be in the future.", field="closed_on")
    now = timezone.now()
    from_stage = _enter(lead, transition, now, deal_amount=amount, closed_on=closed_on)
    sla_services.clocks_cancel(lead=lead, at=now)
    event = _record(
        lead,
        transition,
        actor,
        from_stage,
        note=clean_note(note),
        data={"amount": str(amount), "closed_on": closed_on.isoformat()},
    )
    notify_after_commit(event)
    return lead


@transaction.atomic
def lead_lose(
    *,
    lead_id: int,
    actor,
    reason: Reason | int | None,
    note: str = "",
    expected_version: int | None = None,
) -> Lead:
    """Lose an SQL: recycled to marketing or disqualified, as the loss reason says."""
    lead, transition = _begin("lose", lead_id=lead_id, actor=actor, expected_version=expected_version)
    reason = _reason(reason, transition)
    now = timezone.now()
    lost_by_owner = lead.owner_id
    if reason.loss_outcome == LossOutcome.RECYCLE:  # back to marketing, to nurture
        from_stage = _enter(
            lead, transition, now, to=Stage.LEAD, owner=None, recycle_count=F("recycle_count") + 1
        )
    else:
        from_stage = _enter(lead, transition, now, to=Stage.DISQUALIFIED)
    sla_services.clocks_cancel(lead=lead, at=now)
    _record(
        lead,
        transition,
        actor,
        from_stage,
        reason=reason,
        note=clean_note(note),
        data={"owner": lost_by_owner, "outcome": reason.loss_outcome},
    )
    return lead


@transaction.atomic
def lead_disqualify(
    *,
    lead_id: int,
    actor,
    reason: Reason | int | None,
    note: str = "",
    expected_version: int | None = None,
) -> Lead:
    """Out of the funnel: marketing while it is a lead, sales once it is an MQL or SQL."""
    lead, transition = _begin("disqualify", lead_id=lead_id, actor=actor, expected_version=expected_version)
    reason = _reason(reason, transition)
    now = timezone.now()
    from_stage = _enter(lead, transition, now)
    cancelled = sla_services.clocks_cancel(lead=lead, at=now)
    _record(
        lead,
        transition,
        actor,
        from_stage,
        reason=reason,
        note=clean_note(note),
        data={"clocks_cancelled": cancelled},
    )
    return lead


@transaction.atomic
def lead_reopen(*, lead_id: int, actor, note: str = "", expected_version: int | None = None) -> Lead:
    lead, transition = _begin("reopen", lead_id=lead_id, actor=actor, expected_version=expected_version)
    from_stage = _enter(lead, transition, timezone.now(), owner=None)
    _record(lead, transition, actor, from_stage, note=clean_note(note))
    return lead


@transaction.atomic
def lead_reassign(
    *,
    lead_id: int,
    actor,
    new_owner,
    note: str = "",
    expected_version: int | None = None,
    rule: str = "manager",
    restart_clocks: bool = False,
) -> Lead:
    """Give an MQL or SQL to another rep. `actor=None` is SLA escalation.

    Running clocks follow the lead: they are handed to the new owner with their deadline,
    or (`restart_clocks`, after an SLA breach) end on the first owner's record while the
    new owner gets fresh ones.
    """
    lead, transition = _begin("reassign", lead_id=lead_id, actor=actor, expected_version=expected_version)
    if new_owner is None or not roles.is_active_sales_rep(new_owner):
        raise ActionError(f"{new_owner or 'Nobody'} is not an active sales rep.", field="owner")
    if new_owner.pk == lead.owner_id:
        raise ActionError(f"This lead is already assigned to {new_owner}.", field="owner")
    old_owner = lead.owner_id
    now = timezone.now()
    _enter(lead, transition, now, owner=new_owner)
    if restart_clocks:
        sla_services.clocks_restart(lead=lead, new_owner=new_owner, at=now)
    else:
        sla_services.clocks_transfer(lead=lead, new_owner=new_owner)
    event = _record(
        lead,
        transition,
        actor,
        lead.stage,
        note=clean_note(note),
        data={"from_owner": old_owner, "owner": new_owner.pk, "routing_rule": rule},
    )
    if lead.stage == Stage.MQL:
        notify_after_commit(event)
    return lead


SNOOZE_MAX_DAYS = 90


@transaction.atomic
def lead_snooze(
    *, lead_id: int, actor, until: dt.date, reason: str, expected_version: int | None = None
) -> Lead:
    """The lead asked to be contacted later: the follow-up deadline moves to the agreed
    date (the business time that was left starts counting then). Audited, with a reason."""
    lead = lock(lead_id)
    if not permissions.acts_for_owner(actor, lead):
        raise denied("snooze", "the owner rep or their manager")
    if lead.stage != Stage.SQL:
        raise ActionError(
            f"Only an SQL's follow-up can be snoozed; this lead is {lead.get_stage_display()}.",
            code=ActionError.WRONG_STAGE,
        )
    check_version(lead, expected_version)
    reason = clean_note(reason)
    if not reason:
        raise ActionError("Say why (e.g. “asked to call back after the budget round”).", field="reason")
    today = timezone.localdate()
    if not isinstance(until, dt.date) or until <= today or until > today + dt.timedelta(days=SNOOZE_MAX_DAYS):
        raise ActionError(
            f"Snooze to a day after today and at most {SNOOZE_MAX_DAYS} days ahead.", field="until"
        )
    now = timezone.now()
    try:
        clock, old_due = sla_services.clock_snooze(lead=lead, until=until, now=now)
    except ValueError:
        raise ActionError(
            "There is no running follow-up deadline to snooze.", code=ActionError.WRONG_STAGE
        ) from None
    lead.version = F("version") + 1
    save(lead)
    event_record(
        lead=lead,
        type=EventType.SNOOZED,
        actor=actor,
        from_stage=lead.stage,
        to_stage=lead.stage,
        note=reason,
        data={
            "until": until.isoformat(),
            "old_due": old_due.isoformat(),
            "new_due": clock.due_at.isoformat(),
        },
    )
    return lead


@transaction.atomic
def lead_return_to_marketing(
    *, lead_id: int, from_owner_id: int, note: str = "", clock_id: int | None = None
) -> Lead | None:
    """SLA enforcement sends an MQL nobody responded to back to marketing (recycled).
    Returns None, changing nothing, if the lead moved on or changed hands meanwhile."""
    transition = TRANSITIONS["return"]
    lead = lock(lead_id)
    if (
        lead.stage not in transition.sources
        or lead.owner_id != from_owner_id
        or not sla_services.clock_breach_stands(clock_id=clock_id, lead=lead)
    ):
        return None
    _check(transition, lead, None)
    now = timezone.now()
    from_stage = _enter(lead, transition, now, owner=None, recycle_count=F("recycle_count") + 1)
    sla_services.clocks_cancel(lead=lead, at=now)
    event = _record(
        lead,
        transition,
        None,
        from_stage,
        note=clean_note(note),
        data={"from_owner": from_owner_id},
    )
    notify_after_commit(event)
    return lead


@transaction.atomic
def lead_sla_reassign(
    *, lead_id: int, from_owner_id: int, note: str = "", clock_id: int | None = None
) -> Lead | None:
    """SLA enforcement gives a breached lead to the next available rep. Nothing happens if
    the lead moved on or changed hands meanwhile (its breached clock is no longer its
    obligation), or if nobody else is available. The check, the routing and the
    reassignment are one transaction holding the lead locked: nobody can take or answer
    the lead between them."""
    lead = lock(lead_id)
    if (
        lead.stage not in TRANSITIONS["reassign"].sources
        or lead.owner_id != from_owner_id
        or not sla_services.clock_breach_stands(clock_id=clock_id, lead=lead)
    ):
        return None
    try:
        new_owner, rule = route_mql(lead, exclude=lead.owner)
    except ActionError:
        return None
    return lead_reassign(
        lead_id=lead_id,
        actor=None,
        new_owner=new_owner,
        note=note,
        rule=f"SLA escalation ({rule})",
        restart_clocks=True,
    )


def lead_auto_qualify(*, lead_id: int) -> bool:
    """The system hands a lead to sales at the threshold, if it still qualifies now."""
    definition = ScoringDefinition.current()
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None or not scoring.due_for_auto_qualify(lead, definition):  # it may have moved on
        return False
    try:
        lead_qualify(
            lead_id=lead_id,
            actor=None,
            note=f"Score {lead.score} reached the threshold {definition.threshold}.",
        )
    except ActionError as exc:
        # Gate not met or nobody available: it stays with marketing, who see it in the list.
        log.info("Lead %s not qualified automatically: %s", lead_id, exc.message)
        return False
    return True

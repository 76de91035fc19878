"""Writing the immutable event log. Called only from services, inside their transaction."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet
from django.utils import timezone

from leads.models import Lead, LeadEvent
from smarketing.agreement.models import Reason
from smarketing.core.errors import ActionError


def entered_events(lead, stage, before) -> QuerySet[LeadEvent]:
    """The events that moved `lead` into `stage` at or before `before`, latest first (each
    argument a value or an OuterRef)."""
    return (
        LeadEvent.objects.filter(lead=lead, to_stage=stage, occurred_at__lte=before)
        .exclude(from_stage=stage)
        .order_by("-occurred_at", "-id")
    )


def stage_since_of(outer: str = "") -> QuerySet:
    """For a move out of a stage, when the lead had entered it: as a subquery over the
    events named by `outer` (an OuterRef prefix), to backfill or to check stored values."""
    return entered_events(
        OuterRef(f"{outer}lead"), OuterRef(f"{outer}from_stage"), OuterRef(f"{outer}occurred_at")
    ).values("occurred_at")[:1]


def event_record(
    *,
    lead: Lead,
    type: str,
    actor=None,
    from_stage: str = "",
    to_stage: str = "",
    reason: Reason | None = None,
    note: str = "",
    data: dict | None = None,
) -> LeadEvent:
    if note and actor is not None and lead.erased_at is not None:
        # A person's words on an erased person's record could name them again; the
        # system's own notes (an SLA return) name nobody.
        raise ActionError(
            f"This person was erased on {lead.erased_at:%Y-%m-%d}: act without a note, the "
            "anonymous record keeps no new text.",
            code=ActionError.WRONG_STAGE,
            field="note",
        )
    now = timezone.now()
    stage_since = None
    if from_stage and to_stage and from_stage != to_stage:
        stage_since = entered_events(lead, from_stage, now).values_list("occurred_at", flat=True).first()
    return LeadEvent.objects.create(
        lead=lead,
        type=type,
        actor=actor if actor is not None and actor.is_authenticated else None,
        from_stage=from_stage,
        to_stage=to_stage,
        occurred_at=now,
        reason=reason,
        note=note,
        data=data or {},
        stage_since=stage_since,
    )

"""Writing the immutable event log. Called only from services, inside their transaction."""

from __future__ import annotations

from django.utils import timezone

from .models import Lead, LeadEvent, Reason


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
    return LeadEvent.objects.create(
        lead=lead,
        type=type,
        actor=actor if actor is not None and actor.is_authenticated else None,
        from_stage=from_stage,
        to_stage=to_stage,
        occurred_at=timezone.now(),
        reason=reason,
        note=note,
        data=data or {},
    )

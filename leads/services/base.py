"""What every write to a lead starts with: the row locked, the version checked, a refusal
worded, a note cleaned; and what it ends with: the row saved, notifications queued."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import F

from leads import tasks
from leads.models import Lead, LeadEvent
from smarketing.core.errors import ActionError
from smarketing.core.queue import on_commit_enqueue

log = logging.getLogger(__name__)


# --- helpers -------------------------------------------------------------------------------


def lock(lead_id: int) -> Lead:
    try:
        lead = Lead.objects.select_for_update().get(pk=lead_id)
    except Lead.DoesNotExist:
        raise ActionError(f"Lead {lead_id} does not exist.", code=ActionError.NOT_FOUND) from None
    if lead.merged_into_id is not None:
        raise ActionError(
            f"This lead was merged into lead {lead.merged_into_id}; act on that one.",
            code=ActionError.WRONG_STAGE,
            data={"merged_into": lead.merged_into_id},
        )
    return lead


def refuse_erased(lead: Lead, what: str) -> None:
    """An erased person's lead is an anonymous record: nothing that could name them again
    (a profile value, a note, an engagement, a touch's note) is written on it."""
    if lead.erased_at is not None:
        raise ActionError(
            f"This person was erased on {lead.erased_at:%Y-%m-%d}: {what} cannot be added to the anonymous record.",
            code=ActionError.WRONG_STAGE,
        )


def check_version(lead: Lead, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != lead.version:
        raise ActionError(
            "Someone changed this lead since you loaded it (version "
            f"{expected_version}, now {lead.version}). Reload it and try again.",
            code=ActionError.STALE_VERSION,
            data={"current_version": lead.version},
        )


def denied(action: str, who: str) -> ActionError:
    return ActionError(f"You cannot {action} this lead: only {who} can.", code=ActionError.FORBIDDEN)


def move(lead: Lead, to_stage: str, now: dt.datetime, **changes: Any) -> str:
    """Apply a stage change to the locked row; the caller saves. Returns the old stage."""
    from_stage = lead.stage
    lead.stage = to_stage
    if to_stage != from_stage:
        lead.stage_entered_at = now
    for name, value in changes.items():
        setattr(lead, name, value)
    lead.version = F("version") + 1
    return from_stage


def save(lead: Lead) -> Lead:
    lead.save()
    lead.refresh_from_db()
    return lead


def notify_after_commit(event: LeadEvent) -> None:
    on_commit_enqueue(tasks.notifications_for_event, event.pk)


def clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > 5000:
        raise ActionError("A note can be at most 5,000 characters.", field="note")
    return note


def as_json(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)

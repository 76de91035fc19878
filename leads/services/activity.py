"""What marketing and sales log on a lead: marketing's engagements, sales' touches."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads import permissions, scoring
from leads.models import Engagement, Stage, Touch
from leads.services.base import clean_note, denied, lock, refuse_erased
from sla import services as sla_services
from smarketing.core.errors import ActionError
from smarketing.org import roles

log = logging.getLogger(__name__)


# --- marketing's touches ---------------------------------------------------------------------


@transaction.atomic
def engagement_log(
    *,
    lead_id: int,
    actor,
    type: str,
    occurred_at: dt.datetime | None = None,
    title: str = "",
    url: str = "",
    points: int = 0,
    origin: str = "manual",
    external_id: str = "",
) -> tuple[Engagement, bool]:
    """Record what the lead consumed. Idempotent by (origin, external_id)."""
    lead = lock(lead_id)
    if actor is not None and not roles.is_marketing_side(actor):
        raise denied("log an engagement on", "marketing")
    refuse_erased(lead, "an engagement")
    if external_id:
        existing = Engagement.objects.filter(origin=origin, external_id=external_id).first()
        if existing is not None:
            return existing, False
    engagement = Engagement(
        lead=lead,
        type=type,
        occurred_at=occurred_at or timezone.now(),
        title=title,
        url=url,
        points=points,
        origin=origin,
        external_id=external_id,
        logged_by=actor if actor is not None and actor.is_authenticated else None,
    )
    try:
        engagement.full_clean(exclude=["lead", "logged_by"], validate_unique=False)
    except ValidationError as exc:
        raise ActionError(
            "; ".join(f"{k}: {v[0]}" for k, v in exc.message_dict.items()),
            fields=exc.message_dict,
        ) from None
    if engagement.occurred_at > timezone.now() + dt.timedelta(minutes=5):
        raise ActionError("An engagement cannot happen in the future.", field="occurred_at")
    engagement.save()
    scoring.lead_rescore(lead_id=lead.pk)
    engagement.refresh_from_db(fields=["points"])
    return engagement, True


@transaction.atomic
def touch_log(
    *,
    lead_id: int,
    actor,
    kind: str,
    outcome: str,
    occurred_at: dt.datetime | None = None,
    note: str = "",
) -> Touch:
    """A sales follow-up touch on an SQL, by its owner (or their manager)."""
    lead = lock(lead_id)
    if not permissions.acts_for_owner(actor, lead):
        raise denied("log a touch on", "the owner rep or their manager")
    if lead.stage != Stage.SQL:
        raise ActionError(
            f"Touches are logged on SQLs; this lead is {lead.get_stage_display()}.",
            code=ActionError.WRONG_STAGE,
        )
    if note and note.strip():
        refuse_erased(lead, "a touch's note")
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + dt.timedelta(minutes=5):
        raise ActionError("A touch cannot happen in the future.", field="occurred_at")
    touch = Touch(
        lead=lead, kind=kind, outcome=outcome, occurred_at=occurred_at, by=actor, note=clean_note(note)
    )
    try:
        touch.full_clean(exclude=["lead", "by"])
    except ValidationError as exc:
        raise ActionError(
            "; ".join(f"{k}: {v[0]}" for k, v in exc.message_dict.items()),
            fields=exc.message_dict,
        ) from None
    touch.save()
    sla_services.clock_touch_logged(lead=lead, touch=touch)
    return touch

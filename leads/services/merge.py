"""Merging two leads that are one person."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads import permissions, scoring
from leads.events import event_record
from leads.models import Engagement, EventType, Lead, Stage, Touch
from leads.services.base import as_json, clean_note, denied, lock, refuse_erased, save
from leads.services.consent import CONSENT_FIELDS
from leads.services.profile import PROFILE_FIELDS
from sla import services as sla_services
from smarketing.core.errors import ActionError

log = logging.getLogger(__name__)


@transaction.atomic
def lead_merge(*, survivor_id: int, other_id: int, actor, note: str = "") -> Lead:
    """Merge `other` into `survivor`: engagements and touches move over, blank profile
    fields are filled from the other, both event logs stay (each on its own lead, and the
    survivor's timeline shows both); the other becomes a pointer to the survivor."""
    if survivor_id == other_id:
        raise ActionError("Choose two different leads to merge.")
    # Lock both rows in a fixed order so that two merges cannot deadlock.
    locked = {pk: lock(pk) for pk in sorted((survivor_id, other_id))}
    survivor, other = locked[survivor_id], locked[other_id]
    for lead in (survivor, other):
        refuse_erased(lead, "another lead's profile")
    if other.stage == Stage.CUSTOMER:
        raise ActionError(
            "The lead being merged away is a customer: keep it as the survivor instead.",
            code=ActionError.WRONG_STAGE,
        )
    for lead in (survivor, other):
        if not permissions.may_merge(actor, lead):
            who = (
                "its rep or their manager, while sales owns it"
                if lead.owner_id
                else "a marketer or a manager"
            )
            raise denied("merge", who)
    filled = {
        name: getattr(other, name)
        for name in PROFILE_FIELDS
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, "")
    }
    # One person, one answer on marketing contact: the newer of the two (a withdrawal on
    # the duplicate must stop the survivor's automatic hand-off too). Each answer's record
    # stays on its lead; the person's export reads both.
    newer_consent = other.consent_at is not None and (
        survivor.consent_at is None or other.consent_at > survivor.consent_at
    )
    if newer_consent:
        for name in CONSENT_FIELDS:
            setattr(survivor, name, getattr(other, name))
    moved_engagements = Engagement.objects.filter(lead=other).update(lead=survivor)
    moved_touches = Touch.objects.filter(lead=other).update(lead=survivor)
    now = timezone.now()
    cancelled = sla_services.clocks_cancel(lead=other, at=now)
    for name, value in filled.items():
        setattr(survivor, name, value)
    survivor.version = F("version") + 1
    save(survivor)
    other.merged_into = survivor
    other.version = F("version") + 1
    save(other)
    data = {
        "survivor": survivor.pk,
        "other": other.pk,
        "other_email": other.email,
        "filled": {k: as_json(v) for k, v in filled.items()},
        "consent_from_other": newer_consent,
        "engagements_moved": moved_engagements,
        "touches_moved": moved_touches,
        "clocks_cancelled": cancelled,
    }
    event_record(
        lead=survivor,
        type=EventType.MERGED,
        actor=actor,
        from_stage=survivor.stage,
        to_stage=survivor.stage,
        note=clean_note(note),
        data=data,
    )
    event_record(
        lead=other,
        type=EventType.MERGED_INTO,
        actor=actor,
        from_stage=other.stage,
        to_stage=other.stage,
        note=clean_note(note),
        data=data,
    )
    return scoring.lead_rescore(lead_id=survivor.pk)

"""A lead's contact and company profile: the one validation every way in uses (the form,
the API, imports, inbound forms, referrals), and edits to it."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads import permissions, scoring
from leads.events import event_record
from leads.models import Engagement, EventType, Lead, LeadEvent, normalize_email
from leads.services.base import as_json, check_version, denied, lock, save
from smarketing.agreement.scoring import Scorer
from smarketing.core import bulk
from smarketing.core.errors import ActionError

log = logging.getLogger(__name__)

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "country",
    "website",
)


# --- create and edit -----------------------------------------------------------------------


def lead_profile_validate(values: dict[str, Any]) -> dict[str, Any]:
    """Check profile values the way create does, without writing (an import's preview)."""
    return _validated_profile(values)


def _validated_profile(values: dict[str, Any], *, instance: Lead | None = None) -> dict[str, Any]:
    """Validate profile fields the way the model does; raise one error with every field."""
    values = {**values, "email": normalize_email(values["email"])} if "email" in values else values
    probe = Lead(**{k: v for k, v in values.items() if k in PROFILE_FIELDS or k == "email"})
    if instance is not None:
        for name in PROFILE_FIELDS + ("email",):
            if name not in values:
                setattr(probe, name, getattr(instance, name))
    errors: dict[str, list[str]] = {}
    if "country" in values and values["country"]:
        probe.country = str(values["country"]).strip().upper()
        if len(probe.country) != 2 or not probe.country.isalpha():
            errors["country"] = ["Use a two-letter ISO country code, for example DE or US."]
    try:
        probe.clean_fields(
            exclude=[
                "stage",
                "source",
                "campaign",
                "referrer",
                "owner",
                "qualified_by",
                "merged_into",
                "created_by",
                "stage_entered_at",
                "created_at",
                "deal_amount",
            ]
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        first = next(iter(errors.items()))
        raise ActionError(
            f"{first[0].replace('_', ' ').capitalize()}: {first[1][0]}",
            code=ActionError.INVALID,
            fields=errors,
        )
    cleaned = {name: getattr(probe, name) for name in values if name in PROFILE_FIELDS}
    if "email" in values:
        cleaned["email"] = normalize_email(probe.email)
    return cleaned


def lead_find_duplicate(*, email: str) -> Lead | None:
    """The lead that already has this email (following a merge pointer to its survivor)."""
    lead = Lead.objects.filter(email=normalize_email(email)).first()
    while lead is not None and lead.merged_into_id is not None:
        lead = lead.merged_into
    return lead


@transaction.atomic
def leads_fill_blanks(
    *, actor, fills: list[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any] | ActionError]:
    """Give existing leads the profile values they lack (an import's chunk). Each item
    (lead id, values) is applied as `lead_update` would apply those of its values that
    are still blank on the locked lead: same checks, version bump, `updated` event and
    re-score, in a few statements for the whole list. Items are applied in order (two
    for one lead: the second fills what the first left blank). Returns per item the
    changes made ({field: [old, new]}; empty when nothing was blank any more) or the
    error that refused it; a refused item changes nothing."""
    locked = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in={i for i, _ in fills})}
    by = actor if actor is not None and actor.is_authenticated else None
    now = timezone.now()
    results: list[dict[str, Any] | ActionError] = []
    changed: dict[int, Lead] = {}
    events: list[LeadEvent] = []
    for lead_id, values in fills:
        lead = locked.get(lead_id)
        try:
            if lead is None or lead.merged_into_id is not None:
                lock(lead_id)  # raises the error lead_update gives
            if not permissions.can_edit_profile(actor, lead):
                raise denied("edit", "marketing, or the owner rep and their manager")
            not_editable = set(values) - set(PROFILE_FIELDS)
            if not_editable:
                raise ActionError(f"These fields cannot be edited: {', '.join(sorted(not_editable))}.")
            blank = {name: value for name, value in values.items() if getattr(lead, name) in (None, "")}
            cleaned = _validated_profile(blank, instance=lead)
        except ActionError as exc:
            results.append(exc)
            continue
        diff = {
            name: [as_json(getattr(lead, name)), as_json(value)]
            for name, value in cleaned.items()
            if getattr(lead, name) != value
        }
        results.append(diff)
        if not diff:
            continue
        for name in diff:
            setattr(lead, name, cleaned[name])
        lead.version += 1  # one version per change, as lead_update counts them
        changed[lead.pk] = lead
        events.append(
            LeadEvent(lead=lead, type=EventType.UPDATED, actor=by, occurred_at=now, data={"changes": diff})
        )
    if not changed:
        return results
    # The re-score `lead_update` does, for all of them: one read of their engagements.
    scorer = Scorer.load()
    engagements: dict[int, list[Engagement]] = {lead_id: [] for lead_id in changed}
    for engagement in Engagement.objects.filter(lead_id__in=list(changed)).order_by(
        "lead_id", "occurred_at", "id"
    ):
        engagements[engagement.lead_id].append(engagement)
    stale: dict[str, list[int]] = {}
    for lead in changed.values():
        lead.score, lead.score_receipt = scorer.score(lead, engagements[lead.pk])
        lead.scored_version, lead.scored_at, lead.updated_at = scorer.version, now, now
        for kind in {e.type for e in engagements[lead.pk] if e.points != scorer.engagement_points(e.type)}:
            stale.setdefault(kind, []).append(lead.pk)
    names = {name for event in events for name in event.data["changes"]}
    bulk.update_rows(
        list(changed.values()),
        [*sorted(names), "version", "updated_at", "score", "score_receipt", "scored_version", "scored_at"],
    )
    LeadEvent.objects.bulk_create(events)
    # Each engagement shows what its type is worth under the current definition.
    for kind, lead_ids in stale.items():
        Engagement.objects.filter(lead_id__in=lead_ids, type=kind).update(
            points=scorer.engagement_points(kind)
        )
    for lead in changed.values():
        scoring.auto_qualify_if_due(lead, scorer)
    return results


@transaction.atomic
def lead_update(*, lead_id: int, actor, expected_version: int | None = None, **changes: Any) -> Lead:
    """Edit the contact and company profile. First touch and stage are not editable here."""
    lead = lock(lead_id)
    if not permissions.can_edit_profile(actor, lead):
        raise denied("edit", "marketing, or the owner rep and their manager")
    check_version(lead, expected_version)
    not_editable = set(changes) - set(PROFILE_FIELDS) - {"email"}
    if not_editable:
        raise ActionError(f"These fields cannot be edited: {', '.join(sorted(not_editable))}.")
    cleaned = _validated_profile(changes, instance=lead)
    diff = {
        name: [as_json(getattr(lead, name)), as_json(value)]
        for name, value in cleaned.items()
        if getattr(lead, name) != value
    }
    if not diff:
        return lead
    if "email" in diff:
        other = lead_find_duplicate(email=cleaned["email"])
        if other is not None and other.pk != lead.pk:
            raise ActionError(
                f"A lead with the email {cleaned['email']} already exists (lead {other.pk}).",
                code=ActionError.DUPLICATE,
                field="email",
                data={"existing_id": other.pk},
            )
    for name in diff:
        setattr(lead, name, cleaned[name])
    lead.version = F("version") + 1
    save(lead)
    event_record(lead=lead, type=EventType.UPDATED, actor=actor, data={"changes": diff})
    return scoring.lead_rescore(lead_id=lead.pk)

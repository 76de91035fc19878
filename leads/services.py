"""Every write to a lead, and every stage transition, in one place.

Each transition: one database transaction, the lead row locked, the rules of
`leads.stages.TRANSITIONS` checked, one immutable `LeadEvent` written, side effects
(notifications, SLA clocks' messages) queued after commit. An illegal move raises
`LeadActionError` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from sla import services as sla_services
from smarketing import bulk
from smarketing.queue import on_commit_enqueue
from smarketing.rows import can_insert_pair, insert_pair

from . import roles, scoring, versions
from .errors import LeadActionError
from .events import event_record
from .models import (
    Campaign,
    Engagement,
    EventType,
    HandoffGate,
    Lead,
    LeadEvent,
    LossOutcome,
    Notification,
    Reason,
    ReasonKind,
    Source,
    Stage,
    Touch,
    normalize_email,
)
from .routing import route_mql
from .stages import check_stage

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


# --- helpers -------------------------------------------------------------------------------


def _lock(lead_id: int) -> Lead:
    try:
        lead = Lead.objects.select_for_update().get(pk=lead_id)
    except Lead.DoesNotExist:
        raise LeadActionError(f"Lead {lead_id} does not exist.", code=LeadActionError.NOT_FOUND) from None
    if lead.merged_into_id is not None:
        raise LeadActionError(
            f"This lead was merged into lead {lead.merged_into_id}; act on that one.",
            code=LeadActionError.WRONG_STAGE,
            data={"merged_into": lead.merged_into_id},
        )
    return lead


def _check_version(lead: Lead, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != lead.version:
        raise LeadActionError(
            "Someone changed this lead since you loaded it (version "
            f"{expected_version}, now {lead.version}). Reload it and try again.",
            code=LeadActionError.STALE_VERSION,
            data={"current_version": lead.version},
        )


def _deny(action: str, who: str) -> LeadActionError:
    return LeadActionError(f"You cannot {action} this lead: only {who} can.", code=LeadActionError.FORBIDDEN)


def _reason(reason: Reason | int | None, kind: str, action: str) -> Reason:
    if reason in (None, ""):
        raise LeadActionError(
            f"Choose a reason to {action} this lead.",
            code=LeadActionError.REASON_REQUIRED,
            field="reason",
        )
    if not isinstance(reason, Reason):
        try:
            reason = Reason.objects.get(pk=reason)
        except (Reason.DoesNotExist, ValueError, TypeError):
            raise LeadActionError(
                "That reason does not exist.", code=LeadActionError.INVALID, field="reason"
            ) from None
    if reason.kind != kind or not reason.is_active:
        raise LeadActionError(
            f"“{reason.label}” is not one of the agreed {ReasonKind(kind).label.split(' ')[0].lower()} reasons.",
            code=LeadActionError.INVALID,
            field="reason",
        )
    return reason


def _move(lead: Lead, to_stage: str, now: dt.datetime, **changes: Any) -> str:
    """Apply a stage change to the locked row; the caller saves. Returns the old stage."""
    from_stage = lead.stage
    lead.stage = to_stage
    if to_stage != from_stage:
        lead.stage_entered_at = now
    for name, value in changes.items():
        setattr(lead, name, value)
    lead.version = F("version") + 1
    return from_stage


def _save(lead: Lead) -> Lead:
    lead.save()
    lead.refresh_from_db()
    return lead


def _after_commit_notify(event: LeadEvent) -> None:
    from .tasks import notifications_for_event

    event_id = event.pk
    on_commit_enqueue(notifications_for_event, event_id)


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > 5000:
        raise LeadActionError("A note can be at most 5,000 characters.", field="note")
    return note


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
        raise LeadActionError(
            f"{first[0].replace('_', ' ').capitalize()}: {first[1][0]}",
            code=LeadActionError.INVALID,
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


def lead_create(
    *,
    actor,
    email: str,
    source: str = Source.OTHER,
    campaign: Campaign | None = None,
    referrer=None,
    via: str = "manual",
    scorer: scoring.Scorer | None = None,
    origin: dict[str, Any] | None = None,
    **profile: Any,
) -> Lead:
    """Create a lead in stage `lead` with its first touch (source, campaign, referrer)."""
    # Any employee may refer a lead (and is credited as its referrer); every other way
    # in is marketing's.
    is_referral = via == "referral" and referrer is not None and actor == referrer
    if actor is not None and not is_referral and not roles.is_marketing_side(actor):
        raise _deny("create", "marketing")
    if not (email or "").strip():
        raise LeadActionError("An email address is required.", field="email")
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise LeadActionError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if source not in Source.values:
        raise LeadActionError(f"“{source}” is not a known source.", field="source")
    cleaned = _validated_profile({"email": email, **profile})
    scorer = scorer or scoring.Scorer.load()
    now = timezone.now()
    lead = Lead(
        source=source,
        campaign=campaign,
        referrer=referrer,
        stage=Stage.LEAD,
        stage_entered_at=now,
        created_at=now,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        scored_version=scorer.version,
        scored_at=now,
        **cleaned,
    )
    # A new lead has no engagements yet: its score is its profile's, known before the
    # insert (one write of the row and its indexes, not an insert and then an update).
    lead.score, lead.score_receipt = scorer.score(lead, [], now=now)
    # Its `created` event, as `event_record` writes one.
    event = LeadEvent(
        lead=lead,
        type=EventType.CREATED,
        actor=lead.created_by,
        to_stage=Stage.LEAD,
        occurred_at=timezone.now(),
        data={
            "source": source,
            "campaign": campaign.pk if campaign else None,
            "referrer": referrer.pk if referrer else None,
            "via": via,
            **(origin or {}),
        },
    )
    try:
        # The unique email is the duplicate check: no look-up first, and a lead created
        # with the same email a moment ago is refused the same way. The lead and its
        # event are written together (a savepoint inside a caller's transaction).
        _lead_insert(lead, event)
        scoring.auto_qualify_if_due(lead, scorer)
    except IntegrityError:
        existing = lead_find_duplicate(email=cleaned["email"])
        if existing is None:
            raise
        raise LeadActionError(
            f"A lead with the email {cleaned['email']} already exists (lead {existing.pk}).",
            code=LeadActionError.DUPLICATE,
            field="email",
            data={"existing_id": existing.pk},
        ) from None
    return lead


def _lead_insert(lead: Lead, event: LeadEvent) -> None:
    """Write a new lead and its first event, all or nothing. On PostgreSQL in one
    statement (smarketing.rows.insert_pair: atomic by itself, so outside a transaction no
    BEGIN or COMMIT either), which saves an API create a third of its database round trips
    and a millisecond of CPU building two INSERTs; elsewhere with `save()`."""
    if can_insert_pair(lead, event):
        lead.email = normalize_email(lead.email)  # as Lead.save does
        if not transaction.get_connection().in_atomic_block:
            insert_pair(lead, event, "lead")
            return
        with transaction.atomic():
            insert_pair(lead, event, "lead")
        return
    with transaction.atomic():
        lead.save(force_insert=True)
        event.lead = lead
        event.save(force_insert=True)


# A new lead's own columns, in the order they are written; every other column is shared
# by the leads created together (`leads_create_many`).
_NEW_LEAD_COLUMNS = ("email", "source", "campaign_id", "score", "score_receipt", *PROFILE_FIELDS)


@dataclass
class NewLeads:
    """New leads checked and scored, not yet written (`leads_prepare`)."""

    rows: list[dict[str, Any]]  # each lead's own columns (_NEW_LEAD_COLUMNS), no id yet
    events: list[dict[str, Any]]  # the data of each one's `created` event
    due: list[bool]  # each one's automatic hand-off is due (queued once it is written)
    scored_version: int
    # With COPY (always, where the database takes it): the rows and the events' data as
    # COPY text (smarketing.bulk.render).
    lines: list[str] | None = None
    event_lines: list[str] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def only(self, keep: list[bool]) -> NewLeads:
        """The leads whose `keep` is true, in order."""

        def kept(values):
            return None if values is None else [v for v, k in zip(values, keep, strict=True) if k]

        return NewLeads(
            rows=kept(self.rows),
            events=kept(self.events),
            due=kept(self.due),
            scored_version=self.scored_version,
            lines=kept(self.lines),
            event_lines=kept(self.event_lines),
        )


def leads_prepare(leads: list[dict[str, Any]], *, via: str, scorer: scoring.Scorer) -> NewLeads:
    """The part of `leads_create_many` that needs no database and no person: each item's
    checks, normalised email, score and receipt, its `created` event's data, and (with
    COPY) the text of both. An import prepares the next chunk this way in a thread of its
    own while the database writes the chunk before.

    Each item: email (normalised, checked new by the caller), source, campaign, origin
    and validated profile fields. An unknown source raises LeadActionError."""
    sources = set(Source.values)
    defaults = bulk.defaults(Lead)
    blank = {name: defaults[name] for name in _NEW_LEAD_COLUMNS}
    # Scoring and the auto hand-off read the lead's fields only: a NewLead stands in for
    # the model instance, what every new lead shares as class attributes, its own in its
    # __dict__.
    new_lead = type("NewLead", (), {**defaults, "stage": Stage.LEAD, "scored_version": scorer.version})
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    due: list[bool] = []
    for item in leads:
        if item["source"] not in sources:
            raise LeadActionError(f"“{item['source']}” is not a known source.", field="source")
        profile = item.get("profile", {})
        if not_profile := set(profile) - set(PROFILE_FIELDS):
            raise LeadActionError(
                f"These fields are not part of a profile: {', '.join(sorted(not_profile))}."
            )
        campaign = item.get("campaign")
        row = {
            **blank,
            **profile,
            "email": normalize_email(item["email"]),
            "source": item["source"],
            "campaign_id": campaign.pk if campaign else None,
        }
        view = new_lead()
        view.__dict__.update(row)
        row["score"], row["score_receipt"] = view.score, view.score_receipt = scorer.score(view, [])
        rows.append(row)
        due.append(scoring.auto_qualify_due(view, scorer))
        events.append(
            {
                "data": {
                    "source": row["source"],
                    "campaign": row["campaign_id"],
                    "referrer": None,
                    "via": via,
                    **(item.get("origin") or {}),
                }
            }
        )
    new = NewLeads(rows=rows, events=events, due=due, scored_version=scorer.version)
    if bulk.uses_copy():
        new.lines, new.event_lines = bulk.render(Lead, rows), bulk.render(LeadEvent, events)
    return new


@transaction.atomic
def leads_create_many(
    *, actor, leads: list[dict[str, Any]] | NewLeads, via: str, scorer: scoring.Scorer
) -> list[int]:
    """Create many new leads at once (an import's chunk): the same rules, scores and
    `created` events as `lead_create`, in a few statements instead of several per lead
    (COPY on PostgreSQL, see `smarketing.bulk`). Returns the new leads' ids, in order.

    `leads`: items as `leads_prepare` takes them, or what it made of them. A concurrent
    insert of one of the emails raises IntegrityError for the whole batch; the caller
    then goes lead by lead."""
    if actor is not None and not roles.is_marketing_side(actor):
        raise _deny("create", "marketing")
    new = leads if isinstance(leads, NewLeads) else leads_prepare(leads, via=via, scorer=scorer)
    if not new.rows:
        return []
    now = timezone.now()
    by = actor if actor is not None and actor.is_authenticated else None
    # What every new lead shares; each row has its own email, first touch, profile and score.
    same = {
        **bulk.defaults(Lead),
        "stage": Stage.LEAD,
        "stage_entered_at": now,
        "created_at": now,
        "updated_at": now,
        "created_by_id": by.pk if by else None,
        "scored_version": new.scored_version,
        "scored_at": now,
    }
    for name in ("id", *_NEW_LEAD_COLUMNS):
        same.pop(name)
    event = {
        **bulk.defaults(LeadEvent),
        "type": EventType.CREATED,
        "actor_id": by.pk if by else None,
        "to_stage": Stage.LEAD,
        "occurred_at": now,
    }
    for name in ("id", "lead_id", "data"):
        event.pop(name)
    if bulk.uses_copy():
        ids = bulk.next_ids(Lead, len(new))
        bulk.insert_rendered(
            Lead,
            ["id", *_NEW_LEAD_COLUMNS],
            [f"{i}\t{line}" for i, line in zip(ids, new.lines, strict=True)],
            same,
        )
        bulk.insert_rendered(
            LeadEvent,
            ["lead_id", "data"],
            [f"{i}\t{line}" for i, line in zip(ids, new.event_lines, strict=True)],
            event,
        )
    else:
        created = Lead.objects.bulk_create(Lead(**same, **row) for row in new.rows)
        ids = [lead.pk for lead in created]
        bulk.insert_rows(
            LeadEvent, [{"lead_id": i, **e} for i, e in zip(ids, new.events, strict=True)], event
        )
    for lead_id, due in zip(ids, new.due, strict=True):
        if due:
            scoring.auto_qualify_queue(lead_id)
    return ids


@transaction.atomic
def leads_fill_blanks(
    *, actor, fills: list[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any] | LeadActionError]:
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
    results: list[dict[str, Any] | LeadActionError] = []
    changed: dict[int, Lead] = {}
    events: list[LeadEvent] = []
    for lead_id, values in fills:
        lead = locked.get(lead_id)
        try:
            if lead is None or lead.merged_into_id is not None:
                _lock(lead_id)  # raises the error lead_update gives
            if not roles.can_edit_profile(actor, lead):
                raise _deny("edit", "marketing, or the owner rep and their manager")
            not_editable = set(values) - set(PROFILE_FIELDS)
            if not_editable:
                raise LeadActionError(f"These fields cannot be edited: {', '.join(sorted(not_editable))}.")
            blank = {name: value for name, value in values.items() if getattr(lead, name) in (None, "")}
            cleaned = _validated_profile(blank, instance=lead)
        except LeadActionError as exc:
            results.append(exc)
            continue
        diff = {
            name: [_json(getattr(lead, name)), _json(value)]
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
    scorer = scoring.Scorer.load()
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
    lead = _lock(lead_id)
    if not roles.can_edit_profile(actor, lead):
        raise _deny("edit", "marketing, or the owner rep and their manager")
    _check_version(lead, expected_version)
    not_editable = set(changes) - set(PROFILE_FIELDS) - {"email"}
    if not_editable:
        raise LeadActionError(f"These fields cannot be edited: {', '.join(sorted(not_editable))}.")
    cleaned = _validated_profile(changes, instance=lead)
    diff = {
        name: [_json(getattr(lead, name)), _json(value)]
        for name, value in cleaned.items()
        if getattr(lead, name) != value
    }
    if not diff:
        return lead
    if "email" in diff:
        other = lead_find_duplicate(email=cleaned["email"])
        if other is not None and other.pk != lead.pk:
            raise LeadActionError(
                f"A lead with the email {cleaned['email']} already exists (lead {other.pk}).",
                code=LeadActionError.DUPLICATE,
                field="email",
                data={"existing_id": other.pk},
            )
    for name in diff:
        setattr(lead, name, cleaned[name])
    lead.version = F("version") + 1
    _save(lead)
    event_record(lead=lead, type=EventType.UPDATED, actor=actor, data={"changes": diff})
    return scoring.lead_rescore(lead_id=lead.pk)


def _json(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


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
    lead = _lock(lead_id)
    if actor is not None and not roles.is_marketing_side(actor):
        raise _deny("log an engagement on", "marketing")
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
        raise LeadActionError(
            "; ".join(f"{k}: {v[0]}" for k, v in exc.message_dict.items()),
            fields=exc.message_dict,
        ) from None
    if engagement.occurred_at > timezone.now() + dt.timedelta(minutes=5):
        raise LeadActionError("An engagement cannot happen in the future.", field="occurred_at")
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
    lead = _lock(lead_id)
    if not roles.acts_for_owner(actor, lead):
        raise _deny("log a touch on", "the owner rep or their manager")
    if lead.stage != Stage.SQL:
        raise LeadActionError(
            f"Touches are logged on SQLs; this lead is {lead.get_stage_display()}.",
            code=LeadActionError.WRONG_STAGE,
        )
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + dt.timedelta(minutes=5):
        raise LeadActionError("A touch cannot happen in the future.", field="occurred_at")
    touch = Touch(
        lead=lead, kind=kind, outcome=outcome, occurred_at=occurred_at, by=actor, note=_clean_note(note)
    )
    try:
        touch.full_clean(exclude=["lead", "by"])
    except ValidationError as exc:
        raise LeadActionError(
            "; ".join(f"{k}: {v[0]}" for k, v in exc.message_dict.items()),
            fields=exc.message_dict,
        ) from None
    touch.save()
    sla_services.clock_touch_logged(lead=lead, touch=touch)
    return touch


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
    lead = _lock(lead_id)
    if actor is not None and not roles.is_marketing_side(actor):
        raise _deny("qualify", "marketing")
    check_stage("qualify", lead.stage)
    _check_version(lead, expected_version)
    note = _clean_note(note)
    if lead.recycle_count > 0 and actor is not None and not note:
        raise LeadActionError(
            "This lead was sent back by sales before: say what changed in a note.",
            code=LeadActionError.INVALID,
            field="note",
        )
    missing = handoff_missing(lead)
    if missing:
        raise LeadActionError(
            "The hand-off gate is not met: missing " + ", ".join(missing) + ".",
            code=LeadActionError.INVALID,
            data={"missing": missing},
        )
    if owner is not None:
        if actor is not None and not (roles.has_role(actor, roles.Role.MANAGER) or roles.is_admin(actor)):
            raise _deny("choose the rep for", "a manager")
        if not roles.is_active_sales_rep(owner):
            raise LeadActionError(f"{owner} is not an active sales rep.", field="owner")
        rule = "manager override"
    else:
        owner, rule = route_mql(lead)
    now = timezone.now()
    agreement_version = versions.number_in_force()
    from_stage = _move(
        lead,
        Stage.MQL,
        now,
        owner=owner,
        qualified_by=actor,
        qualified_at=now,
        agreement_version=agreement_version,
    )
    _save(lead)
    event = event_record(
        lead=lead,
        type=EventType.QUALIFIED,
        actor=actor,
        from_stage=from_stage,
        to_stage=Stage.MQL,
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
    _after_commit_notify(event)
    return lead


@transaction.atomic
def lead_accept(*, lead_id: int, actor, expected_version: int | None = None, note: str = "") -> Lead:
    lead = _lock(lead_id)
    if lead.stage != Stage.MQL:  # answered already (by someone else a moment ago, maybe): say so
        check_stage("accept", lead.stage)
    if not roles.acts_for_owner(actor, lead):
        raise _deny("accept", "the assigned rep or their manager")
    check_stage("accept", lead.stage)
    _check_version(lead, expected_version)
    now = timezone.now()
    from_stage = _move(lead, Stage.SQL, now)
    _save(lead)
    clock = sla_services.clock_meet_response(lead=lead, met_at=now)
    event_record(
        lead=lead,
        type=EventType.ACCEPTED,
        actor=actor,
        from_stage=from_stage,
        to_stage=Stage.SQL,
        note=_clean_note(note),
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
    lead = _lock(lead_id)
    if lead.stage != Stage.MQL:  # answered already (by someone else a moment ago, maybe): say so
        check_stage("reject", lead.stage)
    if not roles.acts_for_owner(actor, lead):
        raise _deny("reject", "the assigned rep or their manager")
    check_stage("reject", lead.stage)
    _check_version(lead, expected_version)
    reason = _reason(reason, ReasonKind.REJECTION, "reject")
    now = timezone.now()
    rejected_by_owner = lead.owner_id
    from_stage = _move(lead, Stage.LEAD, now, owner=None, recycle_count=F("recycle_count") + 1)
    _save(lead)
    clock = sla_services.clock_meet_response(lead=lead, met_at=now)
    event = event_record(
        lead=lead,
        type=EventType.REJECTED,
        actor=actor,
        from_stage=from_stage,
        to_stage=Stage.LEAD,
        reason=reason,
        note=_clean_note(note),
        data={
            "owner": rejected_by_owner,
            "recycle_count": lead.recycle_count,
            "response_on_time": clock.met_on_time if clock else None,
        },
    )
    _after_commit_notify(event)
    return lead


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise LeadActionError("Enter the deal amount as a number.", field="amount") from None
    if not amount.is_finite() or amount < 0:
        raise LeadActionError("The deal amount cannot be negative.", field="amount")
    if amount >= Decimal("1e12"):
        raise LeadActionError("The deal amount is too large.", field="amount")
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
    lead = _lock(lead_id)
    if not roles.acts_for_owner(actor, lead):
        raise _deny("win", "the owner rep or their manager")
    check_stage("win", lead.stage)
    _check_version(lead, expected_version)
    if amount in (None, ""):
        raise LeadActionError("Enter the deal amount.", field="amount")
    amount = _amount(amount)
    if closed_on is None:
        raise LeadActionError("Enter the close date.", field="closed_on")
    if closed_on > timezone.localdate() + dt.timedelta(days=1):
        raise LeadActionError("The close date cannot be in the future.", field="closed_on")
    now = timezone.now()
    from_stage = _move(lead, Stage.CUSTOMER, now, deal_amount=amount, closed_on=closed_on)
    _save(lead)
    sla_services.clocks_cancel(lead=lead, at=now)
    event = event_record(
        lead=lead,
        type=EventType.WON,
        actor=actor,
        from_stage=from_stage,
        to_stage=Stage.CUSTOMER,
        note=_clean_note(note),
        data={"amount": str(amount), "closed_on": closed_on.isoformat()},
    )
    _after_commit_notify(event)
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
    lead = _lock(lead_id)
    if not roles.acts_for_owner(actor, lead):
        raise _deny("lose", "the owner rep or their manager")
    check_stage("lose", lead.stage)
    _check_version(lead, expected_version)
    reason = _reason(reason, ReasonKind.LOSS, "lose")
    now = timezone.now()
    lost_by_owner = lead.owner_id
    if reason.loss_outcome == LossOutcome.RECYCLE:
        to_stage = Stage.LEAD
        from_stage = _move(lead, to_stage, now, owner=None, recycle_count=F("recycle_count") + 1)
    else:
        to_stage = Stage.DISQUALIFIED
        from_stage = _move(lead, to_stage, now)
    _save(lead)
    sla_services.clocks_cancel(lead=lead, at=now)
    event_record(
        lead=lead,
        type=EventType.LOST,
        actor=actor,
        from_stage=from_stage,
        to_stage=to_stage,
        reason=reason,
        note=_clean_note(note),
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
    lead = _lock(lead_id)
    check_stage("disqualify", lead.stage)
    if lead.stage == Stage.LEAD:
        if not roles.is_marketing_side(actor):
            raise _deny("disqualify", "marketing (sales disqualifies MQLs and SQLs)")
    elif not roles.acts_for_owner(actor, lead):
        raise _deny("disqualify", "the owner rep or their manager")
    _check_version(lead, expected_version)
    reason = _reason(reason, ReasonKind.DISQUALIFICATION, "disqualify")
    now = timezone.now()
    from_stage = _move(lead, Stage.DISQUALIFIED, now)
    _save(lead)
    cancelled = sla_services.clocks_cancel(lead=lead, at=now)
    event_record(
        lead=lead,
        type=EventType.DISQUALIFIED,
        actor=actor,
        from_stage=from_stage,
        to_stage=Stage.DISQUALIFIED,
        reason=reason,
        note=_clean_note(note),
        data={"clocks_cancelled": cancelled},
    )
    return lead


@transaction.atomic
def lead_reopen(*, lead_id: int, actor, note: str = "", expected_version: int | None = None) -> Lead:
    lead = _lock(lead_id)
    if not (roles.is_marketing_side(actor) or roles.has_role(actor, roles.Role.MANAGER)):
        raise _deny("reopen", "a marketer or a manager")
    check_stage("reopen", lead.stage)
    _check_version(lead, expected_version)
    now = timezone.now()
    from_stage = _move(lead, Stage.LEAD, now, owner=None)
    _save(lead)
    event_record(
        lead=lead,
        type=EventType.REOPENED,
        actor=actor,
        from_stage=from_stage,
        to_stage=Stage.LEAD,
        note=_clean_note(note),
    )
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
    lead = _lock(lead_id)
    if actor is not None and not (
        roles.is_admin(actor)
        or (roles.is_sales_manager(actor) and lead.owner is not None and roles.manages(actor, lead.owner))
    ):
        raise _deny("reassign", "the manager of the owner's sales team")
    check_stage("reassign", lead.stage)
    _check_version(lead, expected_version)
    if new_owner is None or not roles.is_active_sales_rep(new_owner):
        raise LeadActionError(f"{new_owner or 'Nobody'} is not an active sales rep.", field="owner")
    if new_owner.pk == lead.owner_id:
        raise LeadActionError(f"This lead is already assigned to {new_owner}.", field="owner")
    old_owner = lead.owner_id
    now = timezone.now()
    _move(lead, lead.stage, now, owner=new_owner)
    _save(lead)
    if restart_clocks:
        sla_services.clocks_restart(lead=lead, new_owner=new_owner, at=now)
    else:
        sla_services.clocks_transfer(lead=lead, new_owner=new_owner)
    event = event_record(
        lead=lead,
        type=EventType.REASSIGNED,
        actor=actor,
        from_stage=lead.stage,
        to_stage=lead.stage,
        note=_clean_note(note),
        data={"from_owner": old_owner, "owner": new_owner.pk, "routing_rule": rule},
    )
    if lead.stage == Stage.MQL:
        _after_commit_notify(event)
    return lead


SNOOZE_MAX_DAYS = 90


@transaction.atomic
def lead_snooze(
    *, lead_id: int, actor, until: dt.date, reason: str, expected_version: int | None = None
) -> Lead:
    """The lead asked to be contacted later: the follow-up deadline moves to the agreed
    date (the business time that was left starts counting then). Audited, with a reason."""
    lead = _lock(lead_id)
    if not roles.acts_for_owner(actor, lead):
        raise _deny("snooze", "the owner rep or their manager")
    if lead.stage != Stage.SQL:
        raise LeadActionError(
            f"Only an SQL's follow-up can be snoozed; this lead is {lead.get_stage_display()}.",
            code=LeadActionError.WRONG_STAGE,
        )
    _check_version(lead, expected_version)
    reason = _clean_note(reason)
    if not reason:
        raise LeadActionError("Say why (e.g. “asked to call back after the budget round”).", field="reason")
    today = timezone.localdate()
    if not isinstance(until, dt.date) or until <= today or until > today + dt.timedelta(days=SNOOZE_MAX_DAYS):
        raise LeadActionError(
            f"Snooze to a day after today and at most {SNOOZE_MAX_DAYS} days ahead.", field="until"
        )
    now = timezone.now()
    try:
        clock, old_due = sla_services.clock_snooze(lead=lead, until=until, now=now)
    except ValueError:
        raise LeadActionError(
            "There is no running follow-up deadline to snooze.", code=LeadActionError.WRONG_STAGE
        ) from None
    lead.version = F("version") + 1
    _save(lead)
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
def lead_return_to_marketing(*, lead_id: int, from_owner_id: int, note: str = "") -> Lead | None:
    """SLA enforcement sends an MQL nobody responded to back to marketing (recycled).
    Returns None, changing nothing, if the lead moved on or changed hands meanwhile."""
    lead = _lock(lead_id)
    if lead.stage != Stage.MQL or lead.owner_id != from_owner_id:
        return None
    check_stage("return", lead.stage)
    now = timezone.now()
    from_stage = _move(lead, Stage.LEAD, now, owner=None, recycle_count=F("recycle_count") + 1)
    _save(lead)
    sla_services.clocks_cancel(lead=lead, at=now)
    event = event_record(
        lead=lead,
        type=EventType.RETURNED,
        actor=None,
        from_stage=from_stage,
        to_stage=Stage.LEAD,
        note=_clean_note(note),
        data={"from_owner": from_owner_id},
    )
    _after_commit_notify(event)
    return lead


def lead_sla_reassign(*, lead_id: int, from_owner_id: int, note: str = "") -> Lead | None:
    """SLA enforcement gives a breached lead to the next available rep. Nothing happens if
    the lead moved on or changed hands meanwhile, or if nobody else is available."""
    with transaction.atomic():
        lead = _lock(lead_id)
        if lead.stage not in (Stage.MQL, Stage.SQL) or lead.owner_id != from_owner_id:
            return None
        try:
            new_owner, rule = route_mql(lead, exclude=lead.owner)
        except LeadActionError:
            return None
    return lead_reassign(
        lead_id=lead_id,
        actor=None,
        new_owner=new_owner,
        note=note,
        rule=f"SLA escalation ({rule})",
        restart_clocks=True,
    )


@transaction.atomic
def lead_merge(*, survivor_id: int, other_id: int, actor, note: str = "") -> Lead:
    """Merge `other` into `survivor`: engagements and touches move over, blank profile
    fields are filled from the other, both event logs stay (each on its own lead, and the
    survivor's timeline shows both); the other becomes a pointer to the survivor."""
    if not (roles.is_marketing_side(actor) or roles.has_role(actor, roles.Role.MANAGER)):
        raise _deny("merge", "a marketer or a manager")
    if survivor_id == other_id:
        raise LeadActionError("Choose two different leads to merge.")
    # Lock both rows in a fixed order so that two merges cannot deadlock.
    locked = {pk: _lock(pk) for pk in sorted((survivor_id, other_id))}
    survivor, other = locked[survivor_id], locked[other_id]
    if other.stage == Stage.CUSTOMER:
        raise LeadActionError(
            "The lead being merged away is a customer: keep it as the survivor instead.",
            code=LeadActionError.WRONG_STAGE,
        )
    if other.stage in (Stage.MQL, Stage.SQL) and not roles.acts_for_owner(actor, other):
        # Sales owns it: only its rep's manager (or an admin) may merge it away.
        raise _deny("merge away", "the manager of its rep, while it is with sales")
    filled = {
        name: getattr(other, name)
        for name in PROFILE_FIELDS
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, "")
    }
    moved_engagements = Engagement.objects.filter(lead=other).update(lead=survivor)
    moved_touches = Touch.objects.filter(lead=other).update(lead=survivor)
    now = timezone.now()
    cancelled = sla_services.clocks_cancel(lead=other, at=now)
    for name, value in filled.items():
        setattr(survivor, name, value)
    survivor.version = F("version") + 1
    _save(survivor)
    other.merged_into = survivor
    other.version = F("version") + 1
    _save(other)
    data = {
        "survivor": survivor.pk,
        "other": other.pk,
        "other_email": other.email,
        "filled": {k: _json(v) for k, v in filled.items()},
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
        note=_clean_note(note),
        data=data,
    )
    event_record(
        lead=other,
        type=EventType.MERGED_INTO,
        actor=actor,
        from_stage=other.stage,
        to_stage=other.stage,
        note=_clean_note(note),
        data=data,
    )
    return scoring.lead_rescore(lead_id=survivor.pk)


# --- the in-app inbox ---------------------------------------------------------------------------


def notification_mark_read(*, user, notification_id) -> Notification:
    """Mark one of my notifications read (idempotent)."""
    try:
        notification = Notification.objects.get(pk=notification_id, recipient=user)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise LeadActionError("No such notification.", code=LeadActionError.NOT_FOUND) from None
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.refresh_from_db()
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())

"""Creating leads: one at a time (a form, the API, an inbound form, a referral) or many at
once (an import's chunk), with the same checks, score and `created` event either way."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads import scoring
from leads.models import EventType, Lead, LeadEvent, Stage, normalize_email
from leads.services.base import denied
from leads.services.consent import CONSENT_FIELDS, consent_records_for
from leads.services.history import History, history_check, history_events, history_lead_columns
from leads.services.profile import PROFILE_FIELDS, lead_find_duplicate, lead_profile_validate, refuse_unknown
from sla import services as sla_services
from sla.models import Obligation
from smarketing.agreement.scoring import Scorer
from smarketing.core import bulk
from smarketing.core.errors import ActionError
from smarketing.core.rows import can_insert_pair, insert_pair
from smarketing.org import roles
from smarketing.org.models import Campaign, Source

log = logging.getLogger(__name__)


def lead_create(
    *,
    actor,
    email: str,
    source: str = Source.OTHER,
    campaign: Campaign | None = None,
    referrer=None,
    via: str = "manual",
    scorer: Scorer | None = None,
    origin: dict[str, Any] | None = None,
    consent: dict[str, Any] | None = None,
    **profile: Any,
) -> Lead:
    """Create a lead in stage `lead` with its first touch (source, campaign, referrer):
    the profile checked by `lead_profile_validate` and the lead scored and described by
    `leads_prepare`, as every lead an import creates is; then written with its `created`
    event in one statement."""
    # Any employee may refer a lead (and is credited as its referrer); every other way
    # in is marketing's.
    is_referral = via == "referral" and referrer is not None and actor == referrer
    if actor is not None and not is_referral and not roles.is_marketing_side(actor):
        raise denied("create", "marketing")
    if not (email or "").strip():
        raise ActionError("An email address is required.", field="email")
    cleaned = lead_profile_validate({"email": email, **profile})
    email = cleaned.pop("email")
    scorer = scorer or Scorer.load()
    item = {
        "email": email,
        "source": source,
        "campaign": campaign,
        "referrer": referrer,
        "origin": origin,
        "consent": consent,
    }
    new = leads_prepare([{**item, "profile": cleaned}], via=via, scorer=scorer, render=False)
    now = timezone.now()
    by = actor if actor is not None and actor.is_authenticated else None
    lead = Lead(
        **new.rows[0],
        campaign=campaign,
        referrer=referrer,
        stage=Stage.LEAD,
        stage_entered_at=now,
        created_at=now,
        created_by=by,
        scored_version=scorer.version,
        scored_at=now,
    )
    event = LeadEvent(
        lead=lead, type=EventType.CREATED, actor=by, to_stage=Stage.LEAD, occurred_at=now, **new.events[0]
    )
    try:
        # The unique email is the duplicate check: no look-up first, and a lead created
        # with the same email a moment ago is refused the same way. The lead and its
        # event are written together (a savepoint inside a caller's transaction).
        _lead_insert(lead, event)
    except IntegrityError:
        existing = lead_find_duplicate(email=email)
        if existing is None:
            raise
        raise ActionError(
            f"A lead with the email {email} already exists (lead {existing.pk}).",
            code=ActionError.DUPLICATE,
            field="email",
            data={"existing_id": existing.pk},
        ) from None
    consent_records_for([lead.pk], new.rows, by_id=by.pk if by else None)
    if new.due[0]:
        scoring.auto_qualify_queue(lead.pk)
    return lead


def _lead_insert(lead: Lead, event: LeadEvent) -> None:
    """Write a new lead and its first event, all or nothing. On PostgreSQL in one
    statement (smarketing.core.rows.insert_pair: atomic by itself, so outside a transaction no
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
_NEW_LEAD_COLUMNS = (
    "email",
    "source",
    "campaign_id",
    "score",
    "score_receipt",
    *PROFILE_FIELDS,
    *CONSENT_FIELDS,
)


@dataclass
class NewLeads:
    """New leads checked and scored, not yet written (`leads_prepare`)."""

    rows: list[dict[str, Any]]  # each lead's own columns (_NEW_LEAD_COLUMNS), no id yet
    events: list[dict[str, Any]]  # the data of each one's `created` event
    due: list[bool]  # each one's automatic hand-off is due (queued once it is written)
    scored_version: int
    # With COPY (always, where the database takes it): the rows and the events' data as
    # COPY text (smarketing.core.bulk.render).
    lines: list[str] | None = None
    event_lines: list[str] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def only(self, keep: list[bool]) -> NewLeads:
        """The leads whose `keep` is true, in order (these very ones when all are kept)."""
        if all(keep):
            return self

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


def leads_prepare(leads: list[dict[str, Any]], *, via: str, scorer: Scorer, render: bool = True) -> NewLeads:
    """What creating needs that takes no database and no person, for every new lead
    (`lead_create`'s one, an import's chunk): each one's columns, score and receipt
    (`scorer`), whether its automatic hand-off is due, its `created` event's data, and
    (`render`, with COPY) the text of both. An import prepares the next chunk this way in
    a thread of its own while the database writes the chunk before.

    Each item: email and profile as `lead_profile_validate` cleaned them (the email checked
    new by the caller), source, campaign, referrer, origin, and the person's answer on
    marketing contact as `consent_clean` cleaned it (or none). An unknown source raises
    ActionError."""
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
            raise ActionError(f"“{item['source']}” is not a known source.", field="source")
        profile = item.get("profile", {})
        refuse_unknown(profile)
        campaign, referrer = item.get("campaign"), item.get("referrer")
        row = {
            **blank,
            **profile,
            **(item.get("consent") or {}),
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
                    "referrer": referrer.pk if referrer else None,
                    "via": via,
                    **(item.get("origin") or {}),
                }
            }
        )
    new = NewLeads(rows=rows, events=events, due=due, scored_version=scorer.version)
    if render and bulk.uses_copy():
        new.lines, new.event_lines = bulk.render(Lead, rows), bulk.render(LeadEvent, events)
    return new


@transaction.atomic
def leads_create_many(
    *, actor, leads: list[dict[str, Any]] | NewLeads, via: str, scorer: Scorer
) -> list[int]:
    """Create many new leads at once (an import's chunk): the same rules, scores and
    `created` events as `lead_create`, in a few statements instead of several per lead
    (COPY on PostgreSQL, see `smarketing.core.bulk`). Returns the new leads' ids, in order.

    `leads`: items as `leads_prepare` takes them, or what it made of them. A concurrent
    insert of one of the emails raises IntegrityError for the whole batch; the caller
    then goes lead by lead."""
    if actor is not None and not roles.is_marketing_side(actor):
        raise denied("create", "marketing")
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
    consent_records_for(ids, new.rows, by_id=by.pk if by else None)
    for lead_id, due in zip(ids, new.due, strict=True):
        if due:
            scoring.auto_qualify_queue(lead_id)
    return ids


_EVENT_COLUMNS = (
    "type",
    "from_stage",
    "to_stage",
    "actor_id",
    "occurred_at",
    "reason_id",
    "note",
    "data",
    "stage_since",
)


@dataclass
class MigratedLeads:
    """Leads brought from another CRM, checked, scored and described, not yet written
    (`leads_prepare_migrated`): each one's columns and its events, in the order written."""

    rows: list[dict[str, Any]]  # each lead's columns, no id
    # Each lead's events (created first), no lead id; None once rendered for COPY: the
    # text is what is written (a chunk waiting ahead then holds a few MB less).
    events: list[list[dict[str, Any]]] | None
    histories: list[History]
    lines: list[str] | None = None  # with COPY: the rows' text
    event_lines: list[list[str]] | None = None  # … and each lead's events'

    def __len__(self) -> int:
        return len(self.rows)

    def only(self, keep: list[bool]) -> MigratedLeads:
        """The leads whose `keep` is true, in order (these very ones when all are kept)."""
        if all(keep):
            return self

        def kept(values):
            return None if values is None else [v for v, k in zip(values, keep, strict=True) if k]

        return MigratedLeads(
            kept(self.rows), kept(self.events), kept(self.histories), kept(self.lines), kept(self.event_lines)
        )


def leads_prepare_migrated(new: NewLeads, histories: list[History], *, actor_id: int) -> MigratedLeads:
    """What `leads_create_migrated` writes, prepared without the database (an import's
    reader thread does it ahead, as for new leads): `new` from `leads_prepare`, each lead's
    path checked against the transition table (`history_check`, ActionError), its columns
    at the end of the path, its created event and its steps back-dated and marked."""
    now = timezone.now()
    rows, events = [], []
    for row, history, created in zip(new.rows, histories, new.events, strict=True):
        history_check(history)
        columns = history_lead_columns(history, actor_id=actor_id)
        rows.append(
            {
                **row,
                **columns,
                "created_by_id": actor_id,
                "scored_version": new.scored_version,
                "scored_at": now,
                "updated_at": now,
            }
        )
        first = {
            "type": EventType.CREATED,
            "from_stage": "",
            "to_stage": Stage.LEAD,
            "actor_id": actor_id,
            "occurred_at": history.created_at,
            "reason_id": None,
            "note": "",
            "data": {**created["data"], "migrated": history.migrated},
            "stage_since": None,
        }
        events.append([first, *history_events(history, actor_id=actor_id)])
    prepared = MigratedLeads(rows, events, list(histories))
    if bulk.uses_copy() and rows:
        prepared.lines = bulk.render(Lead, rows)
        flat = bulk.render(LeadEvent, [event for lead in events for event in lead])
        prepared.event_lines, at = [], 0
        for lead in events:
            prepared.event_lines.append(flat[at : at + len(lead)])
            at += len(lead)
        prepared.events = None
    return prepared


@transaction.atomic
def leads_create_migrated(*, actor, leads: MigratedLeads, go_live, owners: dict | None = None) -> list[int]:
    """Create leads brought from another CRM with the path each took (docs/migration.md):
    the same checks, score and `created` event as `leads_create_many`, the lead written in
    the state its path left it in, the created event and every step back-dated to when it
    happened and marked as migrated, by the manager who ran the migration. No clock runs
    in the past: an MQL or SQL still open gets its clock at `go_live`; the clocks a
    Smarketing export says were met or breached are recorded as they were. Returns the ids.

    `leads`: what `leads_prepare_migrated` made; `owners`: the users by id, with their
    membership, when the caller has them (else read here). A concurrent insert of one of
    the emails raises IntegrityError for the whole batch."""
    if not roles.can_migrate(actor):
        raise denied("migrate leads into", "a manager")
    if not leads.rows:
        return []
    names = list(leads.rows[0])
    # What every row shares: the defaults of the columns a migrated lead does not set.
    same = {name: value for name, value in bulk.defaults(Lead).items() if name not in names and name != "id"}
    if leads.lines is not None:
        ids = bulk.next_ids(Lead, len(leads))
        lines = [f"{i}\t{line}" for i, line in zip(ids, leads.lines, strict=True)]
        bulk.insert_rendered(Lead, ["id", *names], lines, same)
        bulk.insert_rendered(
            LeadEvent,
            ["lead_id", *_EVENT_COLUMNS],
            [f"{i}\t{line}" for i, lines in zip(ids, leads.event_lines, strict=True) for line in lines],
        )
    else:
        ids = [lead.pk for lead in Lead.objects.bulk_create(Lead(**same, **row) for row in leads.rows)]
        bulk.insert_rows(
            LeadEvent,
            [
                {"lead_id": i, **event}
                for i, events in zip(ids, leads.events, strict=True)
                for event in events
            ],
        )
    consent_records_for(ids, leads.rows, by_id=actor.pk if actor is not None else None)
    _clocks_from_go_live(ids, leads, go_live, owners)
    resolved = [
        {"lead_id": i, **clock} for i, h in zip(ids, leads.histories, strict=True) for clock in h.clocks
    ]
    if resolved:
        sla_services.clocks_record_resolved(resolved)
    return ids


def _clocks_from_go_live(ids: list[int], leads: MigratedLeads, go_live, owners: dict | None) -> None:
    """An open MQL waits for sales' response and an open SQL for its follow-up, from go-live.
    The policies read the lead's own columns, known here: no lead is read back."""
    obligations = {Stage.MQL: Obligation.RESPONSE, Stage.SQL: Obligation.FOLLOW_UP}
    starts = []
    for lead_id, row in zip(ids, leads.rows, strict=True):
        if row["stage"] in obligations:
            starts.append((obligations[row["stage"]], _LeadView(lead_id, row), row["owner_id"]))
    if not starts:
        return
    if owners is None:
        wanted = {owner_id for _, _, owner_id in starts}
        owners = {
            u.pk: u for u in get_user_model().objects.filter(pk__in=wanted).select_related("membership")
        }
    sla_services.clocks_start_many(
        [(obligation, lead, owners[owner_id]) for obligation, lead, owner_id in starts], started_at=go_live
    )


class _LeadView:
    """What an SLA policy reads of a lead, from the columns just written."""

    def __init__(self, pk: int, row: dict[str, Any]):
        self.pk = pk
        self.score, self.source, self.campaign_id, self.country = (
            row["score"],
            row["source"],
            row["campaign_id"],
            row["country"],
        )

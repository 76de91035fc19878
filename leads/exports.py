"""The lead list's export: every lead the filters match, streamed, in the columns a
migration import reads back — with each lead's history, so that one organisation's export
moves it, past weeks and all, into another (docs/exports.md, docs/migration.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import EventType, Lead, LeadEvent
from sla.models import Clock
from smarketing.agreement.models import Reason
from smarketing.core.weeks import org_tz
from smarketing.org.roles import has_product_role, sees_contact_details

# The export's columns, in this order and with these headers: a contract, since a
# migration import reads an exported file back (docs/exports.md).
LEAD_EXPORT_COLUMNS = (
    "Lead ID",
    "Email",
    "First name",
    "Last name",
    "Company",
    "Job title",
    "Phone",
    "Country",
    "Website",
    "Stage",
    "Owner",
    "Owner email",
    "Source",
    "Campaign",
    "Created at",
    "Became an MQL at",
    "Became an SQL at",
    "Became a customer at",
    "Closed on",
    "Deal amount",
    "Recycle count",
    "Score",
    # The person's latest answer on marketing contact (codes, as Stage and Source), blank
    # where none is recorded; every answer is in the person's own export (docs/privacy.md).
    "Consent",
    "Consent at",
    "Consent method",
    "Consent wording",
    "Lawful basis",
    "Referrer email",
    "History",
)
EXPORT_CHUNK = 2000  # rows fetched at a time from the one query
_EXPORT_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "website",
    "stage",
    "source",
    "created_at",
    "qualified_at",
    "closed_on",
    "deal_amount",
    "recycle_count",
    "score",
    "consent",
    "consent_at",
    "consent_method",
    "consent_wording",
    "lawful_basis",
    "referrer",  # who sees the contact details (`sees_contact_details`), and the column
    "owner",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "owner__email",
    "campaign",
    "campaign__name",
)


def _last_event_at(event_type: str) -> Subquery:
    """When the lead's latest event of `event_type` happened (a correlated subquery that
    the index on the event's lead and time serves)."""
    return Subquery(
        LeadEvent.objects.filter(lead=OuterRef("pk"), type=event_type)
        .order_by("-occurred_at", "-id")
        .values("occurred_at")[:1]
    )


def lead_export(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """The leads of a filtered list (any queryset of leads: its filters and order are
    kept) with what the export writes, in one query: the owner and campaign joined, and
    when the lead became an MQL (`qualified_at`, else its latest `qualified` event), an SQL
    (its latest `accepted` event) and a customer (its latest `won` event). Merge pointers
    are left out, as the list leaves them out."""
    return (
        leads.filter(merged_into__isnull=True)
        .prefetch_related(None)
        .select_related(None)
        .select_related("owner", "campaign")
        .only(*_EXPORT_FIELDS)
        .annotate(
            mql_at=Coalesce(F("qualified_at"), _last_event_at(EventType.QUALIFIED)),
            sql_at=_last_event_at(EventType.ACCEPTED),
            customer_at=_last_event_at(EventType.WON),
        )
    )


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else timezone.localtime(moment, org_tz()).replace(microsecond=0)


def lead_export_rows(leads: QuerySet[Lead], viewer) -> Iterator[list]:
    """The export of `leads` as `viewer` may read it: the header (`LEAD_EXPORT_COLUMNS`),
    then one row per lead, streamed from one query `EXPORT_CHUNK` rows at a time (and one
    query each for the chunk's events and clocks), so a million leads are never all in
    memory.

    Values are typed, for CSV and .xlsx alike (`smarketing.core.sheets`): the stage,
    source, consent, consent method and lawful basis as their codes, the owner's full name
    (their username when they have none), times in the organisation's time zone to the
    second, the close date a date, the deal amount a Decimal. What the list page and the API hide, the export leaves blank: the
    email, phone and deal amount of a lead unless the viewer sees its contact details
    (`sees_contact_details`: a product role, or an employee's own referral), and an
    owner's or referrer's email and the history (which names reps by email) unless the
    viewer has a product role (nothing shows a colleague's email to an employee without
    one)."""
    yield list(LEAD_EXPORT_COLUMNS)
    colleague = has_product_role(viewer)
    names = _Names() if colleague else None
    rows = lead_export(leads).iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(rows, EXPORT_CHUNK)):
        histories = lead_histories(chunk, names) if names is not None else {}
        for lead in chunk:
            shown = sees_contact_details(viewer, lead)
            owner = lead.owner
            yield [
                lead.pk,
                lead.email if shown else "",
                lead.first_name,
                lead.last_name,
                lead.company,
                lead.job_title,
                lead.phone if shown else "",
                lead.country,
                lead.website,
                lead.stage,
                (owner.get_full_name() or owner.username) if owner is not None else "",
                owner.email if owner is not None and colleague else "",
                lead.source,
                lead.campaign.name if lead.campaign is not None else "",
                _local(lead.created_at),
                _local(lead.mql_at),
                _local(lead.sql_at),
                _local(lead.customer_at),
                lead.closed_on,
                lead.deal_amount if shown else None,
                lead.recycle_count,
                lead.score,
                lead.consent,
                _local(lead.consent_at),
                lead.consent_method,
                lead.consent_wording,
                lead.lawful_basis,
                names.email(lead.referrer_id) if names is not None else "",
                histories.get(lead.pk, ""),
            ]


# --- the History column ------------------------------------------------------------------------

# The events a history carries: every move of stage or owner. Profile edits, notes, snoozes
# and merges stay behind (they move nothing the reports count; notes are free text).
HISTORY_EVENTS = (
    EventType.QUALIFIED,
    EventType.ACCEPTED,
    EventType.REJECTED,
    EventType.RETURNED,
    EventType.REASSIGNED,
    EventType.WON,
    EventType.LOST,
    EventType.DISQUALIFIED,
    EventType.REOPENED,
)
# What of an event's data the reports read, carried as it is (`reports.rollups`).
HISTORY_DATA = ("scoring_version", "agreement_version", "automatic", "amount", "closed_on")
HISTORY_VERSION = 1


class _Names:
    """Users' emails and reasons' codes by id, read once per export: a history names
    people and reasons by what another installation can match, never by id."""

    def __init__(self):
        self.emails = dict(get_user_model().objects.values_list("pk", "email"))
        self.reasons = dict(Reason.objects.values_list("pk", "code"))  # the kind is the step's

    def email(self, user_id: int | None) -> str:
        return self.emails.get(user_id, "") if user_id is not None else ""


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def lead_histories(leads: Iterable[Lead], names: _Names) -> dict[int, str]:
    """The History cell of each lead: a JSON object with its exact creation time, the
    events that moved it (type, when, stage reached, reason code and kind, the rep a
    hand-off or reassignment gave it and who made the move, by email, the data the reports
    read) and its SLA
    clocks that were met or breached (docs/exports.md, "History"). Two queries for the
    whole chunk."""
    leads = list(leads)
    ids = [lead.pk for lead in leads]
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for lead_id, type_, at, to, reason_id, actor_id, data in (
        LeadEvent.objects.filter(lead_id__in=ids, type__in=HISTORY_EVENTS)
        .order_by("lead_id", "occurred_at", "id")
        .values_list("lead_id", "type", "occurred_at", "to_stage", "reason_id", "actor_id", "data")
    ):
        # `by`: who made the move, by email; null when the system did (an automatic hand-off).
        event: dict[str, Any] = {"type": type_, "at": _iso(at), "to": to, "by": names.email(actor_id) or None}
        if reason_id is not None:
            event["reason"] = names.reasons[reason_id]
        if type_ in (EventType.QUALIFIED, EventType.REASSIGNED) and (data or {}).get("owner"):
            event["owner"] = names.email(data["owner"])
        kept = {key: data[key] for key in HISTORY_DATA if key in (data or {})}
        if kept:
            event["data"] = kept
        events[lead_id].append(event)
    clocks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for lead_id, obligation, owner_id, started, due, met, breached, cancelled, seconds, measured in (
        Clock.objects.filter(lead_id__in=ids)
        .filter(Q(met_at__isnull=False) | Q(breached_at__isnull=False))
        .order_by("lead_id", "started_at", "id")
        .values_list(
            "lead_id",
            "obligation",
            "owner_id",
            "started_at",
            "due_at",
            "met_at",
            "breached_at",
            "cancelled_at",
            "business_seconds",
            "measured_only",
        )
    ):
        clocks[lead_id].append(
            {
                "obligation": obligation,
                "owner": names.email(owner_id),
                "started": _iso(started),
                "due": _iso(due),
                "met": _iso(met),
                "breached": _iso(breached),
                "cancelled": _iso(cancelled),
                "business_seconds": seconds,
                "measured_only": measured,
            }
        )
    return {
        lead.pk: json.dumps(
            {
                "version": HISTORY_VERSION,
                "created": _iso(lead.created_at),
                "events": events.get(lead.pk, []),
                "clocks": clocks.get(lead.pk, []),
            },
            separators=(",", ":"),
        )
        for lead in leads
    }

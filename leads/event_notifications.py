"""Who hears about a lead event, and what they are told: a hand-off or reassignment tells
the rep, a rejection the marketer who handed it off, a win the marketer and the referrer,
a note the colleagues it mentions.
The messages go through the outbox (`smarketing.notifications`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model

from leads.models import EventType, LeadEvent
from smarketing.core import formats
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.notifications.services import notify
from smarketing.org.roles import has_product_role

log = logging.getLogger(__name__)


def _lead_url(lead) -> str:
    return f"{settings.SMARKETING_BASE_URL}/leads/{lead.pk}/"


def notifications_for_event(event_id: int) -> list[Notification]:
    """The people to tell about one lead event, and what to tell them."""
    event = (
        LeadEvent.objects.select_related(
            "lead", "reason", "actor", "lead__owner", "lead__qualified_by", "lead__referrer"
        )
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        return []
    lead = event.lead
    key = f"event:{event.pk}"
    made: list[Notification | None] = []
    if lead.no_contact and event.type not in (EventType.QUALIFIED, EventType.REASSIGNED):
        # A person who refused or withdrew consent is not brought to anyone's attention
        # (docs/privacy.md). Only a rep handed the MQL by hand still hears: their response
        # clock runs, and the consent is on the lead page they open.
        return []
    if event.type in (EventType.QUALIFIED, EventType.REASSIGNED) and lead.stage == "mql":
        owner_id = event.data.get("owner")
        owner = lead.owner if lead.owner_id == owner_id else None
        made.append(
            notify(
                recipient=owner,
                kind=NotificationKind.MQL_ASSIGNED,
                lead=lead,
                dedupe_key=key,
                created_at=event.occurred_at,
                subject=f"New MQL for you: {lead} ({lead.company or 'no company'})",
                body=f"{lead} <{lead.email}> was handed to you. Accept or reject it: {_lead_url(lead)}",
            )
        )
    elif event.type in (EventType.REJECTED, EventType.RETURNED):
        # Back with marketing: the marketer who qualified it hears why — sales' reason, or
        # (SLA enforcement returned it) that nobody responded in time — so it is not left unseen.
        if event.type == EventType.REJECTED:
            reason = event.reason.label if event.reason else "no reason"
            kind, subject = NotificationKind.MQL_REJECTED, f"MQL rejected: {lead} — {reason}"
            what = f"Sales rejected {lead} <{lead.email}>: {reason}."
        else:
            kind, subject = (
                NotificationKind.MQL_RETURNED,
                f"MQL returned: {lead} — sales did not respond in time",
            )
            what = f"{lead} <{lead.email}> was not answered within the SLA and came back to marketing."
        made.append(
            notify(
                recipient=_qualifier_before(event),
                kind=kind,
                lead=lead,
                dedupe_key=key,
                created_at=event.occurred_at,
                subject=subject,
                body=(
                    what
                    + (f"\nNote: {event.note}" if event.note else "")
                    + f"\nIt is back in the recycled queue: {_lead_url(lead)}"
                ),
            )
        )
    elif event.type == EventType.WON:
        amount = event.data.get("amount")
        amount = "an unrecorded amount" if amount is None else formats.money(amount)
        made.append(
            notify(
                recipient=lead.qualified_by,
                kind=NotificationKind.LEAD_WON,
                lead=lead,
                dedupe_key=key,
                created_at=event.occurred_at,
                subject=f"Won: {lead} ({amount})",
                body=f"{lead}, which you handed off, became a customer worth {amount}: {_lead_url(lead)}",
            )
        )
        made.append(
            notify(
                recipient=lead.referrer,
                kind=NotificationKind.REFERRAL_CONVERTED,
                lead=lead,
                dedupe_key=key,
                created_at=event.occurred_at,
                subject=f"Your referral {lead} became a customer",
                body=f"{lead}, whom you referred, became a customer worth {amount}. Thank you! {_lead_url(lead)}",
            )
        )
    elif event.type == EventType.NOTED:
        made += _mentioned(event)
    return [n for n in made if n is not None]


def _mentioned(event: LeadEvent) -> list[Notification | None]:
    """Each colleague a note mentions (`leads.services.notes`), once per note. Whether they
    may read notes is checked again here: a role taken away since the note was written
    means no message about the lead."""
    lead = event.lead
    ids = [m["id"] for m in event.data.get("mentions", []) if isinstance(m, dict) and "id" in m]
    people = get_user_model().objects.filter(pk__in=ids, is_active=True)
    writer = (event.actor.get_full_name() or event.actor.username) if event.actor else "Someone"
    return [
        notify(
            recipient=person,
            kind=NotificationKind.MENTIONED,
            lead=lead,
            dedupe_key=f"event:{event.pk}",
            created_at=event.occurred_at,
            subject=f"{writer} mentioned you in a note on {lead}",
            body=f"{writer} wrote on {lead} ({lead.company or 'no company'}):\n\n{event.note}\n\n{_lead_url(lead)}",
        )
        for person in people
        if has_product_role(person)
    ]


def _qualifier_before(event: LeadEvent):
    """Who qualified the lead for the hand-off this event rejects."""
    qualified = (
        LeadEvent.objects.filter(
            lead_id=event.lead_id,
            type=EventType.QUALIFIED,
            occurred_at__lte=event.occurred_at,
            id__lt=event.pk,
        )
        .select_related("actor")
        .order_by("-occurred_at", "-id")
        .first()
    )
    return qualified.actor if qualified else None

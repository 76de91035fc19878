"""The lead list's export: every lead the filters match, streamed, in the columns a
migration import reads back (docs/exports.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import EventType, Lead, LeadEvent
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
    "referrer",  # who sees the contact details (`sees_contact_details`)
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
    then one row per lead, streamed from one query `EXPORT_CHUNK` rows at a time, so a
    million leads are never all in memory.

    Values are typed, for CSV and .xlsx alike (`smarketing.core.sheets`): the stage and
    source as their codes, the owner's full name (their username when they have none),
    times in the organisation's time zone to the second, the close date a date, the deal
    amount a Decimal. What the list page and the API hide, the export leaves blank: the
    email, phone and deal amount of a lead unless the viewer sees its contact details
    (`sees_contact_details`: a product role, or an employee's own referral), and an
    owner's email unless the viewer has a product role (nothing shows a colleague's email
    to an employee without one)."""
    yield list(LEAD_EXPORT_COLUMNS)
    colleague = has_product_role(viewer)
    for lead in lead_export(leads).iterator(chunk_size=EXPORT_CHUNK):
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
        ]

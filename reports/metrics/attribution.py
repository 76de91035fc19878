"""Closed-loop attribution, rejection feedback, and hand-offs by the MQL definition and the
agreement in force."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.fields.json import KeyTransform

from leads.models import EventType, Lead, LeadEvent
from reports import rollups
from reports.metrics.base import events_in, rolled_up, scoped
from smarketing.agreement.models import Reason
from smarketing.core.weeks import monday_of, week_range
from smarketing.org.models import Campaign

# --- closed-loop attribution and rejection feedback --------------------------------------------


def _reached(event_type: str):
    return Exists(LeadEvent.objects.filter(lead=OuterRef("pk"), type=event_type))


REACHED = {"mql": EventType.QUALIFIED, "sql": EventType.ACCEPTED, "customer": EventType.WON}
ATTRIBUTION_KEYS = {
    "source": {"key": F("source"), "name": F("source")},
    "campaign": {"key": F("campaign_id"), "name": F("campaign__name"), "cost": F("campaign__cost")},
    "referrer": {"key": F("referrer_id"), "name": F("referrer__username")},
}


def _created_in(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[Lead]:
    start, end = week_range(first, last)
    return scoped(Lead.objects.live(), leads, path="pk").filter(created_at__gte=start, created_at__lt=end)


def attribution(
    first: dt.date, last: dt.date, *, by: str = "source", leads: QuerySet | None = None
) -> list[dict]:
    """Per first-touch source, campaign or referrer (`by`), for the leads created in the
    weeks `first`..`last`: leads, how many ever became MQL, SQL and customer, revenue won,
    and for campaigns their cost, cost per customer and ROI ((revenue − cost) ÷ cost).
    One query."""
    rows = _attribution_rolled_up(monday_of(first), monday_of(last), by) if rolled_up(leads) else None
    if rows is None:
        rows = (
            _created_in(first, last, leads)
            .annotate(**{f"was_{stage}": _reached(event) for stage, event in REACHED.items()})
            .values(**ATTRIBUTION_KEYS[by])
            .annotate(
                leads=Count("id"),
                mqls=Count("id", filter=Q(was_mql=True)),
                sqls=Count("id", filter=Q(was_sql=True)),
                customers=Count("id", filter=Q(was_customer=True)),
                revenue=Sum("deal_amount", filter=Q(was_customer=True), default=Decimal(0)),
            )
            .order_by("-revenue", "name")
        )
    result = []
    for row in rows:
        if by == "referrer" and row["key"] is None:
            continue  # leads nobody referred
        if by == "campaign":
            cost = row["cost"]
            row["cost_per_customer"] = (
                cost / row["customers"] if cost is not None and row["customers"] else None
            )
            row["roi"] = (row["revenue"] - cost) / cost if cost else None
        result.append(row)
    return result


def _by_name(rows: list[dict], *, revenue: bool) -> list[dict]:
    """The event-log query's order: most first (revenue or count), then name, no name last."""
    first = "revenue" if revenue else "rejections"
    return sorted(rows, key=lambda row: (-row[first], row["name"] is None, row["name"] or ""))


def _attribution_rolled_up(first: dt.date, last: dt.date, by: str) -> list[dict]:

    rows = rollups.created(first, last, by)
    keys = [int(key) for key, *_ in rows if by != "source" and key != ""]
    if by == "campaign":
        campaigns = {c.pk: c for c in Campaign.objects.filter(pk__in=keys)}
    elif by == "referrer":
        names = dict(get_user_model().objects.filter(pk__in=keys).values_list("pk", "username"))
    result = []
    for key, count, mqls, sqls, customers, revenue in rows:
        row = {"leads": count, "mqls": mqls, "sqls": sqls, "customers": customers, "revenue": revenue}
        if by == "source":
            row.update(key=key, name=key)
        elif by == "campaign":
            campaign = campaigns.get(int(key)) if key != "" else None
            row.update(
                key=campaign.pk if campaign else None,
                name=campaign.name if campaign else None,
                cost=campaign.cost if campaign else None,
            )
        else:
            row.update(key=int(key), name=names.get(int(key)))
        result.append(row)
    return _by_name(result, revenue=True)


def reached_lead_ids(reached: str, first: dt.date, last: dt.date | None = None) -> QuerySet:
    """The leads behind an attribution count: created in the weeks and ever `mql`, `sql`,
    `customer` (or every one created then: `lead`)."""
    created = _created_in(first, last or first)
    if reached in REACHED:
        created = created.filter(_reached(REACHED[reached]))
    return created.values("pk")


def _rejections(first: dt.date, last: dt.date, leads: QuerySet | None = None) -> QuerySet[LeadEvent]:
    return events_in(first, last, leads).filter(type=EventType.REJECTED)


def rejection_reasons(
    first: dt.date, last: dt.date, *, by: str | None = None, leads: QuerySet | None = None
) -> list[dict]:
    """Rejections made in the weeks, by reason — a Pareto list (most first, with the
    cumulative share) — or by reason and the lead's `source` or `campaign`; with the
    distinct leads rejected for each (what a drill-down lists). One query."""
    if rolled_up(leads):
        rows = _rejections_rolled_up(monday_of(first), monday_of(last), by)
    else:
        rows = _rejections_counted(first, last, by, leads)
    total = sum(row["rejections"] for row in rows)
    running = 0
    for row in rows:
        running += row["rejections"]
        row["share"] = row["rejections"] / total
        row["cumulative"] = running / total
    return rows


def _rejections_rolled_up(first: dt.date, last: dt.date, by: str | None) -> list[dict]:

    rows = rollups.rejections(first, last, by)
    labels = dict(
        Reason.objects.filter(pk__in=[int(r) for r, *_ in rows if r != ""]).values_list("pk", "label")
    )
    campaigns = {}
    if by == "campaign":
        keys = [int(key) for _, key, *_ in rows if key != ""]
        campaigns = dict(Campaign.objects.filter(pk__in=keys).values_list("pk", "name"))
    result = []
    for reason, key, count, distinct in rows:
        reason = int(reason) if reason != "" else None
        row = {
            "reason_key": reason,
            "reason_label": labels.get(reason),
            "rejections": count,
            "leads": distinct,
        }
        if by == "source":
            row.update(by=key, by_key=key)
        elif by == "campaign":
            key = int(key) if key != "" else None
            row.update(by=campaigns.get(key), by_key=key)
        result.append(row)

    def order(row):
        label, name = row["reason_label"], row.get("by")
        return (-row["rejections"], label is None, label or "", name is None, name or "")

    return sorted(result, key=order)


def _rejections_counted(first: dt.date, last: dt.date, by: str | None, leads: QuerySet | None) -> list[dict]:
    fields = {"reason_key": F("reason_id"), "reason_label": F("reason__label")}
    if by == "source":
        fields.update(by=F("lead__source"), by_key=F("lead__source"))
    elif by == "campaign":
        fields.update(by=F("lead__campaign__name"), by_key=F("lead__campaign_id"))
    return list(
        _rejections(first, last, leads)
        .values(**fields)
        .annotate(rejections=Count("id"), leads=Count("lead", distinct=True))
        .order_by("-rejections", "reason_label", *(["by"] if by else []))
    )


# --- split by the MQL definition ------------------------------------------------------------


HANDOFF_VERSIONS = ("scoring_version", "agreement_version")


def _after(at, pk) -> Q:
    """Events after the one at (`at`, `pk`) in event order: by time, then id."""
    return Q(occurred_at__gt=at) | Q(occurred_at=at, id__gt=pk)


def _handoffs(
    first: dt.date, last: dt.date, leads: QuerySet | None = None, by: str = "scoring_version"
) -> QuerySet[LeadEvent]:
    """Hand-offs made in the weeks, each with the version it was made under as `definition`
    (`by`: the scoring version, i.e. the MQL definition, or the agreement version) and
    sales' first response to it as `answer`: the lead's next event among hand-offs,
    acceptances and rejections — an answer when `accepted` or `rejected`, none when the
    next is another hand-off or there is none yet."""
    if by not in HANDOFF_VERSIONS:
        raise ValueError(f"by is one of {HANDOFF_VERSIONS}")
    # A response answers this hand-off if no later hand-off of the lead came before it
    # (one returned to marketing unanswered, say): the lead's next hand-off or response
    # after it, if a response, is the answer — as the rollup's window reads it
    # (reports.rollups, `answers`). Events are in order of time, then id: two written at
    # the same instant are in the order they were written. One correlated subquery on the
    # event log's (lead, occurred_at) index.
    following = (
        LeadEvent.objects.filter(
            _after(OuterRef("occurred_at"), OuterRef("id")),
            lead=OuterRef("lead"),
            type__in=[EventType.QUALIFIED, EventType.ACCEPTED, EventType.REJECTED],
        )
        .order_by("occurred_at", "id")
        .values("type")[:1]
    )
    return (
        events_in(first, last, leads)
        .filter(type=EventType.QUALIFIED)
        .annotate(definition=KeyTransform(by, "data"), answer=Subquery(following))
    )


def by_mql_definition(
    first: dt.date, last: dt.date, leads: QuerySet | None = None, by: str = "scoring_version"
) -> list[dict]:
    """Per MQL definition (scoring) version, or per agreement version (`by`): hand-offs made
    in the weeks, the leads they were made on, and what sales answered to each — so a new
    definition's acceptance rate can be set against the old one's. One query."""
    if by not in HANDOFF_VERSIONS:
        raise ValueError(f"by is one of {HANDOFF_VERSIONS}")
    if rolled_up(leads):
        rows = [
            {
                "definition": int(key) if key != "" else None,
                "handoffs": handoffs,
                "leads": distinct,
                "accepted": accepted,
                "rejected": rejected,
            }
            for key, handoffs, distinct, accepted, rejected in rollups.handoffs(
                monday_of(first), monday_of(last), by
            )
        ]
        rows.sort(key=lambda row: (row["definition"] is None, row["definition"] or 0))
    else:
        rows = (
            _handoffs(first, last, leads, by)
            .values("definition")
            .annotate(
                handoffs=Count("id"),
                leads=Count("lead", distinct=True),
                accepted=Count("id", filter=Q(answer=EventType.ACCEPTED)),
                rejected=Count("id", filter=Q(answer=EventType.REJECTED)),
            )
            .order_by("definition")
        )
    result = []
    for row in rows:
        answered = row["accepted"] + row["rejected"]
        row["waiting"] = row["handoffs"] - answered
        row["acceptance_rate"] = row["accepted"] / answered if answered else None
        result.append(row)
    return result


def handed_off_lead_ids(
    definition: int, first: dt.date, last: dt.date | None = None, by: str = "scoring_version"
) -> QuerySet:
    """The leads handed off in the weeks under version `definition` of the MQL definition
    (scoring) or of the agreement (`by`)."""
    return _handoffs(first, last or first, by=by).filter(definition=definition).values("lead_id").distinct()

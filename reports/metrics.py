"""The weekly funnel figures, exactly as DESIGN.md defines them, aggregated in the database.

- A *week* is an ISO week (Monday start) in the organisation's time zone.
- *Entered stage S in week W*: leads with an event moving them into S during W (a lead
  counts once per stage and week, however often it moved in).
- *Acceptance rate* (W): accepted ÷ (accepted + rejected), for responses made in W.
- *Win rate* (W): won ÷ (won + lost), for outcomes made in W.
- *Speed to lead*: business time from hand-off to first response (accept or reject);
  median and 90th percentile for responses in W.
- *Closed-loop attribution*: per first-touch source, campaign and referrer, for the leads
  created in the range: leads, MQLs, SQLs, customers, revenue, cost, cost per customer, ROI.
- *Rejection feedback*: rejections by reason, by source and campaign, by week.
- *Velocity*: median days spent in each stage, for leads that left it in W.
- *Cohort conversion*: of leads that entered MQL in week W, the share now SQL, customer,
  rejected (sent back), still waiting.

Merge pointers (leads merged into another) are left out, as everywhere in the funnel: the
survivor carries the person. Every figure has a drill-down: `entered_leads` and
`event_leads` return exactly the leads behind a count.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.weeks import monday_of, org_tz, week_range

# Outcome events counted per week beside the stages entered.
OUTCOMES = {
    "rejected": EventType.REJECTED,
    "lost": EventType.LOST,
    "accepted": EventType.ACCEPTED,
    "won": EventType.WON,
}


def last_weeks(count: int = 12, now: dt.datetime | None = None) -> list[dt.date]:
    """The Mondays of the last `count` ISO weeks, oldest first, this week included."""
    this = monday_of(now or timezone.now())
    return [this - dt.timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def _events(first: dt.date, last: dt.date) -> QuerySet[LeadEvent]:
    start, end = week_range(first, last)
    return LeadEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, lead__merged_into__isnull=True
    ).annotate(week=TruncWeek("occurred_at", tzinfo=org_tz()))


def _moves_in() -> Q:
    """Events that move a lead into a stage (not a re-save of the same stage)."""
    return ~Q(to_stage="") & ~Q(from_stage=F("to_stage"))


@dataclass
class Week:
    monday: dt.date
    entered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Stage.values, 0))
    # Responses and outcomes made in the week (what the rates count) …
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    # … and the distinct leads they were made on (what a drill-down lists).
    outcome_leads: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    @property
    def acceptance_rate(self) -> float | None:
        answered = self.outcomes["accepted"] + self.outcomes["rejected"]
        return self.outcomes["accepted"] / answered if answered else None

    @property
    def win_rate(self) -> float | None:
        closed = self.outcomes["won"] + self.outcomes["lost"]
        return self.outcomes["won"] / closed if closed else None


def _week_key(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def weekly_funnel(weeks: list[dt.date]) -> list[Week]:
    """Per week: leads that entered each stage, and the responses and outcomes made.
    Two queries, whatever the number of leads or weeks."""
    rows = {monday: Week(monday) for monday in weeks}
    if not weeks:
        return []
    events = _events(weeks[0], weeks[-1])
    entered = (
        events.filter(_moves_in())
        .values("week", "to_stage")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    for row in entered:
        week = rows.get(_week_key(row["week"]))
        if week is not None and row["to_stage"] in week.entered:
            week.entered[row["to_stage"]] = row["n"]
    outcomes = (
        events.filter(type__in=OUTCOMES.values())
        .values("week", "type")
        .annotate(n=Count("id"), leads=Count("lead", distinct=True))
        .order_by()
    )
    names = {value: name for name, value in OUTCOMES.items()}
    for row in outcomes:
        week = rows.get(_week_key(row["week"]))
        if week is not None:
            week.outcomes[names[row["type"]]] = row["n"]
            week.outcome_leads[names[row["type"]]] = row["leads"]
    return [rows[monday] for monday in weeks]


# --- drill-downs: exactly the leads behind a number ------------------------------------------


def entered_lead_ids(stage: str, monday: dt.date) -> QuerySet:
    """The ids of the leads that entered `stage` in the week of `monday`."""
    return _events(monday, monday).filter(_moves_in(), to_stage=stage).values("lead_id").distinct()


def event_lead_ids(outcome: str, monday: dt.date) -> QuerySet:
    """The ids of the leads with a response or outcome (`rejected`, `accepted`, `won`,
    `lost`) in the week of `monday`: as many as `Week.outcome_leads` says. (A lead
    rejected twice in a week is one lead here and two responses in the acceptance rate.)"""
    return _events(monday, monday).filter(type=OUTCOMES[outcome]).values("lead_id").distinct()


# --- speed to lead -------------------------------------------------------------------------


@dataclass
class Speed:
    monday: dt.date
    responses: int
    median_seconds: float | None
    p90_seconds: int | None


def _pick(values: QuerySet, index: int) -> int:
    return values[index : index + 1].get()


def speed_to_lead(weeks: list[dt.date]) -> list[Speed]:
    """Business time from hand-off to first response (accept or reject), for responses in
    each week: median (the mean of the two middle values when their number is even) and
    90th percentile (nearest rank: the value at rank ⌈0.9 n⌉). Read in the database —
    a count and up to three single-value picks per week, whatever the number of leads."""
    from sla.models import Clock, Obligation

    result = []
    for monday in weeks:
        start, end = week_range(monday, monday)
        values = (
            Clock.objects.filter(
                obligation=Obligation.RESPONSE,
                met_at__gte=start,
                met_at__lt=end,
                business_seconds__isnull=False,
                lead__merged_into__isnull=True,
            )
            .order_by("business_seconds", "id")
            .values_list("business_seconds", flat=True)
        )
        n = values.count()
        if not n:
            result.append(Speed(monday, 0, None, None))
            continue
        middle = (n - 1) // 2
        median = (
            float(_pick(values, middle)) if n % 2 else (_pick(values, middle) + _pick(values, middle + 1)) / 2
        )
        p90 = _pick(values, math.ceil(0.9 * n) - 1)
        result.append(Speed(monday, n, median, p90))
    return result


# --- closed-loop attribution and rejection feedback --------------------------------------------


def _reached(event_type: str):
    return Exists(LeadEvent.objects.filter(lead=OuterRef("pk"), type=event_type))


def attribution(first: dt.date, last: dt.date, *, by: str = "source") -> list[dict]:
    """Per first-touch source, campaign or referrer (`by`), for the leads created in the
    weeks `first`..`last`: leads, how many ever became MQL, SQL and customer, revenue won,
    and for campaigns their cost, cost per customer and ROI ((revenue − cost) ÷ cost).
    One query."""
    start, end = week_range(first, last)
    key = {"source": "source", "campaign": "campaign__name", "referrer": "referrer__username"}[by]
    rows = (
        Lead.objects.live()
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(
            was_mql=_reached(EventType.QUALIFIED),
            was_sql=_reached(EventType.ACCEPTED),
            was_customer=_reached(EventType.WON),
        )
        .values(name=F(key), **({"cost": F("campaign__cost")} if by == "campaign" else {}))
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
        if by == "referrer" and row["name"] is None:
            continue  # leads nobody referred
        cost = row.pop("cost", None)
        if by == "campaign":
            row["cost"] = cost
            row["cost_per_customer"] = (
                cost / row["customers"] if cost is not None and row["customers"] else None
            )
            row["roi"] = (row["revenue"] - cost) / cost if cost else None
        result.append(row)
    return result


def rejection_reasons(first: dt.date, last: dt.date, *, by: str | None = None) -> list[dict]:
    """Rejections made in the weeks, by reason — a Pareto list (most first, with the
    cumulative share) — or by reason and the lead's `source` or `campaign`. One query."""
    start, end = week_range(first, last)
    fields = {"reason_label": F("reason__label")}
    if by is not None:
        fields["by"] = F({"source": "lead__source", "campaign": "lead__campaign__name"}[by])
    rows = list(
        LeadEvent.objects.filter(
            type=EventType.REJECTED,
            occurred_at__gte=start,
            occurred_at__lt=end,
            lead__merged_into__isnull=True,
        )
        .values(**fields)
        .annotate(rejections=Count("id"))
        .order_by("-rejections", "reason_label")
    )
    total = sum(row["rejections"] for row in rows)
    running = 0
    for row in rows:
        running += row["rejections"]
        row["share"] = row["rejections"] / total
        row["cumulative"] = running / total
    return rows


# --- velocity and cohorts ------------------------------------------------------------------------


def velocity(monday: dt.date) -> dict[str, float | None]:
    """Median days spent in each stage, for the leads that left it in the week of `monday`
    (time from the event that moved the lead into the stage to the one that moved it out).
    Read in the database: a count and up to two ordered single-value picks per stage."""
    start, end = week_range(monday, monday)
    result: dict[str, float | None] = {}
    for stage in Stage.values:
        entered_at = Subquery(
            LeadEvent.objects.filter(
                lead=OuterRef("lead"), to_stage=stage, occurred_at__lte=OuterRef("occurred_at")
            )
            .exclude(from_stage=stage)
            .order_by("-occurred_at", "-id")
            .values("occurred_at")[:1]
        )
        spans = (
            LeadEvent.objects.filter(
                occurred_at__gte=start, occurred_at__lt=end, from_stage=stage, lead__merged_into__isnull=True
            )
            .exclude(to_stage=stage)
            .exclude(to_stage="")
            .annotate(spent=ExpressionWrapper(F("occurred_at") - entered_at, output_field=DurationField()))
            .exclude(spent=None)
            .order_by("spent", "id")
            .values_list("spent", flat=True)
        )
        n = spans.count()
        if not n:
            result[stage] = None
            continue
        middle = (n - 1) // 2
        median = _pick(spans, middle) if n % 2 else (_pick(spans, middle) + _pick(spans, middle + 1)) / 2
        result[stage] = median.total_seconds() / 86400
    return result


def cohort(monday: dt.date) -> dict[str, int]:
    """Of the leads that entered MQL in the week of `monday`, how many are now SQL,
    customer, sent back (rejected or lost to nurture), disqualified, or still waiting. One query."""
    counts = {"waiting": 0, "sql": 0, "customer": 0, "sent_back": 0, "disqualified": 0}
    names = {
        Stage.MQL: "waiting",
        Stage.SQL: "sql",
        Stage.CUSTOMER: "customer",
        Stage.LEAD: "sent_back",
        Stage.DISQUALIFIED: "disqualified",
    }
    rows = (
        Lead.objects.filter(pk__in=entered_lead_ids(Stage.MQL, monday))
        .values("stage")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[names[row["stage"]]] += row["n"]
    return counts

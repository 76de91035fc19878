"""One campaign's closed loop: its funnel (leads, MQLs, SQLs, customers — first touch),
revenue, cost per customer and ROI, beside its budget.

The figures are the dashboard's own: `reports.dashboard.attribution_table` (which reads
`reports.metrics.attribution`) over the lead list's scope `campaign=<id>`, so the
campaign page, its API and the dashboard's "Closed loop by campaign" row cannot disagree,
and every count links to exactly its leads as the dashboard's do. Over all time the range
runs from the week of the campaign's first lead to this week (docs/campaigns.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Min

from leads.models import Lead
from reports.dashboard import REACHED_COUNTS, Scope, attribution_table, scope_for
from smarketing.core.weeks import monday_of
from smarketing.org.models import Campaign

COUNTS = tuple(count for count, _ in REACHED_COUNTS)  # leads, mqls, sqls, customers
FIGURES = (*COUNTS, "revenue", "cost", "cost_per_customer", "roi")


@dataclass
class CampaignFunnel:
    campaign: Campaign
    scope: Scope
    all_time: bool
    # The dashboard's row for this campaign (None: no lead of it was created in the range).
    row: dict | None
    links: dict[str, str] = field(default_factory=dict)  # count → the lead list of its leads

    @property
    def first(self) -> dt.date:
        return self.scope.first

    @property
    def last(self) -> dt.date:
        return self.scope.last

    def figure(self, name: str):
        """A figure of the row; with no lead in the range, counts and revenue are 0, the
        cost is the campaign's, and what divides by customers or cost is not given."""
        if self.row is not None:
            return self.row.get(name)
        if name in COUNTS:
            return 0
        if name == "revenue":
            return Decimal("0.00")
        if name == "cost":
            return self.campaign.cost
        return None

    @property
    def budget(self) -> Decimal | None:
        return self.campaign.budget

    @property
    def budget_left(self) -> Decimal | None:
        """Budget minus actual cost (negative: over budget); None without a budget."""
        return None if self.campaign.budget is None else self.campaign.budget - self.campaign.cost


def first_lead_week(campaign: Campaign) -> dt.date | None:
    """The Monday of the week its first (live) lead was created, if it has one."""
    first = Lead.objects.live().filter(campaign=campaign).aggregate(first=Min("created_at"))["first"]
    return monday_of(first) if first is not None else None


def campaign_funnel(
    *, campaign: Campaign, first: dt.date | None = None, last: dt.date | None = None
) -> CampaignFunnel:
    """The campaign's closed loop for the leads created in the weeks `first`..`last` (any
    day in each): by default from its first lead's week to this week (all time)."""
    all_time = first is None and last is None
    last = monday_of(last or monday_of(None))
    if first is None:
        first = min(first_lead_week(campaign) or last, last)
    scope = scope_for(first, last, {"campaign": campaign.pk})
    table = attribution_table(scope, "campaign")
    # The scope holds this campaign's leads only: at most one row, this campaign's.
    row = table.rows[0] if table.rows else None
    links = {key: scope.drill_url(params) for key, params in table.links[0].items()} if table.rows else {}
    return CampaignFunnel(campaign=campaign, scope=scope, all_time=all_time, row=row, links=links)

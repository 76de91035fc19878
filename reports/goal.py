"""The revenue-goal calculator: from a revenue target, work backwards through the funnel
with the conversion rates *measured* in the event log over a window of ISO weeks.

    customers = ⌈target ÷ average deal⌉
    SQLs      = ⌈customers ÷ win rate⌉
    MQLs      = ⌈SQLs ÷ acceptance rate⌉
    leads     = ⌈MQLs ÷ lead → MQL rate⌉
    per week  = ⌈each ÷ the period's weeks⌉

The rates are DESIGN.md's, summed over the window: win rate = won ÷ (won + lost) and
acceptance rate = accepted ÷ (accepted + rejected), counting outcomes and responses made in
the window; lead → MQL = leads that entered MQL ÷ leads that entered the funnel in the
window (each lead once). The average deal is that of the leads won in the window, unless
one is given. Each rate comes with its sample size; a rate with no sample (or zero) is
refused with the reason, never guessed.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from django.db.models import Avg, Count

from leads.models import EventType, Lead, LeadEvent, Stage
from reports import metrics
from smarketing.core import formats
from smarketing.core.weeks import week_range


class GoalError(ValueError):
    """The plan can't be computed from what was measured (the message says why)."""


@dataclass
class Rate:
    name: str
    numerator: int
    denominator: int
    definition: str

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass
class Measured:
    first: dt.date
    last: dt.date
    win: Rate
    acceptance: Rate
    lead_to_mql: Rate
    average_deal: Decimal | None
    deals: int  # the wins the average is taken over


def measure(first: dt.date, last: dt.date) -> Measured:
    """The funnel's conversion rates and average deal over the weeks `first`..`last`, from
    the event log (four queries)."""
    weeks = metrics.weekly_funnel(metrics.weeks_between(first, last))
    outcome = {name: sum(week.outcomes[name] for week in weeks) for name in metrics.OUTCOMES}
    entered = metrics.stage_totals(first, last)
    start, end = week_range(first, last)
    won = LeadEvent.objects.filter(
        type=EventType.WON, occurred_at__gte=start, occurred_at__lt=end, lead__merged_into__isnull=True
    ).values("lead_id")
    deals = Lead.objects.filter(pk__in=won, deal_amount__isnull=False).aggregate(
        average=Avg("deal_amount"), n=Count("pk")
    )
    average = deals["average"]
    return Measured(
        first=first,
        last=last,
        win=Rate("Win rate", outcome["won"], outcome["won"] + outcome["lost"], "won ÷ (won + lost)"),
        acceptance=Rate(
            "Acceptance rate",
            outcome["accepted"],
            outcome["accepted"] + outcome["rejected"],
            "accepted ÷ (accepted + rejected)",
        ),
        lead_to_mql=Rate(
            "Lead → MQL rate",
            entered[Stage.MQL],
            entered[Stage.LEAD],
            "leads that entered MQL ÷ leads that entered the funnel",
        ),
        average_deal=Decimal(average).quantize(Decimal("0.01")) if average is not None else None,
        deals=deals["n"],
    )


@dataclass
class Step:
    stage: str  # customers, sqls, mqls, leads
    label: str
    total: int
    per_week: int
    arithmetic: str


@dataclass
class Plan:
    target: Decimal
    weeks: int
    average_deal: Decimal
    deal_measured: bool
    measured: Measured
    steps: list[Step] = field(default_factory=list)

    def step(self, stage: str) -> Step:
        return next(step for step in self.steps if step.stage == stage)


def plan(*, target: Decimal, weeks: int, measured: Measured, average_deal: Decimal | None = None) -> Plan:
    """Customers, SQLs, MQLs and leads needed for `target` in `weeks`, per week too."""
    if target <= 0:
        raise GoalError("The revenue target must be more than zero.")
    if weeks < 1:
        raise GoalError("The period must be at least one week.")
    for rate in (measured.win, measured.acceptance, measured.lead_to_mql):
        if not rate.value:
            sample = "no sample" if not rate.denominator else f"0 of {rate.denominator}"
            raise GoalError(
                f"The {rate.name[0].lower() + rate.name[1:]} measured in the window is {sample}: choose a longer window."
            )
    deal = average_deal if average_deal is not None else measured.average_deal
    if deal is None:
        raise GoalError("No deal with an amount was won in the window: give the average deal size.")
    if deal <= 0:
        raise GoalError("The average deal size must be more than zero.")
    result = Plan(
        target=target, weeks=weeks, average_deal=deal, deal_measured=average_deal is None, measured=measured
    )
    customers = int((target / deal).to_integral_value(rounding=ROUND_CEILING))
    money = f"{formats.money(target)} ÷ {formats.money(deal)} average deal"
    chain = [("customers", "Customers", customers, f"{money} = {customers}")]
    previous, needed = customers, customers
    for stage, label, rate in (
        ("sqls", "SQLs", measured.win),
        ("mqls", "MQLs", measured.acceptance),
        ("leads", "Leads", measured.lead_to_mql),
    ):
        needed = -(-previous * rate.denominator // rate.numerator)  # ⌈previous ÷ rate⌉, exactly
        percent = f"{rate.value * 100:.1f} %"
        name = rate.name[0].lower() + rate.name[1:]
        chain.append((stage, label, needed, f"{previous} ÷ {percent} {name} = {needed}"))
        previous = needed
    for stage, label, total, arithmetic in chain:
        per_week = math.ceil(total / weeks)
        result.steps.append(
            Step(stage, label, total, per_week, f"{arithmetic}; ÷ {weeks} weeks = {per_week} a week")
        )
    return result

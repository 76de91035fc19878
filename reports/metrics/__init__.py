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
- *SLA compliance* (W): clocks resolved in W met on time ÷ all resolved in W (met +
  breached); a met clock is resolved when it was met, a breached one at its due time,
  however late the breach was detected.
- *Velocity*: median days spent in each stage, for leads that left it in W (each lead
  counted once per stage: its last stay that ended in W; over a range, in the range).
- *Cohort conversion*: of leads that entered MQL in week W, the share in each current
  state — still waiting, SQL, customer, sent back, lost, disqualified (`cohort_state`):
  each lead in exactly one, so they add up to the cohort.

Merge pointers (leads merged into another) are left out, as everywhere in the funnel: the
survivor carries the person. Every function takes `leads`, an optional queryset of Lead
that scopes the figures (the dashboard's team, source, campaign, rep and segment filters,
built by the lead list's own FilterSet, so a drill-down applies exactly the same scope).

Every count has a drill-down here, beside it (`*_lead_ids`): exactly the leads behind it.
Counts of leads are what the dashboard links; where a figure counts events (responses,
rejections, clocks) the leads behind them are counted beside it; velocity counts each
lead once per stage, so its stays are its leads.

Medians and percentiles are picked in the database with window functions (ROW_NUMBER and
COUNT over a partition), one query for all weeks or stages: nothing is read row by row.

For the whole organisation on PostgreSQL, the counts come from `reports.rollups` (kept
exactly up to date; `rolled_up` says when): the same figures without reading the event
log. The event-log queries stay the definition, and serve filtered scopes and SQLite.

The package by concern: `base` (weeks, events, ranks), `funnel`, `speed` (speed to lead,
SLA compliance), `attribution` (sources, campaigns, referrers, rejections, hand-offs by
definition), `drilldown`. Callers use the names below.
"""

from reports.metrics.attribution import (
    ATTRIBUTION_KEYS,
    HANDOFF_VERSIONS,
    REACHED,
    attribution,
    by_mql_definition,
    handed_off_lead_ids,
    reached_lead_ids,
    rejection_reasons,
)
from reports.metrics.base import (
    events_in,
    last_weeks,
    median,
    moves_in,
    p90,
    ranked,
    rolled_up,
    scoped,
    week_key,
    weeks_between,
)
from reports.metrics.drilldown import drilldown_lead_ids
from reports.metrics.funnel import (
    COHORT_STATES,
    OUTCOME_GROUPS,
    OUTCOMES,
    Velocity,
    Week,
    cohort_lead_ids,
    cohort_state,
    cohorts,
    entered_lead_ids,
    event_lead_ids,
    left_lead_ids,
    stage_totals,
    velocity,
    weekly_funnel,
)
from reports.metrics.speed import (
    COMPLIANCE_GROUPS,
    Speed,
    clock_lead_ids,
    responded_lead_ids,
    sla_compliance,
    speed_to_lead,
)

__all__ = [
    "ATTRIBUTION_KEYS",
    "COHORT_STATES",
    "COMPLIANCE_GROUPS",
    "HANDOFF_VERSIONS",
    "OUTCOMES",
    "OUTCOME_GROUPS",
    "REACHED",
    "Speed",
    "Velocity",
    "Week",
    "attribution",
    "by_mql_definition",
    "clock_lead_ids",
    "cohort_lead_ids",
    "cohort_state",
    "cohorts",
    "drilldown_lead_ids",
    "entered_lead_ids",
    "event_lead_ids",
    "events_in",
    "handed_off_lead_ids",
    "last_weeks",
    "left_lead_ids",
    "median",
    "moves_in",
    "p90",
    "ranked",
    "reached_lead_ids",
    "rejection_reasons",
    "responded_lead_ids",
    "rolled_up",
    "scoped",
    "sla_compliance",
    "speed_to_lead",
    "stage_totals",
    "velocity",
    "week_key",
    "weekly_funnel",
    "weeks_between",
]

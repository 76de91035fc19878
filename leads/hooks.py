"""What the funnel's pages ask of the apps above them (see `smarketing.core.hooks`).

Every figure on the dashboard links to the lead list with a drill-down that lists exactly
the leads behind it. The list and its filters live here; what "behind a figure" means is
the report's definition, kept beside the figure in `reports.metrics`, which connects it
in its `AppConfig.ready()`.
"""

from smarketing.core.hooks import hook

drilldown_lead_ids = hook(
    "leads.drilldown_lead_ids",
    "The ids of the leads behind a report figure, as a subquery: `drill` names the figure "
    "(entered, cohort, outcome, left, responded, reached, sla, handed_off, handed_off_agreement), "
    "`value` its value, `first`/`last` the weeks, `extra` its other parameters (reason, "
    "clock owner or team).",
    single=True,
)

"""The weekly funnel dashboard as data: tables of figures, each cell with its drill-down.

One builder serves the HTML page, the JSON endpoint and the CSV export, so the three can
only agree. A table is columns (key, label, kind) and rows (a plain value per column:
int, float, Decimal, date or text — what JSON and CSV carry); `links` holds, per row, the
lead-list parameters of the leads behind each linked count. The dashboard's scope (team,
source, campaign, rep, segment) is applied by the lead list's own FilterSet, and its
parameters are added to every drill-down, so a drill-down lists exactly the leads counted.

Every figure comes from `reports.metrics` (aggregated in the database); building the whole
dashboard runs a fixed number of queries whatever the number of leads, events or weeks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache, partial
from urllib.parse import quote_plus

from django.db.models import Count, QuerySet
from django.http import QueryDict
from django.urls import get_script_prefix, reverse

from leads.filters import CohortState, LeadFilter, end_of_day
from leads.models import Lead, Stage
from leads.selectors import funnel_as_of
from reports import metrics, rollups
from reports.commitments import commitment_weeks
from smarketing.core.weeks import monday_of
from smarketing.org.models import Source

STAGE_LABELS = dict(Stage.choices)
FUNNEL_STAGES = [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.CUSTOMER]
SCOPE_PARAMS = ("team", "source", "campaign", "owner", "segment")


@dataclass
class Column:
    key: str
    label: str
    # text | date | count | percent (a ratio, 0.25 = 25 %) | seconds | days | money | flag
    kind: str = "count"


@dataclass
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)  # per row: column key → drill-down params
    note: str = ""
    empty: str = "Nothing happened in this range."

    def cells(self):
        """Rows as [(column, value, drill-down params or None)] for templates."""
        for row, links in zip(self.rows, self.links, strict=True):
            yield [(column, row.get(column.key), links.get(column.key)) for column in self.columns]


@lru_cache(maxsize=8)
def _lead_list(prefix: str) -> str:
    """The lead list's URL (resolved once per script prefix: a dashboard links ~1,000 cells)."""
    return reverse("lead-list")


@lru_cache(maxsize=4096)
def _quoted(value) -> str:
    """A query-string part, as urlencode writes it (the same few values recur in every cell)."""
    return quote_plus(str(value))


@dataclass
class Scope:
    """The range and filters the dashboard is read for."""

    first: dt.date  # Monday of the first week
    last: dt.date  # Monday of the last week
    params: dict[str, str] = field(default_factory=dict)  # the lead-list filters, as given
    leads: QuerySet[Lead] | None = None  # those filters applied (None: every lead)

    @property
    def weeks(self) -> list[dt.date]:
        return metrics.weeks_between(self.first, self.last)

    def drill_url(self, params: dict) -> str:
        """The lead list filtered to exactly the leads behind a figure, in this scope."""
        query = {**self.params, **{key: value for key, value in params.items() if value is not None}}
        encoded = "&".join(f"{_quoted(key)}={_quoted(value)}" for key, value in query.items())
        return f"{_lead_list(get_script_prefix())}?{encoded}"

    def range_params(self) -> dict:
        return {"week": self.first.isoformat(), "week_to": self.last.isoformat()}


def scope_for(first: dt.date, last: dt.date, params: dict[str, str] | None = None) -> Scope:
    """A scope whose `leads` come from the lead list's FilterSet given the same parameters."""

    params = {key: str(value) for key, value in (params or {}).items() if key in SCOPE_PARAMS and value}
    leads = None
    if params:
        data = QueryDict(mutable=True)
        data.update(params)
        filters = LeadFilter(data, queryset=Lead.objects.live())
        if not filters.is_valid():
            raise ValueError(filters.errors)
        leads = filters.qs
    return Scope(first=monday_of(first), last=monday_of(last), params=params, leads=leads)


def _week(monday: dt.date) -> dict:
    return {"week": monday.isoformat(), "week_to": None}


# --- the tables --------------------------------------------------------------------------------


def funnel_table(scope: Scope) -> Table:
    totals = metrics.stage_totals(scope.first, scope.last, scope.leads)
    table = Table(
        "funnel",
        "Funnel: leads that entered each stage in the range",
        [
            Column("stage", "Stage", "text"),
            Column("leads", "Leads"),
            Column("share", "Of leads entered", "percent"),
        ],
        note="Each lead counts once per stage, however often it entered it in the range.",
    )
    top = totals[Stage.LEAD]
    for stage in [*FUNNEL_STAGES, Stage.DISQUALIFIED]:
        table.rows.append(
            {
                "stage": STAGE_LABELS[stage],
                "leads": totals[stage],
                "share": totals[stage] / top if top else None,
            }
        )
        table.links.append({"leads": {"entered": stage, **scope.range_params()}})
    return table


WEEKLY_COLUMNS = [
    Column("week", "Week", "date"),
    *[Column(stage, STAGE_LABELS[stage]) for stage in [*FUNNEL_STAGES, Stage.DISQUALIFIED]],
    Column("accepted", "Accepted"),
    Column("rejected", "Rejected"),
    Column("won", "Won"),
    Column("lost", "Lost"),
    Column("responses", "Responses (accept + reject)"),
    Column("acceptance_rate", "Acceptance rate", "percent"),
    Column("closes", "Outcomes (win + loss)"),
    Column("win_rate", "Win rate", "percent"),
]


def weekly_table(scope: Scope) -> Table:
    table = Table(
        "weekly",
        "Week by week: stages entered, responses and outcomes",
        WEEKLY_COLUMNS,
        note="Stage columns count leads that entered the stage in the week; accepted, rejected, won and "
        "lost count the leads it happened to. The rates count responses and outcomes, as DESIGN.md "
        "defines them: a lead rejected twice in a week is one lead and two responses.",
    )
    for week in metrics.weekly_funnel(scope.weeks, scope.leads):
        row = {"week": week.monday, **week.entered, **week.outcome_leads}
        row["responses"] = week.outcomes["accepted"] + week.outcomes["rejected"]
        row["closes"] = week.outcomes["won"] + week.outcomes["lost"]
        row.update(acceptance_rate=week.acceptance_rate, win_rate=week.win_rate)
        table.rows.append(row)
        links = {stage: {"entered": stage, **_week(week.monday)} for stage in week.entered}
        links.update({name: {"outcome": name, **_week(week.monday)} for name in metrics.OUTCOMES})
        table.links.append(links)
    return table


def speed_table(scope: Scope) -> Table:
    table = Table(
        "speed",
        "Speed to lead (business time from hand-off to first response)",
        [
            Column("week", "Week", "date"),
            Column("responses", "Responses"),
            Column("leads", "Leads"),
            Column("median_seconds", "Median", "seconds"),
            Column("p90_seconds", "90th percentile", "seconds"),
        ],
    )
    for speed in metrics.speed_to_lead(scope.weeks, scope.leads):
        table.rows.append(
            {
                "week": speed.monday,
                "responses": speed.responses,
                "leads": speed.leads,
                "median_seconds": speed.median_seconds,
                "p90_seconds": speed.p90_seconds,
            }
        )
        table.links.append({"leads": {"responded": "true", **_week(speed.monday)}})
    return table


SLA_COLUMNS = [
    Column("resolved", "Clocks resolved"),
    Column("met", "Met on time"),
    Column("breached", "Breached"),
    Column("compliance", "Compliance", "percent"),
    Column("leads", "Leads"),
]


SLA_BY = {
    "week": ("SLA compliance per week", Column("name", "Week", "date"), None),
    "owner": ("SLA compliance per rep", Column("name", "Rep", "text"), "clock_owner"),
    "team": ("SLA compliance per team", Column("name", "Team", "text"), "clock_team"),
}


def sla_table(scope: Scope, by: str) -> Table:
    title, first_column, owner_param = SLA_BY[by]
    table = Table(
        f"sla-{by}",
        title,
        [first_column, *SLA_COLUMNS],
        note="Clocks resolved in the range: met on time (when met) or breached (at the due time, "
        "however late the breach was detected); compliance = met on time ÷ resolved."
        if by == "week"
        else "",
        empty="No SLA clock was resolved in this range.",
    )
    for row in metrics.sla_compliance(scope.first, scope.last, by=by, leads=scope.leads):
        params = {"sla": "resolved"}
        if by == "week":
            row["name"] = row["key"]
            params.update(_week(row["key"]))
        else:
            params.update(scope.range_params())
            if row["key"] is not None:
                params[owner_param] = row["key"]
        table.rows.append({column.key: row[column.key] for column in table.columns})
        table.links.append({"leads": params})
    return table


def commitment_table(scope: Scope) -> Table:
    """Marketing's weekly commitment per marketing team: each week of the range judged by the
    terms in force at its start. A finished week is kept or missed (from the event log the
    moment it ends, the recorded figures once recorded, with today's beside them where they
    differ); this week shows its pace, on track or behind — not a verdict."""

    table = Table(
        "commitment",
        "Marketing's commitment: target against actual",
        [
            Column("team", "Team", "text"),
            Column("week", "Week", "date"),
            Column("min_mqls", "MQLs agreed"),
            Column("mqls", "MQLs handed off"),
            Column("mqls_due", "MQLs due by now"),
            Column("min_acceptance", "Acceptance agreed", "percent"),
            Column("acceptance", "Acceptance", "percent"),
            Column("status", "Status", "text"),
            Column("met", "Kept", "flag"),
            Column("recorded", "Recorded on", "date"),
            Column("mqls_now", "MQLs now (late data)"),
            Column("acceptance_now", "Acceptance now (late data)", "percent"),
        ],
        note="Per marketing team, whatever the filters: MQLs its members handed off and sales' "
        "responses to them. Each week is judged by the commitment in force when it began. A "
        "finished week is kept or missed as soon as it ends; once recorded, its recorded figures "
        "are shown, and today's beside them if they changed since (late data). This week is "
        "not judged yet: on track while its MQLs reach the target prorated by the share of the "
        "week's business time gone by (MQLs due by now, the team's calendar) and its acceptance "
        "so far meets the target; behind otherwise.",
        empty="No week in this range is judged: a week is judged by the commitment in force "
        "when it begins (Agreement → SLA).",
    )
    for week in commitment_weeks(scope.first, scope.last):
        late = week.now
        table.rows.append(
            {
                "team": week.team.name,
                "week": week.week_start,
                "min_mqls": week.min_mqls,
                "mqls": week.mqls,
                "mqls_due": week.mqls_due,
                "min_acceptance": week.min_acceptance_percent / 100,
                "acceptance": week.figures.acceptance,
                "status": week.status,
                "met": week.met,
                "recorded": week.recorded_on,
                "mqls_now": late.mqls if late else None,
                "acceptance_now": late.acceptance if late else None,
            }
        )
        table.links.append({})
    return table


def velocity_table(scope: Scope) -> Table:
    table = Table(
        "velocity",
        "Velocity: median days in each stage, for leads that left it in the range",
        [
            Column("stage", "Stage", "text"),
            Column("leads", "Leads that left it"),
            Column("median_days", "Median days", "days"),
        ],
        note="Each lead counts once per stage: its last stay there that ended in the range.",
    )
    for stage, figure in metrics.velocity(scope.first, scope.last, scope.leads).items():
        if stage == Stage.CUSTOMER and not figure.leads:
            continue  # customers rarely leave: no empty row for them
        table.rows.append(
            {
                "stage": STAGE_LABELS[stage],
                "leads": figure.leads,
                "median_days": figure.median_days,
            }
        )
        table.links.append({"leads": {"left": stage, **scope.range_params()}})
    return table


# The cohort's columns: where each of those leads is now (metrics.cohort_state), each lead
# in exactly one, so they add up to "Entered MQL".
COHORT_COLUMNS = dict(CohortState.CHOICES)


def cohort_table(scope: Scope) -> Table:
    table = Table(
        "cohorts",
        "Cohort conversion by MQL week: where those MQLs are now",
        [
            Column("week", "MQL week", "date"),
            Column("mqls", "Entered MQL"),
            *[Column(key, label) for key, label in COHORT_COLUMNS.items()],
            Column("converted", "Now SQL or customer", "percent"),
        ],
        note="Sent back: rejected or returned by sales, now with marketing. Lost: lost after "
        "acceptance, recycled to nurture or disqualified by the loss. Disqualified: any other way.",
    )
    for monday, counts in metrics.cohorts(scope.weeks, scope.leads).items():
        total = sum(counts.values())
        converted = counts["sql"] + counts["customer"]
        table.rows.append(
            {"week": monday, "mqls": total, **counts, "converted": converted / total if total else None}
        )
        links = {"mqls": {"entered": Stage.MQL, **_week(monday)}}
        links.update({key: {"cohort": key, **_week(monday)} for key in COHORT_COLUMNS})
        table.links.append(links)
    return table


def pareto_table(scope: Scope) -> Table:
    """The rejection reasons, most first, with the cumulative share."""
    table = Table(
        "rejections",
        "Rejection reasons (Pareto)",
        [
            Column("reason", "Reason", "text"),
            Column("rejections", "Rejections"),
            Column("leads", "Leads"),
            Column("share", "Share", "percent"),
            Column("cumulative", "Cumulative share", "percent"),
        ],
        note="Rejections made in the range; a lead rejected twice for the same reason is one lead.",
        empty="Sales rejected no MQL in this range.",
    )
    for row in metrics.rejection_reasons(scope.first, scope.last, leads=scope.leads):
        table.rows.append({"reason": row["reason_label"], **{c.key: row[c.key] for c in table.columns[1:]}})
        table.links.append(
            {"leads": {"outcome": "rejected", "reason": row["reason_key"], **scope.range_params()}}
        )
    return table


def rejection_matrix(scope: Scope, by: str) -> Table:
    """The same reasons across sources or campaigns: a row per source or campaign, a column
    per reason in Pareto order (most rejections first)."""

    sources = dict(Source.choices)
    rows: dict = {}
    totals: dict = {}
    for row in metrics.rejection_reasons(scope.first, scope.last, by=by, leads=scope.leads):
        key = row["by_key"] if row["by_key"] is not None else "null"
        if key not in rows:
            name = sources.get(row["by"], row["by"]) if by == "source" else row["by"] or "No campaign"
            rows[key] = ({"name": name, "rejections": 0}, {})
        values, links = rows[key]
        column = f"reason_{row['reason_key']}"
        values["rejections"] += row["rejections"]
        values[column] = row["leads"]
        links[column] = {"outcome": "rejected", "reason": row["reason_key"], by: key, **scope.range_params()}
        label, total = totals.get(column, (row["reason_label"], 0))
        totals[column] = (label, total + row["rejections"])
    order = sorted(totals.items(), key=lambda item: (-item[1][1], item[1][0]))
    table = Table(
        f"rejections-{by}",
        f"Rejections by {by}",
        [
            Column("name", by.capitalize(), "text"),
            Column("rejections", "Rejections"),
            *[Column(column, label) for column, (label, _) in order],
        ],
        note="Each reason's column counts the leads rejected for it (linked); Rejections counts every rejection.",
        empty="Sales rejected no MQL in this range.",
    )
    for values, links in sorted(rows.values(), key=lambda pair: (-pair[0]["rejections"], pair[0]["name"])):
        table.rows.append(values)
        table.links.append(links)
    return table


DEFINITION_BY = {
    "mql-definition": (
        "scoring_version",
        "mql_version",
        "Acceptance by MQL definition (the scoring version each hand-off was made under)",
        "Scoring version",
    ),
    "agreement-version": (
        "agreement_version",
        "agreement_version",
        "Acceptance by agreement version (the version in force at each hand-off)",
        "Agreement version",
    ),
}


def definition_table(scope: Scope, slug: str = "mql-definition") -> Table:
    """Did a new MQL definition (or agreement version) raise acceptance? Hand-offs per version."""
    by, param, title, label = DEFINITION_BY[slug]
    table = Table(
        slug,
        title,
        [
            Column("definition", label, "text"),
            Column("handoffs", "Hand-offs"),
            Column("leads", "Leads"),
            Column("accepted", "Accepted"),
            Column("rejected", "Rejected"),
            Column("waiting", "Not answered yet"),
            Column("acceptance_rate", "Acceptance rate", "percent"),
        ],
        note="Hand-offs made in the range and sales' answer to each (accepted, rejected, or none yet).",
        empty="No MQL was handed off in this range.",
    )
    for row in metrics.by_mql_definition(scope.first, scope.last, scope.leads, by):
        version = row.pop("definition")
        table.rows.append(
            {
                "definition": f"Version {version}" if version is not None else "Before versions were kept",
                **row,
            }
        )
        table.links.append({"leads": {param: version, **scope.range_params()}} if version is not None else {})
    return table


ATTRIBUTION_BY = {
    "source": ("Closed loop by source (first touch)", "source"),
    "campaign": ("Closed loop by campaign (first touch)", "campaign"),
    "referrer": ("Closed loop by referrer", "referrer"),
}
REACHED_COUNTS = (("leads", "lead"), ("mqls", "mql"), ("sqls", "sql"), ("customers", "customer"))


def attribution_table(scope: Scope, by: str) -> Table:

    title, param = ATTRIBUTION_BY[by]
    columns = [
        Column("name", by.capitalize(), "text"),
        Column("leads", "Leads"),
        Column("mqls", "MQLs"),
        Column("sqls", "SQLs"),
        Column("customers", "Customers"),
        Column("revenue", "Revenue", "money"),
    ]
    if by == "campaign":
        columns += [
            Column("cost", "Cost", "money"),
            Column("cost_per_customer", "Cost per customer", "money"),
            Column("roi", "ROI", "percent"),
        ]
    table = Table(
        f"attribution-{by}",
        title,
        columns,
        note="Leads created in the range, and what they ever became; revenue is what their wins "
        "brought. ROI = (revenue − cost) ÷ cost."
        if by == "campaign"
        else "",
        empty="No lead was created in this range." if by != "referrer" else "No referred lead in this range.",
    )
    sources = dict(Source.choices)
    for row in metrics.attribution(scope.first, scope.last, by=by, leads=scope.leads):
        values = dict(row)
        if values.get("roi") is not None:
            values["roi"] = float(values["roi"])
        if by == "source":
            values["name"] = sources.get(row["key"], row["key"])
        elif by == "campaign" and row["key"] is None:
            values["name"] = "No campaign"
        key = row["key"] if row["key"] is not None else "null"
        table.rows.append({column.key: values.get(column.key) for column in table.columns})
        table.links.append(
            {
                count: {"reached": reached, param: key, **scope.range_params()}
                for count, reached in REACHED_COUNTS
            }
        )
    return table


def as_of_table(day: dt.date, scope: Scope) -> Table:
    """Each stage's leads at the end of `day`, rebuilt from the event log, beside today's."""

    then = funnel_as_of(end_of_day(day), scope.leads)
    now = dict.fromkeys(Stage.values, 0)
    live = Lead.objects.live() if scope.leads is None else scope.leads
    now.update(live.order_by().values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    table = Table(
        "funnel-as-of",
        f"Funnel at the end of {day:%d %b %Y}, and now",
        [
            Column("stage", "Stage", "text"),
            Column("then", f"{day:%d %b %Y}"),
            Column("now", "Now"),
            Column("change", "Change"),
        ],
        note="Each lead's stage then is read from its events (the last one at or before that day's end).",
    )
    for stage in [*FUNNEL_STAGES, Stage.DISQUALIFIED]:
        table.rows.append(
            {
                "stage": STAGE_LABELS[stage],
                "then": then[stage],
                "now": now[stage],
                "change": now[stage] - then[stage],
            }
        )
        table.links.append({"then": {"as_of": day.isoformat(), "stage_then": stage}, "now": {"stage": stage}})
    return table


# Every table of the dashboard by slug, in page order (the API's order too).
TABLES: dict[str, Callable[[Scope], Table]] = {
    "funnel": funnel_table,
    "weekly": weekly_table,
    "speed": speed_table,
    **{f"sla-{by}": partial(sla_table, by=by) for by in SLA_BY},
    "commitment": commitment_table,
    "velocity": velocity_table,
    "cohorts": cohort_table,
    "rejections": pareto_table,
    "rejections-source": partial(rejection_matrix, by="source"),
    "rejections-campaign": partial(rejection_matrix, by="campaign"),
    "mql-definition": definition_table,
    "agreement-version": partial(definition_table, slug="agreement-version"),
    **{f"attribution-{by}": partial(attribution_table, by=by) for by in ATTRIBUTION_BY},
}


def build(scope: Scope, only: Iterable[str] | None = None) -> dict[str, Table]:
    """The dashboard's tables by slug, in page order: all of them, or `only` those named."""
    wanted = None if only is None else set(only)
    with rollups.reading():
        return {slug: make(scope) for slug, make in TABLES.items() if wanted is None or slug in wanted}


# --- plain values: what JSON and CSV carry -------------------------------------------------------


def plain(value):
    """A cell's value for JSON and CSV: dates in ISO form, money as a 2-place string,
    ratios and days to 4 places; None stays None (empty in CSV)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, float):
        return round(value, 4)
    return value


def table_data(table: Table, scope: Scope) -> dict:
    """A table as the API gives it (and the CSV carries): plain values, drill-down URLs."""
    return {
        "slug": table.slug,
        "title": table.title,
        "note": table.note,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in table.columns],
        "rows": [{key: plain(value) for key, value in row.items()} for row in table.rows],
        "links": [{key: scope.drill_url(params) for key, params in links.items()} for links in table.links],
    }


def csv_rows(table: Table):
    """The header (column labels) and one list of plain values per row."""
    yield [column.label for column in table.columns]
    for row in table.rows:
        yield ["" if (value := plain(row.get(column.key))) is None else value for column in table.columns]

"""The weekly funnel dashboard, its exports (each table as CSV and as Excel .xlsx) and the
funnel as of a date.

Readable by the people who meet over it: managers, marketers and sales reps (and admins).
Every figure comes from `reports.dashboard`; this module only formats and draws it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape  # Django's escape, without its lazy-string wrapper (thousands of calls)
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from reports import charts, commitments, dashboard
from reports.forms import AsOfForm, DashboardForm, GoalForm
from reports.goal import GoalError, measure, plan
from reports.models import MarketingCommitment
from reports.selectors import compliance_by
from reports.snapshots import PER_WEEK, late_data_table
from sla import selectors
from smarketing.agreement import versions
from smarketing.core import formats
from smarketing.core.csvs import csv_download, csv_lines
from smarketing.core.errors import ActionError
from smarketing.core.inputs import date_in, optional, whole_number_in
from smarketing.core.sheets import xlsx_download
from smarketing.org.models import Team, TeamKind
from smarketing.org.roles import Role, can_edit_agreement, has_role, is_admin

# --- the manager's SLA page -----------------------------------------------------------------

FINISHED_WEEKS = 16  # marketing's finished weeks listed on the SLA page


@login_required
def sla_overview(request):
    """Clocks at risk now, this week's breaches by rep and policy, and both sides' scoreboard."""
    if not (has_role(request.user, Role.MANAGER) or is_admin(request.user)):
        return render(
            request,
            "core/refused.html",
            {"message": "The SLA page is for managers. Your own deadlines are on your home page."},
            status=403,
        )
    try:
        monday = optional(date_in, request.GET.get("week"), name="week") or commitments.week_start()
    except ActionError as exc:
        messages.error(request, f"{exc.message} Showing this week.")
        monday = commitments.week_start()
    monday -= dt.timedelta(days=monday.weekday())
    this_week = commitments.week_start()
    # Marketing's side: the week shown and the last finished weeks, each judged by the terms
    # in force at its start (one read of the commitment's weeks for both).
    since = this_week - dt.timedelta(weeks=FINISHED_WEEKS)
    weeks = commitments.commitment_weeks(min(monday, since), this_week)
    context = {
        "monday": monday,
        "previous": monday - dt.timedelta(days=7),
        "next": monday + dt.timedelta(days=7) if monday < this_week else None,
        "at_risk": selectors.at_risk()[:100],
        "breaches": selectors.breaches(monday)[:100],
        "by_rep": compliance_by("owner", monday),
        "by_team": compliance_by("team", monday),
        "by_policy": compliance_by("policy", monday),
        "marketing": [week for week in weeks if week.week_start == monday],
        "can_edit": can_edit_agreement(request.user),
        "marketing_teams": Team.objects.filter(kind="marketing").select_related("commitment"),
        "finished": sorted(
            (week for week in weeks if week.finished and week.week_start >= since),
            key=lambda week: (-week.week_start.toordinal(), week.team.name),
        ),
    }
    return render(request, "reports/sla_overview.html", context)


@require_POST
@login_required
def commitment_save(request, team_id: int):
    def whole(name: str) -> int:
        # Anything but a whole number is refused by the agreement's own check, with its message.
        try:
            return whole_number_in(request.POST.get(name), name=name, maximum=10**9)
        except ActionError:
            return -1

    try:
        version = versions.agreement_propose(
            actor=request.user,
            op="commitment_update",
            team_id=team_id,
            min_mqls=whole("min_mqls"),
            min_acceptance_percent=whole("min_acceptance_percent"),
            is_active=request.POST.get("is_active") == "on",
        )
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, versions.proposed_message(version))
    # The revenue-goal page proposes from its result and comes back to it.
    return redirect("agreement-goal" if request.POST.get("back") == "goal" else "sla-overview")


READERS = (Role.MANAGER, Role.MARKETER, Role.SALES_REP)


def can_read_reports(user) -> bool:
    return user.is_authenticated and (has_role(user, *READERS) or is_admin(user))


def _refused(request):
    return render(
        request,
        "core/refused.html",
        {"message": "The funnel dashboard is for marketing, sales and their managers."},
        status=403,
    )


# --- formatting: what a person reads (JSON and CSV carry dashboard.plain values) -------------


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{round(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} m" if hours else f"{minutes} m"


def _percent(ratio: float) -> str:
    return formats.percent(ratio)


def display(kind: str, value) -> str:
    if value is None:
        return "—"
    if kind == "count":
        return formats.number(value)
    if kind == "percent":
        return _percent(value)
    if kind == "seconds":
        return _duration(value)
    if kind == "days":
        return f"{value * 24:.1f} h" if value < 1 else f"{value:.1f} d"
    if kind == "money":
        return formats.money(value)
    if kind == "date":
        return formats.day(value)
    if kind == "flag":
        return "✓ kept" if value else "✗ missed"
    return str(value)


def rendered(table: dashboard.Table, scope: dashboard.Scope) -> dict:
    """A table ready for the template: each cell's text, plain value and drill-down URL,
    and the rows as HTML (built here: a template loop over a few thousand cells was most of
    the page's time)."""
    rows = [
        [
            {
                "text": display(column.kind, value),
                "plain": dashboard.plain(value),
                "url": scope.drill_url(params) if params is not None else None,
                "numeric": column.kind not in ("text", "date", "flag"),
                "column": column,
            }
            for column, value, params in cells
        ]
        for cells in table.cells()
    ]
    return {"table": table, "rows": rows, "body": _body(rows)}


def _body(rows: list[list[dict]]) -> str:
    """<tr>s of the cells: a row header, then data cells; linked counts open their leads."""
    html = []
    for row in rows:
        html.append("<tr>")
        for position, cell in enumerate(row):
            plain = "" if cell["plain"] is None else escape(str(cell["plain"]))
            attributes = f'data-key="{escape(cell["column"].key)}" data-value="{plain}"'
            text = escape(cell["text"])
            if cell["url"]:
                text = f'<a href="{escape(cell["url"])}" title="Show these leads">{text}</a>'
            if position == 0:
                html.append(f'<th scope="row" {attributes}>{text}</th>')
            else:
                numeric = ' class="num"' if cell["numeric"] else ""
                html.append(f"<td {attributes}{numeric}>{text}</td>")
        html.append("</tr>")
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


# --- charts -----------------------------------------------------------------------------------


def _week_label(monday) -> str:
    return f"{monday:%d %b}"


def _pct(rows, key):
    return [None if row[key] is None else round(row[key] * 100, 1) for row in rows]


def _hours(rows, key):
    return [None if row[key] is None else round(row[key] / 3600, 2) for row in rows]


def draw(tables: dict[str, dashboard.Table], scope: dashboard.Scope) -> dict[str, list]:
    """The charts drawn beside their tables, by table slug."""
    funnel, weekly, speed = tables["funnel"], tables["weekly"], tables["speed"]
    weeks = [_week_label(row["week"]) for row in weekly.rows]
    percent = "{:g} %".format
    hours = "{:g} h".format
    sla_week, sla_rep, pareto = tables["sla-week"], tables["sla-owner"], tables["rejections"]
    revenue = tables["attribution-source"]
    return {
        "funnel": [
            charts.bar_chart(
                title="Funnel: leads that entered each stage",
                labels=[row["stage"] for row in funnel.rows],
                values=[row["leads"] for row in funnel.rows],
                links=[scope.drill_url(links["leads"]) for links in funnel.links],
                horizontal=True,
            )
        ],
        "weekly": [
            charts.line_chart(
                title="Leads entering each stage, week by week",
                labels=weeks,
                series=[
                    (dashboard.STAGE_LABELS[s], [row[s] for row in weekly.rows])
                    for s in dashboard.FUNNEL_STAGES
                ],
            ),
            charts.line_chart(
                title="Acceptance rate and win rate",
                labels=weeks,
                series=[
                    ("Acceptance rate", _pct(weekly.rows, "acceptance_rate")),
                    ("Win rate", _pct(weekly.rows, "win_rate")),
                ],
                value_format=percent,
                y_max=100,
            ),
        ],
        "speed": [
            charts.line_chart(
                title="Speed to lead, business hours",
                labels=[_week_label(row["week"]) for row in speed.rows],
                series=[
                    ("Median", _hours(speed.rows, "median_seconds")),
                    ("90th percentile", _hours(speed.rows, "p90_seconds")),
                ],
                value_format=hours,
            )
        ],
        "sla-week": [
            charts.bar_chart(
                title="SLA compliance per week",
                labels=[_week_label(row["name"]) for row in sla_week.rows],
                values=_pct(sla_week.rows, "compliance"),
                value_format=percent,
                links=[scope.drill_url(links["leads"]) for links in sla_week.links],
            )
        ],
        "sla-owner": [
            charts.bar_chart(
                title="SLA compliance per rep",
                labels=[row["name"] for row in sla_rep.rows],
                values=_pct(sla_rep.rows, "compliance"),
                value_format=percent,
                links=[scope.drill_url(links["leads"]) for links in sla_rep.links],
                horizontal=True,
            )
        ],
        "rejections": [
            charts.pareto_chart(
                title="Rejection reasons (Pareto)",
                labels=[row["reason"] for row in pareto.rows],
                values=[row["rejections"] for row in pareto.rows],
                cumulative=[row["cumulative"] for row in pareto.rows],
                links=[scope.drill_url(links["leads"]) for links in pareto.links],
            )
        ],
        "attribution-source": [
            charts.bar_chart(
                title="Revenue by source",
                labels=[row["name"] for row in revenue.rows],
                values=[float(row["revenue"]) for row in revenue.rows],
                value_format=lambda value: formats.money(round(value)),
                horizontal=True,
            )
        ],
    }


SECTIONS = [
    ("Where the funnel stands", ["funnel", "weekly"]),
    ("How fast sales responded", ["speed"]),
    ("Did both sides keep the agreement", ["sla-week", "sla-owner", "sla-team", "commitment"]),
    (
        "Why MQLs were rejected",
        ["rejections", "rejections-source", "rejections-campaign", "mql-definition", "agreement-version"],
    ),
    (
        "What made money: the closed loop",
        ["attribution-source", "attribution-campaign", "attribution-referrer"],
    ),
    ("How leads move", ["velocity", "cohorts"]),
    ("Late data", ["late-data"]),
]


def all_tables(scope: dashboard.Scope, only: set[str] | None = None) -> dict[str, dashboard.Table]:
    """The dashboard's tables, with late data (built from the per-week tables): all of them,
    or `only` those named (a CSV export or the API builds just what it returns)."""

    needed = None if only is None else (only | set(PER_WEEK) if "late-data" in only else only)
    tables = dashboard.build(scope, needed)
    if only is None or "late-data" in only:
        tables["late-data"] = late_data_table(scope, tables)
    return tables if only is None else {slug: table for slug, table in tables.items() if slug in only}


@login_required
def dashboard_page(request):
    """The weekly funnel dashboard: the managers' landing page and the weekly meeting's agenda."""
    if not can_read_reports(request.user):
        return _refused(request)
    form = DashboardForm(request.GET)
    context = {"form": form, "sections": []}
    if not form.is_valid():
        return render(request, "reports/dashboard.html", context, status=400)
    scope = form.scope()
    tables = all_tables(scope)
    drawn = draw(tables, scope)
    query = form.range_query()
    context.update(scope=scope, weeks=len(scope.weeks), query=query)
    for title, slugs in SECTIONS:
        context["sections"].append(
            {
                "title": title,
                "tables": [
                    {
                        **rendered(tables[slug], scope),
                        "charts": drawn.get(slug, []),
                        "csv_url": f"{reverse('dashboard-csv', args=[slug])}?{urlencode(query)}",
                        "xlsx_url": f"{reverse('dashboard-xlsx', args=[slug])}?{urlencode(query)}",
                    }
                    for slug in slugs
                ],
            }
        )
    return render(request, "reports/dashboard.html", context)


def _sheet_value(value):
    """A cell of the .xlsx: what `dashboard.plain` gives JSON and CSV, except that dates
    stay dates and money a number (2 places), so that a spreadsheet sorts and sums them."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return dashboard.plain(value)


def _sheet_rows(table: dashboard.Table):
    """The header (column labels) and one list of cells per row: the CSV's, typed."""
    yield [column.label for column in table.columns]
    for row in table.rows:
        yield [_sheet_value(row.get(column.key)) for column in table.columns]


def _download(table: dashboard.Table, name: str, fmt: str):
    """One table as `name`.csv (the plain values JSON carries) or `name`.xlsx."""
    if fmt == "xlsx":
        return xlsx_download(_sheet_rows(table), f"{name}.xlsx", title=table.title)
    return csv_download(csv_lines(dashboard.csv_rows(table)), f"{name}.csv")


@login_required
def dashboard_export(request, slug: str, fmt: str = "csv"):
    """One dashboard table as CSV, or as an Excel workbook (`fmt` "xlsx", the address
    ending in .xlsx), for the same range and filters; for those who read the reports."""
    if not can_read_reports(request.user):
        return _refused(request)
    form = DashboardForm(request.GET)
    if not form.is_valid():
        return render(request, "reports/dashboard.html", {"form": form, "sections": []}, status=400)
    scope = form.scope()
    tables = all_tables(scope, only={slug})
    if slug not in tables:
        raise Http404("No such report table.")
    return _download(tables[slug], f"smarketing-{slug}-{scope.first}-{scope.last}", fmt)


def _as_of(request):
    form, filters = AsOfForm(request.GET), DashboardForm(request.GET)
    if not (form.is_valid() and filters.is_valid()):
        return form, filters, None, None
    scope = filters.scope()
    return form, filters, scope, dashboard.as_of_table(form.cleaned_data["as_of"], scope)


@login_required
def funnel_as_of_page(request):
    """The funnel as it stood at the end of any day, rebuilt from the event log."""
    if not can_read_reports(request.user):
        return _refused(request)
    form, filters, scope, table = _as_of(request)
    context = {"form": form, "filters": filters}
    if table is None:
        return render(request, "reports/funnel_as_of.html", context, status=400)
    day = form.cleaned_data["as_of"]
    chart = charts.grouped_bar_chart(
        title=table.title,
        labels=[row["stage"] for row in table.rows],
        series=[
            (f"{day:%d %b %Y}", [row["then"] for row in table.rows]),
            ("Now", [row["now"] for row in table.rows]),
        ],
    )
    query = {**filters.range_query(), "as_of": day.isoformat()}
    context.update(
        table={**rendered(table, scope), "charts": [chart]},
        day=day,
        csv_url=f"{reverse('funnel-as-of-csv')}?{urlencode(query)}",
        xlsx_url=f"{reverse('funnel-as-of-xlsx')}?{urlencode(query)}",
    )
    return render(request, "reports/funnel_as_of.html", context)


@login_required
def funnel_as_of_export(request, fmt: str = "csv"):
    """The funnel as of a date as CSV, or as an Excel workbook (`fmt` "xlsx")."""
    if not can_read_reports(request.user):
        return _refused(request)
    form, filters, scope, table = _as_of(request)
    if table is None:
        return render(request, "reports/funnel_as_of.html", {"form": form, "filters": filters}, status=400)
    return _download(table, f"smarketing-funnel-as-of-{form.cleaned_data['as_of']}", fmt)


@login_required
def goal_page(request):
    """Work back from a revenue target to the leads, MQLs and SQLs needed per week, with the
    conversion rates measured in the event log (and their sample sizes)."""

    if not can_read_reports(request.user):
        return _refused(request)
    form = GoalForm(request.GET or None, initial={"weeks": 13, "window": 12})
    context = {"form": form}
    status = 200
    if form.is_bound and form.is_valid():
        first, last = form.window_weeks()
        measured = measure(first, last)
        context["measured"] = measured
        try:
            context["plan"] = plan(
                target=form.cleaned_data["target"],
                weeks=form.cleaned_data["weeks"],
                measured=measured,
                average_deal=form.cleaned_data["average_deal"],
            )
        except GoalError as exc:
            form.add_error(None, str(exc))
            status = 400
        context["rates"] = [
            {
                **vars(rate),
                "value": rate.value,
                "percent": _percent(rate.value) if rate.value is not None else None,
            }
            for rate in (measured.lead_to_mql, measured.acceptance, measured.win)
        ]
        if "plan" in context:
            context["mqls_per_week"] = context["plan"].step("mqls").per_week
        if "plan" in context and can_edit_agreement(request.user):
            current = {c.team_id: c for c in MarketingCommitment.objects.filter(is_active=True)}
            context["teams"] = [
                (team, current.get(team.pk))
                for team in Team.objects.filter(kind=TeamKind.MARKETING).order_by("name")
            ]
    elif form.is_bound:
        status = 400
    return render(request, "reports/goal.html", context, status=status)

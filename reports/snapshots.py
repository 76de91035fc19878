"""Frozen weeks: each finished week's figures as they stood when it ended, and what changed since.

The dashboard recomputes every week from the event log, so last week's numbers can move after
the meeting that discussed them: a duplicate merged away, a lead record corrected, an event
recorded late. Right after a week ends, the hourly beat job stores that week's row of the four
per-week tables (`weekly`, `speed`, `sla-week`, `cohorts`) in the plain form JSON and CSV carry
(`dashboard.plain`). The *late data* table then holds each frozen week against the dashboard
as it is built now, without computing anything again.

Cohort columns other than "Entered MQL" say where the week's MQLs are *now*: they move by
design as those leads progress, so they are frozen (what the meeting saw) but not compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from leads.models import Lead
from reports import dashboard
from reports.dashboard import Column, Scope, Table
from reports.models import WeekSnapshot
from smarketing.core.weeks import monday_of

WEEKS_BACK = 8  # how far back a late run still freezes finished weeks
# The per-week tables, in page order, by slug: the column holding the week's Monday.
PER_WEEK = {"weekly": "week", "speed": "week", "sla-week": "name", "cohorts": "week"}
COMPARED_KINDS = ("count", "percent", "seconds")
NOT_COMPARED = {"cohorts": {*dashboard.COHORT_COLUMNS, "converted"}}  # "where they are now"
VALUE_COLUMNS = ("frozen", "now", "difference")


def per_week_tables(scope: Scope) -> dict[str, Table]:
    """The four per-week tables of the dashboard for `scope`, by slug."""
    return dashboard.build(scope, PER_WEEK)


def _rows_by_week(table: Table) -> dict[dt.date, dict]:
    key = PER_WEEK[table.slug]
    return {row[key]: row for row in table.rows}


def _week_row(table: Table, rows: dict[dt.date, dict], monday: dt.date) -> dict:
    """The table's row for the week; a week the table has no row for (no SLA clock resolved)
    reads as zero counts and no rate."""
    if monday in rows:
        return rows[monday]
    key = PER_WEEK[table.slug]
    return {
        column.key: monday if column.key == key else (0 if column.kind == "count" else None)
        for column in table.columns
    }


def week_figures(tables: dict[str, Table], monday: dt.date) -> dict[str, dict]:
    """{slug: {column key: plain value}}: the week's row of each per-week table."""
    figures = {}
    for slug in PER_WEEK:
        table = tables[slug]
        row = _week_row(table, _rows_by_week(table), monday)
        figures[slug] = {str(column.key): dashboard.plain(row.get(column.key)) for column in table.columns}
    return figures


def freeze_finished_weeks(*, now: dt.datetime | None = None) -> int:
    """Freeze every finished week not frozen yet, up to WEEKS_BACK back and none from before
    the first lead; the unique week makes a second run or a second beat store nothing twice.
    One build of the per-week tables covers every week due. Returns how many were frozen."""
    current = monday_of(now or timezone.now())
    first_lead = Lead.objects.aggregate(first=Min("created_at"))["first"]
    if first_lead is None:
        return 0
    earliest = max(current - dt.timedelta(weeks=WEEKS_BACK), monday_of(first_lead))
    frozen = set(
        WeekSnapshot.objects.filter(week_start__gte=earliest, week_start__lt=current).values_list(
            "week_start", flat=True
        )
    )
    due = [
        earliest + dt.timedelta(weeks=n)
        for n in range((current - earliest).days // 7)
        if earliest + dt.timedelta(weeks=n) not in frozen
    ]
    if not due:
        return 0
    tables = per_week_tables(dashboard.scope_for(due[0], due[-1]))
    stored = 0
    for monday in due:
        try:
            with transaction.atomic():
                WeekSnapshot.objects.create(week_start=monday, figures=week_figures(tables, monday))
        except IntegrityError:
            continue  # frozen already (another run, another beat)
        stored += 1
    return stored


@dataclass
class LateDataTable(Table):
    """One row per figure that changed, so the kind of its frozen, now and difference cells
    is the row's own (`kind`: count, percent or seconds, as in `Column.kind`), not the
    column's: `cells()` gives templates each of those cells a column of the row's kind. JSON
    and CSV carry the `kind` column beside the values."""

    def cells(self):
        for row, cells in zip(self.rows, super().cells(), strict=True):
            yield [
                (replace(column, kind=row["kind"]) if column.key in VALUE_COLUMNS else column, value, link)
                for column, value, link in cells
            ]


def _difference(frozen, now):
    if frozen is None or now is None:
        return None
    difference = now - frozen
    return round(difference, 4) if isinstance(difference, float) else difference


def late_data_table(scope: Scope, tables: dict[str, Table]) -> Table:
    """Each frozen week of the scope against `tables`, the dashboard already built for it:
    a row per figure whose value changed since the week was frozen. One query."""
    table = LateDataTable(
        "late-data",
        "Late data: frozen at the week's end vs now",
        [
            Column("week", "Week", "date"),
            Column("figure", "Figure", "text"),
            Column("kind", "Unit", "text"),
            Column("frozen", "Frozen at the week's end"),
            Column("now", "Now"),
            Column("difference", "Difference"),
        ],
        empty="Every frozen week still matches today's figures: no late data.",
    )
    if scope.params:
        table.note = (
            "Weeks are frozen for the whole funnel, not per team, source, campaign, rep or segment: "
            "clear the filters to compare them with today's figures."
        )
        return table
    snapshots = list(
        WeekSnapshot.objects.filter(week_start__gte=scope.first, week_start__lte=scope.last).order_by(
            "week_start"
        )
    )
    if not snapshots:
        table.note = (
            "No week in this range is frozen yet: each week is frozen right after it ends, "
            f"up to {WEEKS_BACK} weeks back."
        )
        return table
    table.note = (
        "Each week's figures as frozen right after it ended, against the same figures computed "
        "today; only figures that changed are listed (a merge, a correction, an event recorded "
        "late). Cohort columns other than Entered MQL are left out: they follow where those "
        "leads are now."
    )
    current = {slug: _rows_by_week(tables[slug]) for slug in PER_WEEK if slug in tables}
    for snapshot in snapshots:
        for slug, rows in current.items():
            frozen_row = snapshot.figures.get(slug)
            if frozen_row is None:
                continue
            now_row = _week_row(tables[slug], rows, snapshot.week_start)
            for column in tables[slug].columns:
                if column.kind not in COMPARED_KINDS or column.key in NOT_COMPARED.get(slug, ()):
                    continue
                frozen = frozen_row.get(column.key)
                now = dashboard.plain(now_row.get(column.key))
                if frozen == now:
                    continue
                table.rows.append(
                    {
                        "week": snapshot.week_start,
                        "figure": f"{tables[slug].title} · {column.label}",
                        "kind": column.kind,
                        "frozen": frozen,
                        "now": now,
                        "difference": _difference(frozen, now),
                    }
                )
                table.links.append({})
    return table

"""Frozen weeks and late data, on the hand-built history of test_metrics (W1, W2 busy, W3 empty)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from reports import dashboard, snapshots
from reports.models import WeekSnapshot
from tests.reports.history import W1, W2, W3, at

W4 = W3 + dt.timedelta(weeks=1)  # the week after the history: "this week"

pytestmark = pytest.mark.usefixtures("history")


def lead(name: str) -> Lead:
    return Lead.objects.get(last_name=name)


def freeze(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return snapshots.freeze_finished_weeks()


def figures_shown(scope, slug: str, key: str, monday: dt.date) -> dict:
    """The dashboard's row for the week, in its JSON form."""
    table = dashboard.build(scope)[slug]
    (row,) = [row for row in table.rows if row[key] == monday]
    return {column.key: dashboard.plain(row[column.key]) for column in table.columns}


def test_freezing_stores_exactly_what_the_dashboard_shows(django_assert_max_num_queries):
    # Given the history, when the beat runs right after W3 ended (Monday 00:12 of W4)
    # One build of the per-week tables for every week due (10 reads), then a savepoint and
    # an insert per week. (The rollups are refreshed first: that is a fixed number of
    # statements of its own, tests/reports/test_rollups.py.)
    from reports import rollups

    rollups.catch_up()
    with django_assert_max_num_queries(10 + 3 * 3):
        assert freeze(at(W4, 0, 12)) == 3
    # Then W1..W3 are frozen (nothing from before the first lead, not this week)
    assert list(WeekSnapshot.objects.order_by("week_start").values_list("week_start", flat=True)) == [
        W1,
        W2,
        W3,
    ]
    scope = dashboard.scope_for(W1, W3)
    for monday in (W1, W2):
        figures = WeekSnapshot.objects.get(week_start=monday).figures
        assert set(figures) == {"weekly", "speed", "sla-week", "cohorts"}
        for slug, key in snapshots.PER_WEEK.items():
            assert figures[slug] == figures_shown(scope, slug, key, monday), (monday, slug)
    w2 = WeekSnapshot.objects.get(week_start=W2).figures
    assert (w2["weekly"]["mql"], w2["weekly"]["responses"], w2["weekly"]["acceptance_rate"]) == (3, 3, 0.3333)
    assert w2["speed"]["median_seconds"] == 3600.0
    # An empty week has no SLA row on the dashboard: frozen as zero counts and no rate.
    w3 = WeekSnapshot.objects.get(week_start=W3).figures
    assert w3["sla-week"] == {
        "name": "2026-11-16",
        "resolved": 0,
        "met": 0,
        "breached": 0,
        "compliance": None,
        "leads": 0,
    }
    assert w3["weekly"]["acceptance_rate"] is None and w3["weekly"]["lead"] == 0


def test_a_second_run_freezes_nothing(django_assert_max_num_queries):
    assert freeze(at(W4, 0, 12)) == 3
    frozen_at = dict(WeekSnapshot.objects.values_list("week_start", "frozen_at"))
    with django_assert_max_num_queries(2):  # the first lead, the frozen weeks: nothing to build
        assert freeze(at(W4, 1, 12)) == 0
    assert dict(WeekSnapshot.objects.values_list("week_start", "frozen_at")) == frozen_at


def test_the_current_week_is_never_frozen():
    # Sunday 23:59 of W3: W3 has not ended yet.
    assert freeze(at(W3, 23, 59, days=6)) == 2
    assert not WeekSnapshot.objects.filter(week_start=W3).exists()
    # A minute later it has, and only it is frozen.
    assert freeze(at(W4, 0, 0)) == 1
    assert WeekSnapshot.objects.filter(week_start=W3).exists()
    assert not WeekSnapshot.objects.filter(week_start=W4).exists()


def test_a_late_run_catches_up_at_most_eight_weeks_back():
    later = W1 + dt.timedelta(weeks=9)  # W1 is now nine weeks back, W2 eight
    assert freeze(at(later, 9)) == 8
    assert not WeekSnapshot.objects.filter(week_start=W1).exists()
    assert WeekSnapshot.objects.filter(week_start=W2).exists()


def test_no_week_before_the_first_lead_is_frozen():
    # Monday of W1, before the first lead's week has ended: nothing has finished since.
    assert freeze(at(W1, 8)) == 0
    assert not WeekSnapshot.objects.exists()


def late_data(first=W1, last=W3, params=None):
    scope = dashboard.scope_for(first, last, params)
    return snapshots.late_data_table(scope, dashboard.build(scope))


def test_late_data_lists_the_figures_a_merge_changed(org):
    freeze(at(W4, 0, 12))
    assert late_data().rows == []
    # A duplicate is merged after the meeting: B (created in W1, qualified in W2) goes.
    with time_machine.travel(at(W4, 10), tick=False):
        services.lead_merge(survivor_id=lead("E").pk, other_id=lead("B").pk, actor=org.sales_manager)

    table = late_data()
    assert table.slug == "late-data"
    assert [
        (r["week"], r["figure"], r["kind"], r["frozen"], r["now"], r["difference"]) for r in table.rows
    ] == [
        (W1, "Week by week: stages entered, responses and outcomes · Lead", "count", 5, 4, -1),
        (W2, "Week by week: stages entered, responses and outcomes · MQL", "count", 3, 2, -1),
        (W2, "Cohort conversion by MQL week: where those MQLs are now · Entered MQL", "count", 3, 2, -1),
    ]
    assert table.links == [{}, {}, {}]


def test_late_data_of_a_rate_is_read_in_its_own_kind(org):
    freeze(at(W4, 0, 12))
    # An acceptance recorded late, back-dated into W2 (an import from the CRM, say).
    LeadEvent.objects.create(
        lead=lead("D"),
        type=EventType.ACCEPTED,
        from_stage=Stage.MQL,
        to_stage=Stage.SQL,
        actor=org.rep,
        occurred_at=at(W2, 15),
    )
    table = late_data()
    changed = {r["figure"].split(" · ")[1]: r for r in table.rows}
    assert set(changed) == {"SQL", "Accepted", "Responses (accept + reject)", "Acceptance rate"}
    assert {r["week"] for r in table.rows} == {W2}
    rate = changed["Acceptance rate"]
    assert (rate["kind"], rate["frozen"], rate["now"], rate["difference"]) == ("percent", 0.3333, 0.5, 0.1667)
    assert (
        changed["Responses (accept + reject)"]["frozen"],
        changed["Responses (accept + reject)"]["now"],
    ) == (3, 4)
    # The page renders each value cell in the row's kind, not the column's.
    kinds = {
        cells[1][1].split(" · ")[1]: [column.kind for column, _, _ in cells[3:]] for cells in table.cells()
    }
    assert kinds["Acceptance rate"] == ["percent"] * 3 and kinds["SQL"] == ["count"] * 3


def test_late_data_costs_one_query_once_the_dashboard_is_built(django_assert_num_queries):
    freeze(at(W4, 0, 12))
    scope = dashboard.scope_for(W1, W4)
    tables = dashboard.build(scope)
    with django_assert_num_queries(1):
        table = snapshots.late_data_table(scope, tables)
    assert (
        table.rows == [] and table.empty == "Every frozen week still matches today's figures: no late data."
    )


def test_late_data_needs_the_whole_funnel(org, django_assert_num_queries):
    freeze(at(W4, 0, 12))
    scope = dashboard.scope_for(W1, W3, {"team": str(org.sales.pk)})
    with django_assert_num_queries(0):
        table = snapshots.late_data_table(scope, {})
    assert table.rows == [] and table.links == []
    assert "clear the filters" in table.note


def test_late_data_says_when_no_week_is_frozen():
    table = late_data()
    assert table.rows == []
    assert table.note.startswith("No week in this range is frozen yet")


@pytest.mark.parametrize("slug", list(snapshots.PER_WEEK))
def test_every_per_week_table_is_frozen_with_every_column(slug):
    freeze(at(W4, 0, 12))
    table = dashboard.build(dashboard.scope_for(W1, W3))[slug]
    figures = WeekSnapshot.objects.get(week_start=W1).figures[slug]
    assert set(figures) == {column.key for column in table.columns}  # (jsonb keeps no key order)

"""Three figures exactly as DESIGN.md defines them (issue 21, "the truth of the clocks and
the weeks"), on both computation paths: the event-log queries (reports.metrics, the
definition) and, on PostgreSQL, the rollups the whole organisation's dashboard reads.

- SLA compliance: a breached clock is resolved at its due time, even when the breach was
  detected later — so a frozen week's compliance changes when a breach in it is recorded
  late, and the late-data table says so.
- Cohort conversion: each MQL of the week in exactly one current state, "lost" included.
- Velocity: each lead counted once per stage, its last stay that ended in the week(s).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import time_machine
from django.db import connection
from django.test.utils import override_settings
from rest_framework.test import APIClient

from leads import services
from leads.models import Lead
from reports import dashboard, metrics, rollups, snapshots
from reports.models import DirtyLead, WeekSnapshot
from sla.models import Clock, Obligation
from sla.services import sla_enforce
from smarketing.core.weeks import monday_of
from tests.reports.history import W1, W2, W3, at


@contextmanager
def counting(path: str):
    """`rollups`: as the whole organisation's dashboard reads (the rollups on PostgreSQL,
    the event log on SQLite); `event log`: the definition's queries, always."""
    if path == "rollups":
        with rollups.reading():
            yield
    else:
        with override_settings(ROLLUPS_ENABLED=False), rollups.reading():
            yield


PATHS = ["rollups", "event log"]


def names(lead_ids) -> list[str]:
    return sorted(Lead.objects.filter(pk__in=lead_ids).values_list("last_name", flat=True))


# --- SLA compliance: a breach counts at its due time --------------------------------------------


def test_a_breach_detected_late_counts_in_its_due_week_and_shows_as_late_data(org, make_lead, reasons):
    # Given two hand-offs on Monday of W1: one answered in time, one never answered, and no
    # enforcement run all week (an outage).
    with time_machine.travel(at(W1, 9), tick=False):
        late, answered = make_lead(last_name="Late"), make_lead(last_name="Answered")
    with time_machine.travel(at(W1, 10), tick=False):
        services.lead_qualify(lead_id=late.pk, actor=org.marketer)
        services.lead_qualify(lead_id=answered.pk, actor=org.marketer)
    with time_machine.travel(at(W1, 11), tick=False):
        answered.refresh_from_db()
        services.lead_reject(lead_id=answered.pk, actor=answered.owner, reason=reasons.rejection)
    clock = Clock.objects.get(lead=late, obligation=Obligation.RESPONSE)
    assert monday_of(clock.due_at) == W1 and clock.breached_at is None
    # W1 is frozen right after it ends: one clock resolved, met on time.
    with time_machine.travel(at(W2, 0, 12), tick=False):
        assert snapshots.freeze_finished_weeks() == 1
    frozen = WeekSnapshot.objects.get(week_start=W1).figures["sla-week"]
    assert (frozen["resolved"], frozen["met"], frozen["breached"], frozen["compliance"]) == (1, 1, 0, 1.0)

    # When the enforcement runs again on Tuesday of W2, it records the breach then.
    with time_machine.travel(at(W2, 10, days=1), tick=False):
        sla_enforce(now=at(W2, 10, days=1))
    clock.refresh_from_db()
    assert monday_of(clock.breached_at) == W2 and monday_of(clock.due_at) == W1

    # Then the breach counts in W1, its due week, and not in W2, the week it was detected.
    with time_machine.travel(at(W2, 12, days=1), tick=False):
        for path in PATHS:
            with counting(path):
                weeks = {row["key"]: row for row in metrics.sla_compliance(W1, W2, by="week")}
                assert set(weeks) == {W1}, path
                assert (weeks[W1]["resolved"], weeks[W1]["met"], weeks[W1]["breached"]) == (2, 1, 1), path
                assert weeks[W1]["compliance"] == 0.5, path
                reps = metrics.sla_compliance(W1, W1, by="owner")
                assert (sum(r["resolved"] for r in reps), sum(r["breached"] for r in reps)) == (2, 1), path
                assert metrics.sla_compliance(W2, W2, by="team") == [], path  # nothing resolved in W2
        assert names(metrics.clock_lead_ids("breached", W1)) == ["Late"]
        assert names(metrics.clock_lead_ids("resolved", W1)) == ["Answered", "Late"]
        assert not metrics.clock_lead_ids("breached", W2).exists()
        # And the late-data table lists exactly W1's SLA figures that changed.
        scope = dashboard.scope_for(W1, W2)
        table = snapshots.late_data_table(scope, dashboard.build(scope))
    title = "SLA compliance per week"
    assert [(r["week"], r["figure"], r["frozen"], r["now"], r["difference"]) for r in table.rows] == [
        (W1, f"{title} · Clocks resolved", 1, 2, 1),
        (W1, f"{title} · Breached", 0, 1, 1),
        (W1, f"{title} · Compliance", 1.0, 0.5, -0.5),
        (W1, f"{title} · Leads", 1, 2, 1),
    ]


# --- cohort conversion: each MQL in exactly one current state ------------------------------------


def _cohort_history(org, make_lead, reasons) -> dict[str, Lead]:
    """Every lead qualified on Monday of W1, then moved along its own path (by the
    services, a minute apart). The name says which cohort state it must end in."""
    paths = {
        "Waiting": [],
        "Requalified-waiting": ["reject", "qualify"],
        "Sql": ["accept"],
        "Customer": ["accept", "win"],
        "Rejected-sent_back": ["reject"],
        "Returned-sent_back": ["return"],
        "Salesdq-reopened-sent_back": ["sales_dq", "reopen"],
        "Rejected-dq-reopened-sent_back": ["reject", "marketing_dq", "reopen"],
        "Lost-requalified-rejected-sent_back": ["accept", "lose", "qualify", "reject"],
        "Nurture-lost": ["accept", "lose"],
        "Lostdq-lost": ["accept", "lose_dq"],
        "Lostdq-reopened-lost": ["accept", "lose_dq", "reopen"],
        "Nurture-marketingdq-disqualified": ["accept", "lose", "marketing_dq"],
        "Mql-salesdq-disqualified": ["sales_dq"],
        "Sql-salesdq-disqualified": ["accept", "sales_dq"],
        "Merged-away": ["reject"],
    }

    def step(lead: Lead, verb: str) -> None:
        lead.refresh_from_db()
        owner = lead.owner
        if verb == "qualify":
            services.lead_qualify(lead_id=lead.pk, actor=org.marketer, note="new budget")
        elif verb == "accept":
            services.lead_accept(lead_id=lead.pk, actor=owner)
        elif verb == "reject":
            services.lead_reject(lead_id=lead.pk, actor=owner, reason=reasons.rejection)
        elif verb == "win":
            services.lead_win(lead_id=lead.pk, actor=owner, amount="100", closed_on=W1)
        elif verb in ("lose", "lose_dq"):
            reason = reasons.loss_recycle if verb == "lose" else reasons.loss_disqualify
            services.lead_lose(lead_id=lead.pk, actor=owner, reason=reason)
        elif verb == "return":
            assert services.lead_return_to_marketing(lead_id=lead.pk, from_owner_id=owner.pk) is not None
        elif verb in ("sales_dq", "marketing_dq"):
            actor = owner if verb == "sales_dq" else org.marketer
            services.lead_disqualify(lead_id=lead.pk, actor=actor, reason=reasons.disqualification)
        elif verb == "reopen":
            services.lead_reopen(lead_id=lead.pk, actor=org.marketer)

    leads = {}
    with time_machine.travel(at(W1, 9), tick=False):
        for name in paths:
            leads[name] = make_lead(last_name=name)
    with time_machine.travel(at(W1, 10), tick=False):
        for lead in leads.values():
            services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    for name, verbs in paths.items():
        for minute, verb in enumerate(verbs, start=1):
            with time_machine.travel(at(W1, 11, minute), tick=False):
                step(leads[name], verb)
    with time_machine.travel(at(W1, 12), tick=False):  # a duplicate merged into a waiting MQL
        services.lead_merge(
            survivor_id=leads["Waiting"].pk, other_id=leads["Merged-away"].pk, actor=org.sales_manager
        )
    return leads


def test_each_mql_is_in_exactly_one_current_state(client, org, make_lead, reasons):
    leads = _cohort_history(org, make_lead, reasons)
    expected = {
        state: sorted(name for name in leads if name.lower().endswith(state) and name != "Merged-away")
        for state in metrics.COHORT_STATES
    }
    # Given the rule (metrics.cohort_state), each lead's state now is the one its name says.
    states = dict(
        Lead.objects.live().annotate(state=metrics.cohort_state()).values_list("last_name", "state")
    )
    assert {name: states[name] for name in leads if name != "Merged-away"} == {
        name: state for state, named in expected.items() for name in named
    }
    # Then the cohort of W1 counts them so, on both paths; the columns add up to the MQLs.
    with time_machine.travel(at(W2, 9), tick=False):
        for path in PATHS:
            with counting(path):
                counts = metrics.cohorts([W1])[W1]
                entered = metrics.weekly_funnel([W1])[0].entered["mql"]
            assert counts == {state: len(named) for state, named in expected.items()}, path
            assert sum(counts.values()) == entered == len(leads) - 1, path  # the merged-away one left out
    assert counts == {"waiting": 2, "sql": 1, "customer": 1, "sent_back": 5, "lost": 3, "disqualified": 3}
    # And each cell's drill-down lists exactly its leads, on the lead list and the API.
    for state, named in expected.items():
        assert names(metrics.cohort_lead_ids(state, W1)) == named, state
    client.force_login(org.sales_manager)
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    for state, named in expected.items():
        rows = api.get("/api/leads/", {"cohort": state, "week": "2026-11-04", "page_size": 100}).json()
        assert sorted(row["last_name"] for row in rows["results"]) == named, state
    page = client.get("/leads/", {"cohort": "lost", "week": "2026-11-04"}).content.decode()
    assert "leads that entered MQL in the week of Mon 02 Nov 2026 and are lost after acceptance" in page
    assert page.count('class="badge stage-') == 3
    # A state that is not one is refused, naming the parameter.
    refused = api.get("/api/leads/", {"cohort": "maybe", "week": "2026-11-04"}).json()
    assert "cohort" in str(refused) and "results" not in refused


def test_the_dashboard_cohort_columns_add_up_and_link_to_their_leads(org, make_lead, reasons):
    _cohort_history(org, make_lead, reasons)
    with time_machine.travel(at(W2, 9), tick=False):
        scope = dashboard.scope_for(W1, W1)
        table = dashboard.build(scope, {"cohorts"})["cohorts"]
    (row,) = table.rows
    columns = [column.key for column in table.columns]
    assert columns == [
        "week",
        "mqls",
        "waiting",
        "sql",
        "customer",
        "sent_back",
        "lost",
        "disqualified",
        "converted",
    ]
    assert row["mqls"] == 15 == sum(row[state] for state in metrics.COHORT_STATES)
    assert (row["lost"], row["sent_back"], row["disqualified"]) == (3, 5, 3)
    (links,) = table.links
    assert links["lost"] == {"cohort": "lost", "week": "2026-11-02", "week_to": None}


# --- velocity: each lead once per stage, its last stay ----------------------------------------------


def test_velocity_counts_each_lead_once_per_stage_its_last_stay(org, make_lead, reasons):
    # Given a lead rejected twice in W1 (MQL for 1 h, then for 3 h) and once more in W2
    # (MQL for 30 min), and another lead that was an MQL for 2 h in W1.
    with time_machine.travel(at(W1, 9), tick=False):
        twice, once = make_lead(last_name="Twice"), make_lead(last_name="Once")
    moves = [
        (at(W1, 10), twice, "qualify"),
        (at(W1, 10), once, "qualify"),
        (at(W1, 11), twice, "reject"),
        (at(W1, 12), once, "accept"),
        (at(W1, 12), twice, "qualify"),
        (at(W1, 15), twice, "reject"),
        (at(W2, 9), twice, "qualify"),
        (at(W2, 9, 30), twice, "reject"),
    ]
    for moment, lead, verb in moves:
        with time_machine.travel(moment, tick=False):
            lead.refresh_from_db()
            if verb == "qualify":
                services.lead_qualify(lead_id=lead.pk, actor=org.marketer, note="new budget")
            elif verb == "accept":
                services.lead_accept(lead_id=lead.pk, actor=lead.owner)
            else:
                services.lead_reject(lead_id=lead.pk, actor=lead.owner, reason=reasons.rejection)
    with time_machine.travel(at(W3, 9), tick=False):
        for path in PATHS:
            with counting(path):
                w1 = metrics.velocity(W1)
                both = metrics.velocity(W1, W2)
                table = dashboard.velocity_table(dashboard.scope_for(W1, W1))
            # Then in W1 "Twice" counts once for MQL, with its last stay (3 h): the median of
            # [2 h, 3 h] — not of [1 h, 2 h, 3 h] (every stay).
            assert (w1["mql"].leads, w1["mql"].median_days) == (2, pytest.approx(2.5 / 24)), path
            # … and over W1–W2 with its last stay in the range (30 min): [30 min, 2 h].
            assert (both["mql"].leads, both["mql"].median_days) == (2, pytest.approx(1.25 / 24)), path
            # Left `lead`: both after 1 h (created 9:00, qualified 10:00); "Twice" again after
            # 1 h (11:00 → 12:00) in W1, and after 6¾ days (Monday 15:00 → next Monday 9:00)
            # in W2: W1–W2 counts that last one.
            assert (w1["lead"].leads, w1["lead"].median_days) == (2, pytest.approx(1 / 24)), path
            assert (both["lead"].leads, both["lead"].median_days) == (
                2,
                pytest.approx((1 / 24 + 6.75) / 2),
            ), path
            rows = {row["stage"]: row for row in table.rows}
            assert [column.key for column in table.columns] == ["stage", "leads", "median_days"], path
            assert (rows["MQL"]["leads"], rows["MQL"]["median_days"]) == (2, pytest.approx(2.5 / 24)), path
        assert names(metrics.left_lead_ids("mql", W1)) == ["Once", "Twice"]
        assert names(metrics.left_lead_ids("mql", W2)) == ["Twice"]
        assert metrics.left_lead_ids("mql", W1, W2).count() == both["mql"].leads


@pytest.mark.skipif(connection.vendor != "postgresql", reason="rollups are kept on PostgreSQL")
def test_a_breached_clocks_deadline_moving_moves_its_week_in_the_rollup(org, make_lead):
    # Given a breached response clock, due in W1, and the rollups caught up.
    with time_machine.travel(at(W1, 10), tick=False):
        lead = services.lead_qualify(lead_id=make_lead(last_name="Moved").pk, actor=org.marketer)
    sla_enforce(now=at(W2, 10))
    clock = Clock.objects.get(lead=lead, obligation=Obligation.RESPONSE)
    rollups.catch_up()
    # When its deadline is moved into W2 (by any writer: a trigger sees the UPDATE) …
    Clock.objects.filter(pk=clock.pk).update(due_at=at(W2, 9))
    assert DirtyLead.objects.filter(lead_id=lead.pk).exists()
    # … then the breach counts in W2 on both paths.
    for path in PATHS:
        with counting(path):
            weeks = {row["key"]: row["breached"] for row in metrics.sla_compliance(W1, W2, by="week")}
        assert weeks == {W2: 1}, path


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_a_hand_off_and_its_answer_written_at_the_same_instant_stay_in_order(org, make_lead, reasons, path):
    """Events are ordered by time, then id: a lead handed off, rejected, handed off again and
    accepted within one instant (an import, a seed, a fast client) has one rejected and one
    accepted hand-off, read from the event log as from the rollups."""
    lead = make_lead()
    with time_machine.travel(at(W1, 10), tick=False):
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
        services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection)
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer, note="Budget confirmed")
        services.lead_accept(lead_id=lead.pk, actor=org.rep)
    with counting(path):
        rows = metrics.by_mql_definition(W1, W1)
    assert [(row["handoffs"], row["accepted"], row["rejected"]) for row in rows] == [(2, 1, 1)]

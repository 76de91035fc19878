"""Weekly funnel figures on a hand-built history with known answers, edges included."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from leads import services
from reports import metrics
from tests.reports.history import BERLIN, W1, W2, W3, at


def test_entered_stages_and_rates_per_week(history):
    w1, w2, w3 = metrics.weekly_funnel([W1, W2, W3])
    # Week 45: 5 created (A, C, D, E and B on Sunday night); A re-entered lead (rejected) — once.
    assert w1.entered == {"lead": 5, "mql": 2, "sql": 2, "customer": 1, "disqualified": 0}
    assert w1.outcomes == {"rejected": 1, "lost": 0, "accepted": 2, "won": 1}
    assert w1.acceptance_rate == pytest.approx(2 / 3) and w1.win_rate == 1.0
    # Week 46: B, D, E qualified (D twice: one lead); D rejected twice (2 responses, 1 lead);
    # E lost back to lead; D back to lead — leads entering "lead": D and E.
    assert w2.entered == {"lead": 2, "mql": 3, "sql": 1, "customer": 0, "disqualified": 0}
    assert w2.outcomes == {"rejected": 2, "lost": 1, "accepted": 1, "won": 0}
    assert w2.outcome_leads == {"rejected": 1, "lost": 1, "accepted": 1, "won": 0}
    assert w2.acceptance_rate == pytest.approx(1 / 3) and w2.win_rate == 0.0
    # The empty week
    assert set(w3.entered.values()) == {0} and w3.acceptance_rate is None and w3.win_rate is None


def test_every_count_drills_down_to_exactly_its_leads(history):
    for week in metrics.weekly_funnel([W1, W2, W3]):
        for stage, count in week.entered.items():
            assert metrics.entered_lead_ids(stage, week.monday).count() == count, (week.monday, stage)
        for outcome, count in week.outcome_leads.items():
            assert metrics.event_lead_ids(outcome, week.monday).count() == count, (week.monday, outcome)
    b = history["B"]
    assert list(metrics.entered_lead_ids("lead", W1).filter(lead_id=b.pk)) == [{"lead_id": b.pk}]
    assert list(metrics.entered_lead_ids("mql", W2).filter(lead_id=b.pk)) == [{"lead_id": b.pk}]


def test_merge_pointers_are_left_out(org, history):
    services.lead_merge(survivor_id=history["E"].pk, other_id=history["B"].pk, actor=org.sales_manager)
    w1, w2 = metrics.weekly_funnel([W1, W2])
    assert w1.entered["lead"] == 4 and w2.entered["mql"] == 2


def test_last_weeks_are_iso_weeks_in_the_org_zone():
    sunday_night = dt.datetime(2026, 11, 22, 23, 30, tzinfo=BERLIN)  # Sunday 22:30 UTC
    assert metrics.last_weeks(3, now=sunday_night) == [dt.date(2026, 11, 2), W2, W3]
    monday_early = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC)  # Monday 00:30 Berlin
    assert metrics.last_weeks(1, now=monday_early) == [dt.date(2026, 11, 23)]


def test_drill_down_on_the_lead_list_and_api(client, org, history):
    from rest_framework.test import APIClient

    client.force_login(org.sales_manager)
    for week in metrics.weekly_funnel([W1, W2]):
        for stage, count in week.entered.items():
            page = client.get("/leads/", {"entered": stage, "week": week.monday.isoformat()})
            assert page.content.decode().count('class="badge stage-') == count
    page = client.get("/leads/", {"entered": "mql", "week": "2026-11-11"}).content.decode()
    assert "Report drill-down: leads that entered MQL in the week of Mon 09 Nov 2026." in page
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    rows = api.get("/api/leads/", {"outcome": "rejected", "week": "2026-11-12"}).json()["results"]
    assert [r["last_name"] for r in rows] == ["D"]


def test_speed_to_lead_in_business_time(history):
    w1, w2, w3 = metrics.speed_to_lead([W1, W2, W3])
    # Week 45: A answered after 1 h, A again after 1 h (re-qualified 12:00, accepted 13:00),
    # C after 1 h → 1 h, 1 h, 1 h.
    assert (w1.responses, w1.median_seconds, w1.p90_seconds) == (3, 3600.0, 3600)
    # Week 46: B qualified Mon 00:30 (outside hours), never answered; D after 1 h and 1 h;
    # E accepted after 1 h.
    assert (w2.responses, w2.median_seconds, w2.p90_seconds) == (3, 3600.0, 3600)
    assert (w3.responses, w3.median_seconds, w3.p90_seconds) == (0, None, None)


def test_speed_to_lead_counts_business_hours_not_the_night(org, make_lead):
    with time_machine.travel(at(W3, 16), tick=False):  # Monday 16:00
        lead = services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer)
    with time_machine.travel(at(W3, 10, days=1), tick=False):  # Tuesday 10:00: 1 h + 1 h
        services.lead_accept(lead_id=lead.pk, actor=org.rep)
    for n, minutes in enumerate([10, 20, 30]):
        with time_machine.travel(at(W3, 11, days=2), tick=False):
            other = services.lead_qualify(lead_id=make_lead(email=f"s{n}@example.com").pk, actor=org.marketer)
        with time_machine.travel(at(W3, 11, minutes, days=2), tick=False):
            services.lead_accept(lead_id=other.pk, actor=org.rep)
    (week,) = metrics.speed_to_lead([W3])
    # 600, 1200, 1800, 7200 → median (1200 + 1800) / 2, p90 = rank 4 of 4.
    assert (week.responses, week.median_seconds, week.p90_seconds) == (4, 1500.0, 7200)


def test_attribution_and_rejection_feedback(org, make_lead, reasons):
    from decimal import Decimal

    from smarketing.agreement.models import Reason, ReasonKind
    from smarketing.org.models import Campaign, Source

    webinar = Campaign.objects.create(name="Q4 Webinar", cost=Decimal("1000"))
    other_reason = Reason.objects.filter(kind=ReasonKind.REJECTION).exclude(pk=reasons.rejection.pk).first()
    with time_machine.travel(at(W1, 9), tick=False):
        won = make_lead(source=Source.WEBINAR, campaign=webinar)
        lost = make_lead(source=Source.WEBINAR, campaign=webinar)
        rejected = make_lead(source=Source.EVENT)
        rejected2 = make_lead(source=Source.EVENT)
        referred = make_lead(source=Source.REFERRAL, referrer=org.employee)
        make_lead(source=Source.EVENT)  # never handed off
    with time_machine.travel(at(W1, 10), tick=False):
        for lead in (won, lost, rejected, rejected2, referred):
            services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    with time_machine.travel(at(W1, 11), tick=False):
        for lead in (won, lost, referred):
            services.lead_accept(lead_id=lead.pk, actor=org.rep)
        services.lead_reject(lead_id=rejected.pk, actor=org.rep, reason=reasons.rejection)
        services.lead_reject(lead_id=rejected2.pk, actor=org.rep, reason=other_reason)
    with time_machine.travel(at(W1, 12), tick=False):
        services.lead_win(lead_id=won.pk, actor=org.rep, amount="4000", closed_on=W1)
        services.lead_win(lead_id=referred.pk, actor=org.rep, amount="1500", closed_on=W1)
        services.lead_lose(lead_id=lost.pk, actor=org.rep, reason=reasons.loss_recycle)
    with time_machine.travel(at(W2, 10), tick=False):  # re-qualified and rejected again next week
        services.lead_qualify(lead_id=rejected.pk, actor=org.marketer, note="new budget")
        services.lead_reject(lead_id=rejected.pk, actor=org.rep, reason=reasons.rejection)

    by_source = {row["name"]: row for row in metrics.attribution(W1, W1, by="source")}
    assert by_source[Source.WEBINAR] == {
        "key": "webinar",
        "name": "webinar",
        "leads": 2,
        "mqls": 2,
        "sqls": 2,
        "customers": 1,
        "revenue": Decimal("4000"),
    }
    assert by_source[Source.EVENT] == {
        "key": "event",
        "name": "event",
        "leads": 3,
        "mqls": 2,
        "sqls": 0,
        "customers": 0,
        "revenue": Decimal("0"),
    }
    (campaign,) = [r for r in metrics.attribution(W1, W1, by="campaign") if r["name"] == "Q4 Webinar"]
    assert (campaign["cost"], campaign["cost_per_customer"], campaign["roi"]) == (
        Decimal("1000"),
        Decimal("1000"),
        Decimal("3"),
    )
    (referrer,) = metrics.attribution(W1, W1, by="referrer")
    assert (referrer["name"], referrer["customers"], referrer["revenue"]) == (
        "technician",
        1,
        Decimal("1500"),
    )

    pareto = metrics.rejection_reasons(W1, W2)
    # `rejected` was rejected twice for the same reason: two rejections, one lead.
    assert [(r["reason_label"], r["rejections"], r["leads"]) for r in pareto] == [
        (reasons.rejection.label, 2, 1),
        (other_reason.label, 1, 1),
    ]
    assert pareto[0]["share"] == pytest.approx(2 / 3) and pareto[-1]["cumulative"] == 1.0
    by = metrics.rejection_reasons(W2, W2, by="source")
    assert [(r["reason_label"], r["by"], r["rejections"]) for r in by] == [
        (reasons.rejection.label, "event", 1)
    ]


def test_velocity_median_days_in_each_stage(history):
    # Each lead counts once per stage: its last stay there that ended in the week(s).
    # Week 45: left `lead` — A (1 h after creation, and again 1 h after its rejection: the
    # last one counts), C (1 h); left `mql` — A (1 h twice: the last), C 1 h; left `sql` — C
    # (won after 2 h).
    w1 = metrics.velocity(W1)
    assert w1["lead"].median_days == pytest.approx(1 / 24)
    assert w1["lead"].leads == 2  # A once, C
    assert (w1["mql"].leads, w1["mql"].median_days) == (2, pytest.approx(1 / 24))
    assert (w1["sql"].leads, w1["sql"].median_days) == (1, pytest.approx(2 / 24))
    assert w1["customer"].median_days is None and w1["disqualified"].median_days is None
    assert w1["customer"].leads == 0
    # Week 46, left `lead`: B after 1 h (Sunday 23:30 → Monday 00:30), E after 7 days, and D
    # after 7 days and again after 1 h (rejected 10:00, re-qualified 11:00): D's last stay,
    # 1 h, is the one counted — the median of [1 h, 1 h, 7 d], not of [1 h, 1 h, 7 d, 7 d].
    w2 = metrics.velocity(W2)
    assert (w2["lead"].leads, w2["lead"].median_days) == (3, pytest.approx(1 / 24))
    assert w2["mql"].leads == 2  # D (twice: once), E; B is still waiting
    assert w2["sql"].median_days == pytest.approx(2 / 24)  # E: accepted 10:00, lost to nurture 12:00
    # Both weeks at once: each lead's last stay that ended in either — A, B, C, D (1 h) and E (7 d).
    both = metrics.velocity(W1, W2)
    assert (both["lead"].leads, both["lead"].median_days) == (5, pytest.approx(1 / 24))
    for stage, figure in both.items():
        assert metrics.left_lead_ids(stage, W1, W2).count() == figure.leads, stage


def test_cohort_conversion_by_mql_week(history):
    # Entered MQL in week 45: A (now SQL) and C (customer).
    cohorts = metrics.cohorts([W1, W2, W3])
    assert cohorts[W1] == {
        "waiting": 0,
        "sql": 1,
        "customer": 1,
        "sent_back": 0,
        "lost": 0,
        "disqualified": 0,
    }
    # Week 46: B (still waiting), D (rejected twice: sent back), E (lost to nurture after
    # acceptance: lost, not sent back).
    assert cohorts[W2] == {
        "waiting": 1,
        "sql": 0,
        "customer": 0,
        "sent_back": 1,
        "lost": 1,
        "disqualified": 0,
    }
    assert sum(cohorts[W3].values()) == 0  # the empty week
    assert sum(cohorts[W2].values()) == metrics.weekly_funnel([W2])[0].entered["mql"]
    for monday, counts in cohorts.items():
        for state, n in counts.items():
            assert metrics.cohort_lead_ids(state, monday).count() == n, (monday, state)


def test_time_in_stage_is_stored_on_each_move_and_equals_recomputation(history):
    """Velocity reads `stage_since`, written with each event; it must be what the event log
    says (the time of the event that moved the lead into the stage it left), and the
    migration's backfill must give the same."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.models import F, Subquery

    from leads.events import stage_since_of
    from leads.models import LeadEvent

    moves = LeadEvent.objects.exclude(from_stage="").exclude(to_stage="").exclude(from_stage=F("to_stage"))

    def pairs():
        return list(
            moves.annotate(recomputed=Subquery(stage_since_of())).values_list("stage_since", "recomputed")
        )

    written = pairs()
    assert len(written) == 15 and all(stored is not None and stored == again for stored, again in written)
    with connection.cursor() as cursor:  # (events are immutable to the application)
        cursor.execute("UPDATE leads_leadevent SET stage_since = NULL")
    state = MigrationExecutor(connection).loader.project_state(("leads", "0012_event_stage_since"))
    importlib.import_module("leads.migrations.0012_event_stage_since").backfill(state.apps, None)
    assert pairs() == written


def test_acceptance_split_by_agreement_version(org, make_lead, reasons, history, agree):
    """Reports split by agreement version: each hand-off counts under the version in force
    when it was made, and a lead drilled to from a version is one handed off under it."""
    from smarketing.agreement import versions

    with time_machine.travel(at(W2, 13), tick=False):
        versions.agreement_propose(
            actor=org.marketing_manager,
            op="commitment_update",
            team_id=org.marketing.pk,
            min_mqls=5,
            min_acceptance_percent=50,
        )
        assert agree().number == 2
    with time_machine.travel(at(W2, 14), tick=False):
        new = make_lead(last_name="New")
        services.lead_qualify(lead_id=new.pk, actor=org.marketer)
    with time_machine.travel(at(W2, 15), tick=False):
        services.lead_reject(lead_id=new.pk, actor=org.rep, reason=reasons.rejection)
    rows = {row.pop("definition"): row for row in metrics.by_mql_definition(W1, W3, by="agreement_version")}
    assert set(rows) == {1, 2}
    assert (rows[1]["handoffs"], rows[1]["leads"], rows[1]["acceptance_rate"]) == (7, 5, 0.5)
    assert rows[2] == {
        "handoffs": 1,
        "leads": 1,
        "accepted": 0,
        "rejected": 1,
        "waiting": 0,
        "acceptance_rate": 0.0,
    }
    assert list(metrics.handed_off_lead_ids(2, W1, W3, by="agreement_version")) == [{"lead_id": new.pk}]
    assert metrics.handed_off_lead_ids(1, W1, W3, by="agreement_version").count() == 5


def test_acceptance_split_by_mql_definition(org, make_lead, history):
    """Did the new MQL definition raise acceptance? Each hand-off counts under the scoring
    version it was made with, and with sales' answer to that hand-off (not a later one)."""
    from leads.models import Lead

    old = Lead.objects.get(last_name="A").scored_version
    with time_machine.travel(at(W2, 14), tick=False):
        new = make_lead(last_name="New")
        Lead.objects.filter(pk=new.pk).update(scored_version=old + 1)
        services.lead_qualify(lead_id=new.pk, actor=org.marketer)
    with time_machine.travel(at(W2, 15), tick=False):
        services.lead_accept(lead_id=new.pk, actor=org.rep)
    rows = {row.pop("definition"): row for row in metrics.by_mql_definition(W1, W3)}
    # Old version: A twice (rejected, then accepted), C (accepted), B (no answer yet),
    # D twice (rejected twice), E (accepted): 7 hand-offs on 5 leads.
    assert rows[old] == {
        "handoffs": 7,
        "leads": 5,
        "accepted": 3,
        "rejected": 3,
        "waiting": 1,
        "acceptance_rate": 0.5,
    }
    assert rows[old + 1] == {
        "handoffs": 1,
        "leads": 1,
        "accepted": 1,
        "rejected": 0,
        "waiting": 0,
        "acceptance_rate": 1.0,
    }
    assert metrics.handed_off_lead_ids(old, W1, W3).count() == 5
    assert list(metrics.handed_off_lead_ids(old + 1, W1, W3)) == [{"lead_id": new.pk}]

"""Marketing's side: the weekly commitment, the history of its terms, each week judged by the
terms in force at its start, finished weeks known from the event log the moment they end
(recorded once, with the manager told when one fell short), and the current week's pace."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leads import services
from reports import commitments, dashboard, tasks
from reports.models import CommitmentTerms, CommitmentWeek, MarketingCommitment
from sla.models import TeamCalendar
from smarketing.agreement import versions
from smarketing.agreement.models import AgreementChange
from smarketing.core.errors import ActionError
from smarketing.notifications.models import Notification, NotificationKind
from tests.reports.history import W1, W2
from tests.reports.history import at as history_at

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=BERLIN)  # ISO week 47
W47 = dt.date(2026, 11, 16)
W48 = dt.date(2026, 11, 23)


def at(monday: dt.date, hour: int = 0, minute: int = 0, days: int = 0) -> dt.datetime:
    return dt.datetime.combine(monday + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=BERLIN)


def set_terms(org, moment: dt.datetime, min_mqls: int, min_acceptance_percent: int, is_active: bool = True):
    with time_machine.travel(moment, tick=False):
        return commitments.commitment_update(
            actor=org.marketing_manager,
            team_id=org.marketing.pk,
            min_mqls=min_mqls,
            min_acceptance_percent=min_acceptance_percent,
            is_active=is_active,
        )


def hand_off(
    org, make_lead, reasons, moment: dt.datetime, *, count: int, accepted: int = 0, rejected: int = 0
):
    """`count` hand-offs by a marketer at `moment`; sales accepts the first `accepted` of them
    and rejects the next `rejected`, at the same moment."""
    with time_machine.travel(moment, tick=False):
        leads = [services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer) for _ in range(count)]
        for lead in leads[:accepted]:
            services.lead_accept(lead_id=lead.pk, actor=lead.owner)
        for lead in leads[accepted : accepted + rejected]:
            services.lead_reject(lead_id=lead.pk, actor=lead.owner, reason=reasons.rejection)
    return leads


def table_at(moment: dt.datetime, first: dt.date, last: dt.date) -> list[dict]:
    with time_machine.travel(moment, tick=False):
        return dashboard.build(dashboard.scope_for(first, last), {"commitment"})["commitment"].rows


def close_at(moment: dt.datetime, **kwargs) -> int:
    with time_machine.travel(moment, tick=False):
        return commitments.commitments_close_weeks(**kwargs)


FIGURES = ("week", "mqls", "min_mqls", "min_acceptance", "acceptance", "status", "met")


def figures(rows: list[dict]) -> list[tuple]:
    return [
        tuple(round(row[key], 4) if isinstance(row[key], float) else row[key] for key in FIGURES)
        for row in rows
    ]


@pytest.fixture
def committed(org):
    """3 MQLs a week, half of them accepted: agreed Monday of week 46, so in force from week 47."""
    return set_terms(org, MONDAY - dt.timedelta(days=7), 3, 50)


def test_week_status_counts_handoffs_and_responses_from_the_event_log(org, make_lead, reasons, committed):
    hand_off(org, make_lead, reasons, MONDAY, count=2, accepted=1, rejected=1)
    hand_off(org, make_lead, reasons, MONDAY + dt.timedelta(days=7), count=1)  # next week: not counted
    status = commitments.week_status(org.marketing, W47, now=at(W48, 1))
    assert (status.mqls, status.accepted, status.rejected, status.acceptance_percent) == (2, 1, 1, 50)
    assert (status.min_mqls, status.min_acceptance_percent) == (3, 50)
    assert not status.volume_met and status.quality_met and status.met is False
    assert status.status == "missed"


def test_the_terms_history_is_written_with_each_change(org):
    set_terms(org, at(W47, 9), 3, 50)
    set_terms(org, at(W47, 9), 3, 50)  # the same again: nothing changes
    set_terms(org, at(W48, 9, days=2), 4, 60)
    set_terms(org, at(W48, 9, days=3), 4, 60, is_active=False)
    history = [
        (t.min_mqls, t.min_acceptance_percent, t.is_active, t.in_force_from)
        for t in CommitmentTerms.objects.filter(team=org.marketing)
    ]
    assert history == [
        (3, 50, True, at(W47, 9)),
        (4, 60, True, at(W48, 9, days=2)),
        (4, 60, False, at(W48, 9, days=3)),
    ]
    assert AgreementChange.objects.filter(summary__startswith="Marketing commitment of").count() == 3


def test_a_version_puts_its_terms_in_force_when_both_managers_confirm(org, agree):
    # Proposed on Monday of week 47 (tried in a rolled-back savepoint: no terms yet) ...
    with time_machine.travel(MONDAY, tick=False):
        versions.agreement_propose(
            actor=org.marketing_manager,
            op="commitment_update",
            team_id=org.marketing.pk,
            min_mqls=4,
            min_acceptance_percent=55,
        )
    assert not CommitmentTerms.objects.exists()
    # ... confirmed on Wednesday: in force from then, so first judged in week 48.
    with time_machine.travel(at(W47, 15, days=2), tick=False):
        agree()
    [terms] = CommitmentTerms.objects.all()
    assert (terms.min_mqls, terms.min_acceptance_percent, terms.in_force_from) == (4, 55, at(W47, 15, days=2))
    assert commitments.week_status(org.marketing, W47, now=at(W48, 10)) is None
    assert commitments.week_status(org.marketing, W48, now=at(W48, 10)).min_mqls == 4


def test_a_week_begun_before_any_terms_is_not_judged(org, make_lead, reasons):
    # Agreed on Wednesday of week 47: week 47 began without a commitment; week 48 is the first.
    set_terms(org, at(W47, 12, days=2), 3, 50)
    hand_off(org, make_lead, reasons, at(W47, 14, days=2), count=1)
    rows = table_at(at(W48, 10, days=7), W47, W48)
    assert [row["week"] for row in rows] == [W48]
    assert close_at(at(W48, 10, days=7)) == 1
    assert list(CommitmentWeek.objects.values_list("week_start", flat=True)) == [W48]


@pytest.mark.parametrize("recorded", ["before the change", "after the change", "never"])
def test_a_week_is_judged_by_the_terms_in_force_at_its_start(org, make_lead, reasons, recorded, mailoutbox):
    # Given 3 MQLs a week with 62 % accepted, in force before week 47 began,
    set_terms(org, at(W47, 16, days=-3), 3, 62)
    # and week 47: 3 MQLs handed off, 2 of 3 accepted (67 %): kept under those terms.
    hand_off(org, make_lead, reasons, MONDAY, count=3, accepted=2, rejected=1)
    if recorded == "before the change":
        assert close_at(at(W48, 0, 7)) == 1
    # When the terms rise to 4 MQLs with 70 % on Tuesday of week 48 (beat down until then),
    set_terms(org, at(W48, 9, days=1), 4, 70)
    if recorded == "after the change":
        assert close_at(at(W48, 10, days=1)) == 1
    # then week 47 still reads kept, against the terms it began under; week 48 is judged by
    # the terms it began under too (3 / 62 %), and is still running.
    rows = table_at(at(W48, 12, days=2), W47, W48)
    assert figures(rows) == [
        (W47, 3, 3, 0.62, 0.6667, "kept", True),
        (W48, 0, 3, 0.62, None, "behind", None),
    ]
    if recorded != "never":
        week = CommitmentWeek.objects.get(week_start=W47)
        assert (week.min_mqls, week.min_acceptance_percent, week.met) == (3, 62, True)
    assert not Notification.objects.filter(kind=NotificationKind.SLA_BREACH).exists()
    # Week 49 begins under the new terms.
    with time_machine.travel(at(W48, 1, days=7), tick=False):
        week49 = commitments.week_status(org.marketing, W48 + dt.timedelta(weeks=1))
    assert (week49.min_mqls, week49.min_acceptance_percent) == (4, 70)


def test_a_miss_recorded_late_is_told_with_the_terms_it_began_under(org, make_lead, reasons, mailoutbox):
    set_terms(org, at(W47, 16, days=-3), 3, 62)
    hand_off(org, make_lead, reasons, MONDAY, count=2, accepted=2)  # 2 of 3 MQLs: missed
    set_terms(org, at(W48, 9, days=1), 1, 0)  # lowered before the job recorded week 47
    assert close_at(at(W48, 10, days=1)) == 1
    week = CommitmentWeek.objects.get(week_start=W47)
    assert (week.mqls, week.min_mqls, week.min_acceptance_percent, week.met) == (2, 3, 62, False)
    missed = Notification.objects.get(kind=NotificationKind.SLA_BREACH, recipient=org.marketing_manager)
    assert missed.subject == (
        "Marketing SLA missed, week of 16 Nov: 2 MQLs (agreed 3), 100% accepted (agreed 62%)"
    )
    assert "in force when it began: 3 MQLs, 62% accepted" in missed.body


def test_a_week_that_just_ended_is_in_the_table_at_once(org, make_lead, reasons, committed):
    hand_off(org, make_lead, reasons, MONDAY, count=3, accepted=1, rejected=1)
    # Sunday 23:59 of week 47: still running (the whole target due by now, its business time
    # gone). One minute later: kept, though no job has run.
    [running] = table_at(at(W47, 23, 59, days=6), W47, W47)
    assert (running["status"], running["met"], running["mqls_due"]) == ("on track", None, 3)
    [ended] = table_at(at(W48, 0, 0), W47, W47)
    assert (ended["status"], ended["met"], ended["mqls"], ended["recorded"], ended["mqls_due"]) == (
        "kept",
        True,
        3,
        None,
        None,
    )
    assert not CommitmentWeek.objects.exists()


def test_every_finished_week_is_shown_and_recorded_however_far_back(org, make_lead, reasons, mailoutbox):
    # Agreed 14 weeks before week 47 began; one MQL 12 weeks back; the beat never ran.
    first = W47 - dt.timedelta(weeks=14)
    set_terms(org, at(first, 16, days=-3), 1, 50)
    twelve_back = W47 - dt.timedelta(weeks=12)
    hand_off(org, make_lead, reasons, at(twelve_back, 10, days=1), count=1, accepted=1)
    now = at(W47, 10)
    rows = table_at(now, twelve_back, W47)
    assert [row["week"] for row in rows] == [twelve_back + dt.timedelta(weeks=n) for n in range(13)]
    assert (rows[0]["mqls"], rows[0]["status"]) == (1, "kept")
    assert {row["status"] for row in rows[1:-1]} == {"missed"} and rows[-1]["status"] == "on track"
    # The job records all 14 finished weeks, in bounded runs, oldest first; then nothing more.
    assert close_at(now, limit=5) == 5
    assert min(CommitmentWeek.objects.values_list("week_start", flat=True)) == first
    assert close_at(now, limit=5) == 5
    assert close_at(now, limit=5) == 4
    assert close_at(now, limit=5) == 0
    recorded = dict(CommitmentWeek.objects.values_list("week_start", "met"))
    assert len(recorded) == 14 and recorded[twelve_back] is True
    assert sum(not met for met in recorded.values()) == 13
    # One notification per missed week, never twice.
    assert (
        Notification.objects.filter(kind=NotificationKind.SLA_BREACH, recipient=org.marketing_manager).count()
        == 13
    )


def test_the_task_queues_its_next_batch_until_every_week_is_recorded(org, monkeypatch):
    set_terms(org, at(W47, 16, days=-3 - 7 * 14), 0, 0)  # 14 finished weeks, all kept
    monkeypatch.setattr(tasks, "CLOSE_BATCH", 5)
    with time_machine.travel(at(W47, 10), tick=False):
        assert tasks.commitments_close_weeks() == 5  # then 5 and 4 more, queued (eager here)
    assert CommitmentWeek.objects.count() == 14 and CommitmentWeek.objects.filter(met=True).count() == 14


def test_finished_weeks_are_recorded_once_and_a_miss_is_flagged(org, make_lead, committed, mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        for _ in range(3):
            services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer)
    # During week 47 nothing is finished and judged yet (week 46 began before the terms).
    assert close_at(MONDAY + dt.timedelta(days=3)) == 0
    # After week 47 ends: recorded once, kept; running again (two beats) adds nothing.
    after = MONDAY + dt.timedelta(days=7, hours=1)
    assert close_at(after) == 1
    assert close_at(after) == 0
    week47 = CommitmentWeek.objects.get(week_start=W47)
    assert (week47.mqls, week47.met, week47.min_mqls) == (3, True, 3)
    # Week 48 had no hand-off: missed, and its manager is told once.
    later = after + dt.timedelta(days=7)
    assert close_at(later) == 1 and close_at(later) == 0
    assert CommitmentWeek.objects.get(week_start=W48).met is False
    missed = Notification.objects.get(kind=NotificationKind.SLA_BREACH, recipient=org.marketing_manager)
    assert "week of 23 Nov" in missed.subject and "(agreed 3)" in missed.subject


def test_a_recorded_week_keeps_its_figures_and_shows_late_data(org, make_lead, reasons, committed):
    hand_off(org, make_lead, reasons, MONDAY, count=3, accepted=1, rejected=1)
    assert close_at(at(W48, 0, 7)) == 1
    # A hand-off of week 47 arrives late (an event recorded after the week was recorded).
    hand_off(org, make_lead, reasons, at(W47, 18, days=4), count=1, rejected=1)
    [row] = table_at(at(W48, 10), W47, W47)
    assert (row["mqls"], row["acceptance"], row["status"], row["recorded"]) == (3, 0.5, "kept", W48)
    assert (row["mqls_now"], round(row["acceptance_now"], 4)) == (4, 0.3333)
    with time_machine.travel(at(W48, 10), tick=False):
        week = commitments.week_status(org.marketing, W47)
    assert (week.figures, week.now) == (commitments.Figures(3, 1, 1), commitments.Figures(4, 1, 2))


def test_the_current_week_shows_its_pace_not_a_verdict(org, make_lead, reasons, committed):
    # The team works Monday to Friday, 9 to 5 (the default calendar): 40 business hours.
    # Monday 10:00 of week 47, nothing handed off yet: 3 × 1/40 → no MQL due yet.
    [monday] = table_at(MONDAY, W47, W47)
    assert (monday["status"], monday["met"], monday["mqls_due"], monday["mqls"]) == ("on track", None, 0, 0)
    # Thursday 12:00: 3 × 27/40 = 2.03 → 2 MQLs due, none handed off: behind (not missed).
    thursday = at(W47, 12, days=3)
    [behind] = table_at(thursday, W47, W47)
    assert (behind["status"], behind["met"], behind["mqls_due"]) == ("behind", None, 2)
    # Two hand-offs, one accepted and one rejected (50 %, as agreed): on track.
    hand_off(org, make_lead, reasons, thursday, count=2, accepted=1, rejected=1)
    [on_track] = table_at(thursday, W47, W47)
    assert (on_track["status"], on_track["mqls"], on_track["mqls_due"]) == ("on track", 2, 2)
    # Saturday: the week's business time is over and all 3 are due; 2 handed off: behind.
    [saturday] = table_at(at(W47, 12, days=5), W47, W47)
    assert (saturday["status"], saturday["met"], saturday["mqls_due"]) == ("behind", None, 3)
    # A second rejection puts acceptance below the target: behind, whatever the volume.
    hand_off(org, make_lead, reasons, thursday, count=1, rejected=1)
    [low] = table_at(thursday, W47, W47)
    assert (low["status"], low["mqls"], round(low["acceptance"], 4)) == ("behind", 3, 0.3333)


def test_table_json_and_csv_carry_the_same_statuses(client, org, make_lead, reasons, committed):
    hand_off(org, make_lead, reasons, MONDAY, count=3, accepted=2)  # week 47: kept
    query = {"week": W47.isoformat(), "week_to": W48.isoformat()}
    api = APIClient()
    api.force_authenticate(org.marketing_manager)
    client.force_login(org.marketing_manager)
    with time_machine.travel(at(W48, 12, days=2), tick=False):  # week 48 so far: nothing yet
        rows = dashboard.build(dashboard.scope_for(W47, W48), {"commitment"})["commitment"].rows
        data = api.get("/api/reports/dashboard/commitment/", query).json()
        exported = b"".join(client.get("/reports/export/commitment.csv", query).streaming_content)
        page = client.get("/reports/", query).content.decode()
        body = api.get(f"/api/sla/commitments/{org.marketing.pk}/").json()
    assert [row["status"] for row in rows] == ["kept", "behind"]
    assert [(r["week"], r["status"], r["met"], r["mqls_due"]) for r in data["rows"]] == [
        ("2026-11-16", "kept", True, None),
        ("2026-11-23", "behind", None, 1),
    ]
    lines = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert [(line["Week"], line["Status"], line["MQLs due by now"]) for line in lines] == [
        ("2026-11-16", "kept", ""),
        ("2026-11-23", "behind", "1"),
    ]
    assert 'data-key="status" data-value="kept"' in page and 'data-key="status" data-value="behind"' in page
    assert (body["this_week"]["status"], body["this_week"]["mqls_due"]) == ("behind", 1)
    assert [(w["week_start"], w["status"], w["met"], w["recorded_at"]) for w in body["finished_weeks"]] == [
        ("2026-11-16", "kept", True, None)
    ]


def test_the_hand_built_history_recorded_and_live(org, history):
    set_terms(org, history_at(W1, 16, days=-3), 3, 50)  # in force before W1 began
    assert close_at(history_at(W2, 12, days=2)) == 1  # Wednesday of W2: W1 recorded, W2 live
    rows = table_at(history_at(W2, 12, days=2), W1, W2)
    # W1: hand-offs A, C and A again (3 of 3 agreed); A rejected, C and A accepted: 2 of 3. Kept.
    # W2 so far: B, D, E and D again: 4 hand-offs, 1 due by now (3 × 19/40 business hours);
    # accepted E, rejected D twice: 1 of 3, under the 50 % agreed: behind.
    assert [
        (r["week"], r["mqls"], r["min_mqls"], round(r["acceptance"], 4), r["met"], r["status"]) for r in rows
    ] == [
        (W1, 3, 3, 0.6667, True, "kept"),
        (W2, 4, 3, 0.3333, None, "behind"),
    ]


def test_the_table_needs_the_same_queries_whatever_the_range(org, make_lead, reasons):
    TeamCalendar.objects.create(team=org.marketing, hours={str(day): ["09:00", "17:00"] for day in range(5)})
    set_terms(org, at(W47, 16, days=-3 - 7 * 30), 2, 50)
    for back in (1, 5, 20):
        hand_off(org, make_lead, reasons, at(W47, 10, days=1 - 7 * back), count=1, accepted=1)
    close_at(at(W47, 1), limit=10)  # some weeks recorded, most not

    def queries(weeks: int) -> int:
        with time_machine.travel(at(W47, 10), tick=False), CaptureQueriesContext(connection) as captured:
            rows = dashboard.commitment_table(
                dashboard.scope_for(W47 - dt.timedelta(weeks=weeks - 1), W47)
            ).rows
        assert len(rows) == weeks
        return len(captured)

    # The terms, the recorded weeks, the number of marketing teams, the calendars (SLA's
    # `calendars_of_teams`: stored ones, their closures, the teams), then MQLs and
    # responses per week for the one team.
    assert queries(2) == queries(26) == 8


def test_the_seed_migration_reads_the_history_from_the_audit_and_rejudges_recorded_weeks(org):
    # As the product stood before the terms history: a commitment set on Wednesday of week 46
    # at 3 MQLs, raised to 5 on Tuesday of week 48; week 46 and 47 recorded late, under 5.
    seed = importlib.import_module("reports.migrations.0006_commitment_terms").seed
    created, raised = at(W47, 12, days=-5), at(W48, 9, days=1)
    commitment = MarketingCommitment.objects.create(
        team=org.marketing, min_mqls=5, min_acceptance_percent=50, created_at=created, updated_at=raised
    )
    for moment, before, after in [
        (created, None, {"min_mqls": 3, "min_acceptance_percent": 50, "is_active": True}),
        (
            raised,
            {"min_mqls": 3, "min_acceptance_percent": 50, "is_active": True},
            {"min_mqls": 5, "min_acceptance_percent": 50, "is_active": True},
        ),
    ]:
        AgreementChange.objects.create(
            area="sla",
            summary=f"Marketing commitment of Marketing: {after['min_mqls']} MQLs a week, 50% accepted",
            occurred_at=moment,
            before=before,
            after=after,
        )
    for monday in (W47 - dt.timedelta(weeks=1), W47):
        CommitmentWeek.objects.create(
            team=org.marketing,
            week_start=monday,
            mqls=4,
            accepted=1,
            rejected=1,
            min_mqls=5,
            min_acceptance_percent=50,
            met=False,
        )
    seed(apps, None)
    history = [(t.min_mqls, t.in_force_from) for t in CommitmentTerms.objects.filter(team=commitment.team)]
    # The first terms reach back to the start of the first recorded week (week 46).
    assert history == [(3, at(W47 - dt.timedelta(weeks=1))), (5, raised)]
    rejudged = list(CommitmentWeek.objects.order_by("week_start").values_list("min_mqls", "met"))
    assert rejudged == [(3, True), (3, True)]


def test_the_sla_page_lists_finished_weeks_judged_and_not_yet_recorded(client, org, make_lead, reasons):
    set_terms(org, at(W47, 16, days=-3), 3, 62)
    hand_off(org, make_lead, reasons, MONDAY, count=3, accepted=2, rejected=1)
    set_terms(org, at(W48, 9, days=1), 4, 70)
    client.force_login(org.marketing_manager)
    with time_machine.travel(at(W48, 12, days=2), tick=False):
        page = client.get("/sla/").content.decode()
    assert (
        "Mon 16 Nov 2026 · Marketing: 3 of 3 MQLs, 67 % accepted (agreed 62 %) — kept "
        '<span class="muted">(not recorded yet)</span>'
    ) in page
    # Week 48 so far, by the terms it began under: 0 of 3, 1 MQL due by Wednesday noon.
    assert '<td>Marketing</td><td class="num">0</td><td class="num">3</td>' in page
    assert "<strong>⚠ behind</strong> (1 MQL due by now)" in page


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_only_managers_set_the_commitment(org, who):
    with pytest.raises(ActionError):
        commitments.commitment_update(
            actor=getattr(org, who), team_id=org.marketing.pk, min_mqls=1, min_acceptance_percent=1
        )
    assert not MarketingCommitment.objects.exists() and not CommitmentTerms.objects.exists()


def test_commitment_validation(org):
    with pytest.raises(ActionError, match="percentage"):
        commitments.commitment_update(
            actor=org.marketing_manager, team_id=org.marketing.pk, min_mqls=5, min_acceptance_percent=140
        )
    with pytest.raises(ActionError, match="marketing teams"):
        commitments.commitment_update(
            actor=org.marketing_manager, team_id=org.sales.pk, min_mqls=5, min_acceptance_percent=50
        )

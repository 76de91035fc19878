"""The manager's SLA page: at risk now, breaches and compliance for the week, both sides."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads import services
from reports import commitments, selectors
from sla.services import sla_enforce

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_10 = dt.datetime(2026, 11, 16, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def week(org, make_lead, reasons):
    """Three hand-offs on Monday: one answered in time, one late, one never (breached)."""
    with time_machine.travel(MONDAY_10, tick=False):
        leads = [
            services.lead_qualify(lead_id=make_lead(last_name=f"L{n}").pk, actor=org.marketer)
            for n in range(3)
        ]
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        services.lead_accept(lead_id=leads[0].pk, actor=org.rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=1, hours=3), tick=False):
        services.lead_reject(lead_id=leads[1].pk, actor=org.rep, reason=reasons.rejection)
        sla_enforce()
    return leads


def test_compliance_by_rep_team_and_policy(org, week):
    by_rep = selectors.compliance_by("owner", MONDAY_10.date())
    assert by_rep == [
        {
            "key": org.rep.pk,
            "name": org.rep.get_full_name(),
            "resolved": 3,
            "met": 1,
            "breached": 2,
            "leads": 3,
            "compliance": pytest.approx(1 / 3),
            "percent": 33,
        }
    ]
    assert selectors.compliance_by("team", MONDAY_10.date())[0]["name"] == "Sales East"
    assert selectors.compliance_by("policy", MONDAY_10.date())[0]["name"] == "Default"


def test_overview_page_for_managers_only(client, org, week):
    with time_machine.travel(MONDAY_10 - dt.timedelta(days=3), tick=False):  # the Friday before
        commitments.commitment_update(
            actor=org.marketing_manager, team_id=org.marketing.pk, min_mqls=5, min_acceptance_percent=50
        )
    client.force_login(org.sales_manager)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=2), tick=False):
        page = client.get("/sla/").content.decode()
    assert "week of Mon 16 Nov 2026" in page
    assert (
        '<td class="num">3</td><td class="num">1</td><td class="num">2</td><td class="num">33 %</td>' in page
    )
    assert "L2" in page and "Breaches this week" in page
    # Marketing on Wednesday 10:00: 3 MQLs of 5 agreed, 1 of 2 responses accepted. 17 of the
    # week's 40 business hours are gone, so 2 MQLs (5 × 17/40, rounded down) are due by now:
    # on track, not missed.
    assert '<td>Marketing</td><td class="num">3</td><td class="num">5</td><td class="num">50 %</td>' in page
    assert "<td>on track (2 MQLs due by now)</td>" in page
    assert "⚠" not in page  # neither missed nor behind
    client.force_login(org.rep)
    refused = client.get("/sla/")
    assert refused.status_code == 403 and "for managers" in refused.content.decode()


@pytest.mark.parametrize("rows", [2, 8])
def test_overview_query_count_is_constant(client, org, make_lead, rows, django_assert_max_num_queries):
    with time_machine.travel(MONDAY_10, tick=False):
        for n in range(rows):
            services.lead_qualify(lead_id=make_lead(email=f"o{n}@example.com").pk, actor=org.marketer)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=2), tick=False):
        sla_enforce()
        client.force_login(org.sales_manager)
        # The page's compliance figures come from the reports rollup, refreshed first for the
        # leads changed since (a fixed number of statements: tests/reports/test_rollups.py).
        from reports import rollups

        rollups.catch_up()
        # 19 on PostgreSQL: the rollup's readiness check and the reps' and teams' names
        # come beside the counts (16 when counted from the event log).
        with django_assert_max_num_queries(19):
            page = client.get("/sla/", {"week": "2026-11-16"}).content.decode()
    assert page.count("<td>Respond to the MQL</td>") == rows  # each breach listed once


def test_clocks_and_commitments_api(org, week, agree):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(org.rep)
    breached = api.get("/api/sla/clocks/", {"state": "breached", "week": "2026-11-18"}).json()["results"]
    assert sorted(c["lead_name"].split()[-1] for c in breached) == ["L1", "L2"]
    assert {c["policy_name"] for c in breached} == {"Default"}
    assert api.get("/api/sla/clocks/", {"state": "sideways"}).status_code == 400
    refused = api.put(
        f"/api/sla/commitments/{org.marketing.pk}/",
        {"min_mqls": 1, "min_acceptance_percent": 1},
        format="json",
    )
    assert refused.status_code == 403
    api.force_authenticate(org.marketing_manager)
    with time_machine.travel(MONDAY_10 - dt.timedelta(days=3), tick=False):  # the Friday before
        made = api.put(
            f"/api/sla/commitments/{org.marketing.pk}/",
            {"min_mqls": 2, "min_acceptance_percent": 40},
            format="json",
        )
        assert made.status_code == 202, made.json()
        assert made.json()["waiting_for"] == ["sales", "marketing"]
        assert api.get(f"/api/sla/commitments/{org.marketing.pk}/").status_code == 404  # none in force yet
        agree()
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=2), tick=False):
        now = api.get(f"/api/sla/commitments/{org.marketing.pk}/").json()
    assert now["min_mqls"] == 2
    # Wednesday 10:00: 3 MQLs, 1 of 2 accepted; 2 × 17/40 business hours → no whole MQL due
    # yet: on track, no verdict.
    assert {key: now["this_week"][key] for key in ("mqls", "mqls_due", "status", "on_track")} == {
        "mqls": 3,
        "mqls_due": 0,
        "status": "on track",
        "on_track": True,
    }
    assert "met" not in now["this_week"] and now["finished_weeks"] == []
    assert api.get("/api/sla/commitments/").json()[0]["team_name"] == "Marketing"


def test_managers_propose_the_commitment_on_the_page(client, org, agree):
    from reports.models import MarketingCommitment

    client.force_login(org.marketing_manager)
    response = client.post(
        f"/sla/commitments/{org.marketing.pk}/",
        {"min_mqls": "40", "min_acceptance_percent": "55", "is_active": "on"},
    )
    assert response.status_code == 302
    assert not MarketingCommitment.objects.exists()  # proposed: in force once both confirm
    agree()
    commitment = MarketingCommitment.objects.get(team=org.marketing)
    assert (commitment.min_mqls, commitment.min_acceptance_percent, commitment.is_active) == (40, 55, True)
    bad = client.post(
        f"/sla/commitments/{org.marketing.pk}/",
        {"min_mqls": "lots", "min_acceptance_percent": "55"},
        follow=True,
    )
    assert "whole number" in bad.content.decode()
    assert MarketingCommitment.objects.get(team=org.marketing).min_mqls == 40
    client.force_login(org.rep)
    client.post(
        f"/sla/commitments/{org.marketing.pk}/",
        {"min_mqls": "1", "min_acceptance_percent": "1", "is_active": "on"},
    )
    assert MarketingCommitment.objects.get(team=org.marketing).min_mqls == 40

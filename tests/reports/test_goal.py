"""The revenue-goal calculator against a hand-computed example on the known history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from leads import services
from leads.models import Lead
from reports.goal import GoalError, measure, plan
from tests.reports.history import W1, W3, at

W4 = W3 + dt.timedelta(weeks=1)
NOW = at(W4, 12, days=2)  # Wednesday of the week after the history: W1..W3 are finished
pytestmark = pytest.mark.usefixtures("history")


@pytest.fixture(autouse=True)
def three_more_leads(make_lead):
    """Never handed off: leads that entered the funnel in W1 but not MQL."""
    with time_machine.travel(at(W1, 15), tick=False):
        for n in range(3):
            make_lead(last_name=f"Cold{n}")


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_rates_are_measured_from_the_event_log():
    measured = measure(W1, W3)
    # A, B, C, D, E and the three cold leads entered the funnel; A, B, C, D, E entered MQL.
    assert (measured.lead_to_mql.numerator, measured.lead_to_mql.denominator) == (5, 8)
    # Accepted A, C, E; rejected A once and D twice: responses, not leads.
    assert (measured.acceptance.numerator, measured.acceptance.denominator) == (3, 6)
    assert (measured.win.numerator, measured.win.denominator) == (1, 2)  # C won, E lost
    assert (measured.average_deal, measured.deals) == (Decimal("5000.00"), 1)


def test_plan_equals_the_hand_computed_example():
    result = plan(target=Decimal("60000"), weeks=4, measured=measure(W1, W3))
    # 60,000 ÷ 5,000 = 12 customers; ÷ 50 % = 24 SQLs; ÷ 50 % = 48 MQLs; ÷ 62.5 % = 76.8 → 77 leads.
    assert [(s.stage, s.total, s.per_week) for s in result.steps] == [
        ("customers", 12, 3),
        ("sqls", 24, 6),
        ("mqls", 48, 12),
        ("leads", 77, 20),
    ]
    assert result.step("leads").arithmetic == "48 ÷ 62.5 % lead → MQL rate = 77; ÷ 4 weeks = 20 a week"
    given = plan(target=Decimal("60000"), weeks=4, measured=measure(W1, W3), average_deal=Decimal("7000"))
    assert [s.total for s in given.steps] == [9, 18, 36, 58] and not given.deal_measured


def test_a_new_outcome_in_the_window_changes_the_plan(org):
    # A (an SQL since W1) is won in W3 for 7,000: win rate 2 of 3, average deal 6,000.
    a = Lead.objects.get(last_name="A")
    with time_machine.travel(at(W3, 10), tick=False):
        services.lead_win(lead_id=a.pk, actor=org.rep, amount="7000", closed_on=W3)
    result = plan(target=Decimal("60000"), weeks=4, measured=measure(W1, W3))
    # 60,000 ÷ 6,000 = 10; ÷ 2/3 = 15; ÷ 1/2 = 30; ÷ 5/8 = 48.
    assert [s.total for s in result.steps] == [10, 15, 30, 48]


def test_no_sample_is_refused_with_the_reason():
    with pytest.raises(GoalError, match="win rate measured in the window is no sample"):
        plan(target=Decimal("1000"), weeks=4, measured=measure(W3, W3))


def test_page_shows_the_arithmetic_and_a_manager_proposes_the_commitment(client, org, agree):
    from reports.models import MarketingCommitment
    from smarketing.agreement.models import AgreementVersion

    client.force_login(org.marketing_manager)
    query = {"target": "60000", "weeks": "4", "window": "3"}
    html = client.get("/agreement/goal/", query).content.decode()
    assert "48 ÷ 62.5 % lead → MQL rate = 77; ÷ 4 weeks = 20 a week" in html
    assert "5 of 8" in html and "3 of 6" in html and "1 of 2" in html  # the samples
    assert "Propose 12 MQLs a week for Marketing in a new agreement version" in html
    response = client.post(
        f"/sla/commitments/{org.marketing.pk}/",
        {"min_mqls": "12", "min_acceptance_percent": "50", "is_active": "on", "back": "goal"},
    )
    assert response.status_code == 302 and response.url == "/agreement/goal/"
    proposal = AgreementVersion.objects.get(status="proposed")
    assert [c["summary"] for c in proposal.changes] == [
        "Marketing commitment of Marketing: 12 MQLs a week, 50% accepted"
    ]
    assert not MarketingCommitment.objects.filter(team=org.marketing).exists()  # not in force yet
    agree()
    assert MarketingCommitment.objects.get(team=org.marketing).min_mqls == 12
    # A rep may read the calculator, not propose.
    client.force_login(org.rep)
    html = client.get("/agreement/goal/", query).content.decode()
    assert "20 a week" in html and "Propose 12 MQLs" not in html
    bad = client.get("/agreement/goal/", {"target": "-5", "weeks": "4", "window": "3"})
    assert bad.status_code == 400 and "greater than or equal to 0.01" in bad.content.decode()


def test_api_gives_the_same_plan_and_refuses_no_sample(org):
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    data = api.get("/api/agreement/goal/", {"target": "60000", "weeks": "4", "window": "3"}).json()
    assert [(s["stage"], s["total"], s["per_week"]) for s in data["steps"]][-1] == ("leads", 77, 20)
    assert data["rates"][0] == {
        "name": "Lead → MQL rate",
        "definition": "leads that entered MQL ÷ leads that entered the funnel",
        "numerator": 5,
        "denominator": 8,
        "value": 0.625,
    }
    assert (data["average_deal"], data["deal_measured"], data["window_first_week"]) == (
        "5000.00",
        True,
        "2026-11-02",
    )
    refused = api.get("/api/agreement/goal/", {"target": "60000", "weeks": "4", "window": "1"})
    assert refused.status_code == 422 and "choose a longer window" in refused.json()["error"]["message"]
    assert api.get("/api/agreement/goal/", {"weeks": "4", "window": "3"}).status_code == 400


def test_api_proposes_the_result_as_marketings_commitment(org, agree):
    from reports.models import MarketingCommitment

    api = APIClient()
    body = {
        "target": "60000",
        "weeks": 4,
        "window": 3,
        "team": org.marketing.pk,
        "min_acceptance_percent": 55,
    }
    api.force_authenticate(org.rep)
    assert api.post("/api/agreement/goal/", body, format="json").status_code == 403
    api.force_authenticate(org.marketing_manager)
    assert api.post("/api/agreement/goal/", {**body, "window": 1}, format="json").status_code == 422
    assert api.post("/api/agreement/goal/", {**body, "team": org.sales.pk}, format="json").status_code == 404
    made = api.post("/api/agreement/goal/", body, format="json")
    assert made.status_code == 202, made.json()
    # The page's "12 MQLs a week" for the same target: the calculator's number, not the client's.
    assert (
        made.json()["changes"][0]["summary"]
        == "Marketing commitment of Marketing: 12 MQLs a week, 55% accepted"
    )
    assert not MarketingCommitment.objects.exists()
    agree()
    assert MarketingCommitment.objects.get(team=org.marketing).min_mqls == 12

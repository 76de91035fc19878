"""The agreement page: the live configuration in plain words, for everyone to read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from reports.commitments import commitment_update
from sla import policies
from sla.models import SlaPolicy
from sla.terms import policy_in_words
from smarketing.agreement import services as agreement
from smarketing.agreement import versions
from smarketing.agreement.terms import agreement_terms

pytestmark = pytest.mark.usefixtures("default_rules")


@pytest.fixture
def hot_policy(org):
    return policies.policy_save(
        actor=org.sales_manager,
        name="Hot MQLs",
        priority=10,
        min_score=80,
        response_hours=Decimal("1"),
        follow_up_touches=6,
        follow_up_days=Decimal("5"),
        warn_percents=[50, 80],
        on_breach="reassign",
        escalate_to_manager=True,
    )


def test_policies_read_as_the_teams_would_say_them(hot_policy):
    assert policy_in_words(hot_policy) == (
        "Hot MQLs (score 80+): respond within 1 business hour, then 6 touches in 5 business days; "
        "warn at 50 % and 80 %; on breach: reassign to the next available rep, and tell the manager."
    )


def test_page_is_rendered_from_the_live_configuration(client, org, hot_policy, reasons):
    commitment_update(
        actor=org.marketing_manager, team_id=org.marketing.pk, min_mqls=75, min_acceptance_percent=60
    )
    agreement.handoff_gate_update(
        actor=org.marketing_manager, required_fields=["company", "job_title"], min_engagements=2
    )
    client.force_login(org.employee)  # readable by everyone
    html = client.get("/agreement/").content.decode()
    assert "Hot MQLs (score 80+): respond within 1 business hour, then 6 touches in 5 business days" in html
    assert "company, job title filled in, and at least 2 engagements logged" in html
    assert "Marketing hands sales at least 75 MQLs a week, of which sales accepts at least 60 %" in html
    assert reasons.rejection.label in html and reasons.loss_recycle.label in html
    assert "Change the SLA policies" not in html  # only managers get the links to change it
    # A manager changes a policy: the page says so at once (nothing typed twice).
    policies.policy_save(
        actor=org.sales_manager,
        policy_id=hot_policy.pk,
        **{**_values(hot_policy), "response_hours": Decimal("2")},
    )
    client.force_login(org.sales_manager)
    html = client.get("/agreement/").content.decode()
    assert (
        "Hot MQLs (score 80+): respond within 2 business hours" in html and "Change the SLA policies" in html
    )


def _values(policy: SlaPolicy) -> dict:
    return {
        name: getattr(policy, name)
        for name in (
            "name",
            "priority",
            "min_score",
            "response_hours",
            "follow_up_touches",
            "follow_up_days",
            "warn_percents",
            "on_breach",
            "escalate_to_manager",
        )
    }


def test_api_returns_the_same_terms(org, hot_policy, django_assert_max_num_queries):
    api = APIClient()
    api.force_authenticate(org.rep)
    versions.version_in_force()  # (the first read makes version 1)
    with django_assert_max_num_queries(13):
        body = api.get("/api/agreement/").json()
    data = body["terms"]
    assert data == agreement_terms()
    assert data["sla_policies"][0]["name"] == "Hot MQLs" and data["sla_policies"][0]["response_hours"] == "1"
    assert [stage["stage"] for stage in data["stages"]] == ["lead", "mql", "sql", "customer", "disqualified"]
    assert (body["in_force"]["number"], body["in_force"]["status"], body["proposed"]) == (1, "in_force", None)
    assert APIClient().get("/api/agreement/").status_code == 401

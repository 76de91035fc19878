"""Policy editor and preview: managers change policies (audited), everyone reads and previews."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sla.models import SlaPolicy
from smarketing.agreement.models import AgreementChange, AgreementVersion

FORM = {
    "name": "Enterprise",
    "priority": 5,
    "min_score": 60,
    "countries": "de, at",
    "response_hours": "4",
    "follow_up_touches": 2,
    "follow_up_days": "3",
    "warn_percents": "50, 90",
    "on_breach": "reassign",
    "escalate_to_manager": "on",
    "is_active": "on",
}


def test_manager_adds_a_policy_and_everyone_previews(client, org, agree):
    client.force_login(org.sales_manager)
    response = client.post("/agreement/sla/policies/", FORM)
    assert response.status_code == 302
    assert not SlaPolicy.objects.filter(name="Enterprise").exists()  # proposed
    agree()
    policy = SlaPolicy.objects.get(name="Enterprise")
    assert (policy.countries, policy.warn_percents, policy.on_breach) == ("DE,AT", [50, 90], "reassign")
    assert AgreementChange.objects.get(area="sla").summary == "Added SLA policy “Enterprise”"
    client.force_login(org.rep)
    page = client.get("/agreement/sla/", {"at": "2026-11-27T16:30", "team": org.sales.pk}).content.decode()
    assert "Add a policy" not in page
    # Friday 16:30 Berlin: 4 business hours → Monday 12:30; default 8 h → Monday 16:30.
    assert "<td>Enterprise</td><td>Mon 30 Nov 2026 12:30</td>" in page
    assert "<td>Default</td><td>Mon 30 Nov 2026 16:30</td>" in page


@pytest.mark.parametrize(
    "change, field",
    [
        ({"warn_percents": "50, 120"}, "warn_percents"),
        ({"warn_percents": "soon"}, "warn_percents"),
        ({"countries": "Germany"}, "countries"),
        ({"min_score": 80, "max_score": 10}, "max_score"),
        ({"response_hours": "0"}, "response_hours"),
    ],
)
def test_bad_policies_are_refused_keeping_the_input(client, org, change, field):
    client.force_login(org.sales_manager)
    response = client.post("/agreement/sla/policies/", {**FORM, **change})
    assert response.status_code == 400
    assert not SlaPolicy.objects.filter(name="Enterprise").exists()
    assert 'value="Enterprise"' in response.content.decode()


@pytest.mark.parametrize("who", ["rep", "marketer"])
def test_others_cannot_change_policies(client, org, who):
    client.force_login(getattr(org, who))
    response = client.post("/agreement/sla/policies/", FORM)
    assert response.status_code == 403 and "Only a manager" in response.content.decode()
    default = SlaPolicy.objects.get(name="Default")
    client.post(f"/agreement/sla/policies/{default.pk}/delete/")
    assert SlaPolicy.objects.filter(name="Default").exists()
    assert not AgreementChange.objects.exists()


def test_the_last_active_policy_cannot_be_removed(client, org):
    client.force_login(org.sales_manager)
    default = SlaPolicy.objects.get(name="Default")
    page = client.post(f"/agreement/sla/policies/{default.pk}/delete/", follow=True).content.decode()
    assert "Keep at least one active policy" in page
    assert SlaPolicy.objects.filter(pk=default.pk).exists()
    assert not AgreementVersion.objects.filter(status="proposed").exists()  # nothing proposed


def test_policy_api(org, agree):
    api = APIClient()
    api.force_authenticate(org.rep)
    assert [p["name"] for p in api.get("/api/sla/policies/").json()] == ["Default"]
    body = {
        **FORM,
        "warn_percents": [50, 90],
        "escalate_to_manager": True,
        "is_active": True,
        "countries": "DE",
    }
    assert api.post("/api/sla/policies/", body, format="json").status_code == 403
    api.force_authenticate(org.sales_manager)
    made = api.post("/api/sla/policies/", body, format="json")
    assert made.status_code == 202, made.json()
    assert made.json()["changes"][0]["summary"] == "Added SLA policy “Enterprise”"
    agree()
    enterprise = SlaPolicy.objects.get(name="Enterprise")
    bad = api.patch(f"/api/sla/policies/{enterprise.pk}/", {"warn_percents": [0]}, format="json")
    assert bad.status_code == 400 and "warn_percents" in bad.json()["error"]["fields"]
    assert SlaPolicy.objects.get(pk=enterprise.pk).warn_percents == [50, 90]
    assert not AgreementVersion.objects.filter(status="proposed").exists()
    removed = api.post(f"/api/sla/policies/{enterprise.pk}/remove/")
    assert (
        removed.status_code == 202
        and removed.json()["changes"][0]["summary"] == "Removed SLA policy “Enterprise”"
    )
    assert SlaPolicy.objects.filter(pk=enterprise.pk).exists()

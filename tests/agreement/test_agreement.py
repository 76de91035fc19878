"""The hand-off gate, routing and inbound sources: managers (or marketing, for inbound
sources) change them on their pages; everything is audited; routing follows the rules."""

from __future__ import annotations

import pytest

from leads import services
from leads.models import EventType, LeadEvent, Stage
from smarketing.agreement import services as agreement
from smarketing.agreement.models import AgreementChange, HandoffGate, RoutingRule
from smarketing.core.errors import ActionError
from smarketing.intake.models import InboundSource
from smarketing.org.models import Source


def test_gate_page_manager_changes_it_and_qualify_follows(client, org, make_lead, agree):
    client.force_login(org.marketing_manager)
    response = client.post(
        "/agreement/handoff/", {"required_fields": ["company", "phone"], "min_engagements": 2}
    )
    assert response.status_code == 302
    # Proposed, not in force: the gate is what it was until both managers confirm.
    assert HandoffGate.current().min_engagements == 1
    assert not AgreementChange.objects.filter(area="handoff_gate").exists()
    agree()
    gate = HandoffGate.current()
    assert (gate.required_fields, gate.min_engagements) == (["phone", "company"], 2)
    change = AgreementChange.objects.get(area="handoff_gate")
    assert change.actor == org.marketing_manager and change.after["min_engagements"] == 2
    lead = make_lead(phone="")
    with pytest.raises(ActionError) as refused:
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    assert refused.value.data["missing"] == ["phone", "at least 2 engagements"]


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_gate_page_refuses_others(client, org, who):
    client.force_login(getattr(org, who))
    page = client.get("/agreement/handoff/")
    assert page.status_code == 200 and "Propose the gate" not in page.content.decode()
    response = client.post("/agreement/handoff/", {"required_fields": [], "min_engagements": 0})
    assert response.status_code == 403
    assert "Only a manager" in response.content.decode()
    assert HandoffGate.current().min_engagements == 1
    assert not AgreementChange.objects.exists()


def test_routing_rule_sends_a_territory_to_its_team(client, org, make_lead):
    client.force_login(org.sales_manager)
    response = client.post(
        "/agreement/routing/rules/",
        {
            "name": "DACH",
            "position": 0,
            "countries": "de, at,ch",
            "team": org.other_sales.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.countries == "DE,AT,CH"
    org.other_rep.membership.is_away = False
    org.other_rep.membership.save()
    german = services.lead_qualify(lead_id=make_lead(country="DE").pk, actor=org.marketer)
    french = services.lead_qualify(lead_id=make_lead(country="FR").pk, actor=org.marketer)
    assert german.owner == org.other_rep
    event = LeadEvent.objects.get(lead=german, type=EventType.QUALIFIED)
    assert event.data["routing_rule"] == "DACH → Sales West, round robin"
    assert LeadEvent.objects.get(lead=french, type=EventType.QUALIFIED).data["routing_rule"] == "round robin"


def test_routing_falls_back_when_the_team_is_away(org, make_lead):
    RoutingRule.objects.create(name="Enterprise", min_company_size=1000, team=org.other_sales)
    lead = services.lead_qualify(lead_id=make_lead(company_size=5000).pk, actor=org.marketer)
    assert lead.owner == org.rep  # otherrep is away
    event = LeadEvent.objects.get(lead=lead, type=EventType.QUALIFIED)
    assert event.data["routing_rule"] == "round robin (nobody available in Sales West for Enterprise)"


def test_routing_rule_validation(client, org):
    client.force_login(org.sales_manager)
    response = client.post(
        "/agreement/routing/rules/",
        {
            "name": "Bad",
            "position": 0,
            "countries": "Germany",
            "min_company_size": 500,
            "max_company_size": 10,
            "team": org.sales.pk,
        },
    )
    assert response.status_code == 400
    assert "two-letter country codes" in response.content.decode()
    assert not RoutingRule.objects.exists()
    with pytest.raises(ActionError, match="sales team"):
        agreement.routing_rule_save(actor=org.sales_manager, name="X", team=org.marketing)
    with pytest.raises(ActionError, match="largest company size"):
        agreement.routing_rule_save(
            actor=org.sales_manager, name="X", team=org.sales, min_company_size=50, max_company_size=5
        )


def test_reps_cannot_change_routing_or_their_own_availability(client, org):
    client.force_login(org.rep)
    response = client.post("/agreement/routing/rules/", {"name": "Mine", "position": 0, "team": org.sales.pk})
    assert response.status_code == 403 and not RoutingRule.objects.exists()
    response = client.post(f"/agreement/routing/members/{org.rep.membership.pk}/", {"weight": 10})
    assert response.status_code == 403
    org.rep.membership.refresh_from_db()
    assert org.rep.membership.weight == 1


def test_manager_marks_a_rep_away_and_routing_skips_them(client, org, make_lead):
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    client.force_login(org.sales_manager)
    response = client.post(
        f"/agreement/routing/members/{org.rep.membership.pk}/", {"weight": 1, "is_away": "on"}
    )
    assert response.status_code == 302
    assert AgreementChange.objects.get(area="routing").after == {"weight": 1, "is_away": True}
    for _ in range(2):
        assert services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer).owner == org.rep2
    # Another team's manager cannot.
    client.force_login(org.other_manager)
    response = client.post(f"/agreement/routing/members/{org.rep.membership.pk}/", {"weight": 3})
    assert response.status_code == 403


def test_inbound_sources_page_shows_the_key_once(client, org):
    client.force_login(org.marketing_manager)
    form = {
        "source": Source.WEBSITE,
        "engagement_type": "form_submit",
        "per_email_per_day": 1,
        "per_minute": 60,
    }
    response = client.post("/agreement/inbound/", {"name": "Website contact form", **form})
    assert response.status_code == 200
    body = response.content.decode()
    source = InboundSource.objects.get()
    assert f'<code id="new-key">{source.key_prefix}' in body
    again = client.get("/agreement/inbound/").content.decode()
    assert "copy it now" not in again and f"{source.key_prefix}…" in again
    for person in (org.rep, org.marketer):  # sources are set up by managers
        client.force_login(person)
        assert client.post("/agreement/inbound/", {"name": "Rep form", **form}).status_code == 403
        assert client.post(f"/agreement/inbound/{source.pk}/revoke/").status_code == 302
        assert InboundSource.objects.get().is_active  # the revoke was refused


def test_stage_untouched_by_agreement_pages(org, make_lead):
    lead = make_lead()
    agreement.handoff_gate_update(actor=org.sales_manager, required_fields=[], min_engagements=0)
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD


def test_gate_and_routing_api(org, agree):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(org.rep)
    assert api.get("/api/handoff-gate/").json()["min_engagements"] == 1
    refused = api.put("/api/handoff-gate/", {"required_fields": [], "min_engagements": 0}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (
        api.post("/api/routing/rules/", {"name": "X", "team": org.sales.pk}, format="json").status_code == 403
    )

    api.force_authenticate(org.sales_manager)
    bad = api.put(
        "/api/handoff-gate/", {"required_fields": ["shoe_size"], "min_engagements": 1}, format="json"
    )
    assert bad.status_code == 400 and "shoe_size" in bad.json()["error"]["message"]
    ok = api.put("/api/handoff-gate/", {"required_fields": ["company"], "min_engagements": 0}, format="json")
    assert ok.status_code == 202 and ok.json()["changes"][0]["summary"] == (
        "Hand-off gate: Company; at least 0 engagements"
    )
    assert api.get("/api/handoff-gate/").json()["min_engagements"] == 1  # until both confirm
    agree()
    assert api.get("/api/handoff-gate/").json() == {"required_fields": ["company"], "min_engagements": 0}
    made = api.post(
        "/api/routing/rules/",
        {"name": "UK", "countries": "gb", "sources": ["event"], "team": org.other_sales.pk},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert RoutingRule.objects.get().countries == "GB" and made.json()["sources"] == ["event"]
    # Proposed, confirmed by each side, the gate applied, the version in force; the routing rule.
    assert list(AgreementChange.objects.order_by("id").values_list("area", flat=True)) == [
        "agreement",
        "agreement",
        "agreement",
        "handoff_gate",
        "agreement",
        "routing",
    ]

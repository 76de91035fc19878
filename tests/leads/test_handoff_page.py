"""Hand-off from the lead page: the gate says what is missing; only marketing hands off."""

from __future__ import annotations

from leads.models import EventType, Lead, LeadEvent, Stage
from tests.factories import LeadFactory


def test_marketer_hands_off_from_the_lead_page(client, org, make_lead):
    lead = make_lead(first_name="Gina", last_name="Gate")
    client.force_login(org.marketer)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Hand off to sales" in page
    response = client.post(
        f"/leads/{lead.pk}/act/qualify/", {"version": lead.version, "note": "Asked for pricing"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.qualified_by) == (Stage.MQL, org.rep, org.marketer)
    event = LeadEvent.objects.get(lead=lead, type=EventType.QUALIFIED)
    assert event.note == "Asked for pricing" and event.data["routing_rule"] == "round robin"
    assert "score_receipt" in event.data


def test_gate_refusal_names_what_is_missing_and_changes_nothing(client, org):
    lead = LeadFactory(company="", job_title="")
    client.force_login(org.marketer)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "The hand-off gate still needs: company, job title, at least 1 engagement." in page
    response = client.post(f"/leads/{lead.pk}/act/qualify/", {"version": lead.version, "note": ""})
    assert response.status_code == 400
    assert "missing company, job title, at least 1 engagement" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD
    assert not LeadEvent.objects.filter(lead=lead, type=EventType.QUALIFIED).exists()


def test_rep_cannot_hand_off(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.rep)
    assert "Hand off to sales" not in client.get(f"/leads/{lead.pk}/").content.decode()
    response = client.post(f"/leads/{lead.pk}/act/qualify/", {"version": lead.version, "note": ""})
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD


def test_stale_version_is_refused(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.marketer)
    response = client.post(f"/leads/{lead.pk}/act/qualify/", {"version": lead.version - 1 or 99, "note": ""})
    assert response.status_code == 409
    assert "Someone changed this lead" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD


def test_marketer_logs_an_engagement_by_hand_and_the_score_follows(client, org, default_rules):
    lead = LeadFactory(job_title="", company_size=None, country="", phone="")
    client.force_login(org.marketer)
    assert "Log an engagement" in client.get(f"/leads/{lead.pk}/").content.decode()
    response = client.post(
        f"/leads/{lead.pk}/act/engagement/",
        {"type": "event_attended", "title": "Booth at SaaStock", "url": "saastock.com"},
    )
    assert response.status_code == 302
    engagement = lead.engagements.get()
    assert (engagement.title, engagement.url, engagement.points, engagement.logged_by) == (
        "Booth at SaaStock",
        "https://saastock.com",
        15,
        org.marketer,
    )
    lead.refresh_from_db()
    assert lead.score == 15
    client.force_login(org.rep)
    assert "Log an engagement" not in client.get(f"/leads/{lead.pk}/").content.decode()
    refused = client.post(f"/leads/{lead.pk}/act/engagement/", {"type": "page_view"})
    assert refused.status_code == 403
    assert lead.engagements.count() == 1


def test_manager_overrides_routing_on_the_page_and_in_the_api(client, org, make_lead):
    from rest_framework.test import APIClient

    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    lead = make_lead()
    client.force_login(org.marketing_manager)
    assert "Routing decides" in client.get(f"/leads/{lead.pk}/").content.decode()
    response = client.post(f"/leads/{lead.pk}/act/qualify/", {"version": lead.version, "owner": org.rep2.pk})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == org.rep2
    assert (
        LeadEvent.objects.get(lead=lead, type=EventType.QUALIFIED).data["routing_rule"] == "manager override"
    )

    other = make_lead()
    api = APIClient()
    api.force_authenticate(org.marketer)
    refused = api.post(f"/api/leads/{other.pk}/qualify/", {"owner": org.rep2.pk}, format="json")
    assert refused.status_code == 403 and "a manager" in refused.json()["error"]["message"]
    assert Lead.objects.get(pk=other.pk).stage == Stage.LEAD
    api.force_authenticate(org.sales_manager)
    done = api.post(f"/api/leads/{other.pk}/qualify/", {"owner": org.rep2.pk}, format="json")
    assert done.status_code == 403  # a sales manager is not marketing: hand-off is marketing's
    api.force_authenticate(org.marketing_manager)
    done = api.post(f"/api/leads/{other.pk}/qualify/", {"owner": org.rep2.pk}, format="json")
    assert done.status_code == 200 and done.json()["owner"]["id"] == org.rep2.pk

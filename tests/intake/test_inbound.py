"""Engagements from other systems and website forms: idempotent, inbound leads, keys
that can do one thing only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.models import Engagement, EventType, Lead, LeadEvent
from smarketing.core.errors import ActionError
from smarketing.intake import inbound
from smarketing.intake.models import IdempotencyRecord
from smarketing.org.models import Campaign, Source


@pytest.fixture
def api(org):
    client = APIClient()
    client.force_authenticate(org.marketer)
    return client


def test_engagement_api_creates_inbound_lead_once_and_is_idempotent(api, org, default_rules):
    body = {
        "email": "New.Person@Example.com",
        "type": "webinar_attended",
        "title": "Closing the loop",
        "origin": "zoom",
        "external_id": "reg-991",
        "first_name": "New",
        "company": "Example",
    }
    first = api.post("/api/engagements/", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["lead_created"] and first.json()["engagement_created"]
    lead = Lead.objects.get(email="new.person@example.com")
    assert (lead.first_name, lead.company, lead.source) == ("New", "Example", Source.WEBSITE)
    created = LeadEvent.objects.get(lead=lead, type=EventType.CREATED)
    assert created.data["via"] == "api" and created.actor == org.marketer
    assert [line["label"] for line in lead.score_receipt if line["kind"] == "engagement"] == [
        "Webinar attended"
    ]

    again = api.post("/api/engagements/", body, format="json")
    assert again.status_code == 200
    assert again.json() == {**first.json(), "lead_created": False, "engagement_created": False}
    assert Engagement.objects.count() == 1 and Lead.objects.count() == 1

    other = api.post(
        "/api/engagements/", {**body, "external_id": "reg-992", "type": "pricing_page"}, format="json"
    )
    assert other.status_code == 201 and not other.json()["lead_created"]
    assert Engagement.objects.filter(lead=lead).count() == 2


def test_engagement_api_validation_and_roles(api, org):
    bad = api.post("/api/engagements/", {"email": "x@", "type": "telepathy"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"email", "type"}
    rep = APIClient()
    rep.force_authenticate(org.rep)
    refused = rep.post("/api/engagements/", {"email": "a@b.io", "type": "page_view"}, format="json")
    assert refused.status_code == 403
    assert not Lead.objects.exists() and not Engagement.objects.exists()


@pytest.fixture
def key(org):
    campaign = Campaign.objects.create(name="Website 2026")
    source, raw = inbound.inbound_source_create(
        actor=org.marketer, name="Website contact form", source=Source.WEBSITE, campaign=campaign
    )
    return raw


def test_inbound_form_with_key_and_idempotency(org, key):
    client = APIClient()
    body = {
        "email": "Form@Lead.io",
        "first_name": "Fay",
        "company": "Lead IO",
        "form": "Contact us",
        "page_url": "https://x.io/contact",
    }
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}", "HTTP_IDEMPOTENCY_KEY": "sub-1"}
    first = client.post("/api/inbound/", body, format="json", **headers)
    assert first.status_code == 201, first.json()
    lead = Lead.objects.get(email="form@lead.io")
    assert lead.source == Source.WEBSITE and lead.campaign.name == "Website 2026"
    assert LeadEvent.objects.get(lead=lead, type=EventType.CREATED).data["via"] == "inbound_form"
    engagement = Engagement.objects.get(lead=lead)
    assert (engagement.type, engagement.title, engagement.url) == (
        "form_submit",
        "Contact us",
        "https://x.io/contact",
    )

    replay = client.post("/api/inbound/", body, format="json", **headers)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Engagement.objects.count() == 1 and IdempotencyRecord.objects.count() == 1

    reused = client.post("/api/inbound/", {**body, "first_name": "Other"}, format="json", **headers)
    assert reused.status_code == 422
    assert "already used for a different submission" in reused.json()["error"]["message"]

    second = client.post(
        "/api/inbound/", body, format="json", HTTP_X_API_KEY=key, HTTP_IDEMPOTENCY_KEY="sub-2"
    )
    assert second.status_code == 201 and not second.json()["lead_created"]
    assert Engagement.objects.count() == 2


def test_inbound_key_is_needed_and_does_nothing_else(org, key):
    client = APIClient()
    missing = client.post("/api/inbound/", {"email": "a@b.io"}, format="json")
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == "Api-Key"
    wrong = client.post(
        "/api/inbound/", {"email": "a@b.io"}, format="json", HTTP_AUTHORIZATION="Api-Key smk_nope"
    )
    assert wrong.status_code == 401
    # The key opens no other door.
    for path in ("/api/leads/", "/api/engagements/", "/api/me/"):
        assert client.get(path, HTTP_AUTHORIZATION=f"Api-Key {key}").status_code == 401
    bad = client.post("/api/inbound/", {"email": "nope"}, format="json", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert bad.status_code == 400 and "email" in bad.json()["error"]["fields"]
    assert not Lead.objects.exists()


def test_revoked_key_is_refused(org, key):
    source = inbound.inbound_authenticate(key)
    inbound.inbound_source_revoke(actor=org.marketer, source_id=source.pk)
    response = APIClient().post("/api/inbound/", {"email": "a@b.io"}, format="json", HTTP_X_API_KEY=key)
    assert response.status_code == 401


def test_only_marketing_makes_keys(org):
    with pytest.raises(ActionError) as refused:
        inbound.inbound_source_create(actor=org.rep, name="Sneaky")
    assert refused.value.code == ActionError.FORBIDDEN

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
        actor=org.marketing_manager, name="Website contact form", source=Source.WEBSITE, campaign=campaign
    )
    return raw


def post(key, body, **headers):
    return APIClient().post(
        "/api/inbound/", body, format="json", HTTP_AUTHORIZATION=f"Api-Key {key}", **headers
    )


def test_inbound_form_with_key_and_idempotency(org, key):
    body = {
        "email": "Form@Lead.io",
        "first_name": "Fay",
        "company": "Lead IO",
        "form": "Contact us",
        "page_url": "https://x.io/contact",
    }
    first = post(key, body, HTTP_IDEMPOTENCY_KEY="sub-1")
    assert first.status_code == 202 and first.json() == {"received": True}
    lead = Lead.objects.get(email="form@lead.io")
    assert lead.source == Source.WEBSITE and lead.campaign.name == "Website 2026"
    assert (lead.first_name, lead.company) == ("Fay", "Lead IO")
    assert LeadEvent.objects.get(lead=lead, type=EventType.CREATED).data["via"] == "inbound_form"
    engagement = Engagement.objects.get(lead=lead)
    assert (engagement.type, engagement.title, engagement.url) == (
        "form_submit",
        "Contact us",
        "https://x.io/contact",
    )

    replay = post(key, body, HTTP_IDEMPOTENCY_KEY="sub-1")
    assert replay.status_code == 202 and replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Engagement.objects.count() == 1 and IdempotencyRecord.objects.count() == 1

    reused = post(key, {**body, "first_name": "Other"}, HTTP_IDEMPOTENCY_KEY="sub-1")
    assert reused.status_code == 422
    assert "already used for a different submission" in reused.json()["error"]["message"]

    # A second post for the same person the same day: answered alike, recorded once a day.
    second = post(key, body, HTTP_X_IDEMPOTENCY_KEY="sub-2")
    assert second.status_code == 202 and second.json() == {"received": True}
    assert Engagement.objects.count() == 1


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
    bad = post(key, {"email": "nope"})
    assert bad.status_code == 400 and "email" in bad.json()["error"]["fields"]
    assert not Lead.objects.exists()


def test_revoked_key_is_refused(org, key):
    source = inbound.inbound_authenticate(key)
    inbound.inbound_source_revoke(actor=org.marketing_manager, source_id=source.pk)
    assert post(key, {"email": "a@b.io"}).status_code == 401


def test_only_managers_set_up_sources(org):
    for person in (org.rep, org.marketer):
        with pytest.raises(ActionError) as refused:
            inbound.inbound_source_create(actor=person, name="Sneaky")
        assert refused.value.code == ActionError.FORBIDDEN


# --- an anonymous post drives nothing (issue 20, class 2) ----------------------------------------


def test_a_post_cannot_choose_what_it_records(org, key):
    for extra in ({"type": "demo_request"}, {"job_title": "CEO"}, {"company_size": 10000}, {"score": 99}):
        refused = post(key, {"email": "eve@evil.io", **extra})
        assert refused.status_code == 422, extra  # well-formed, but not what this form may send
        assert "set up in Smarketing" in refused.json()["error"]["message"]
    assert not Lead.objects.exists() and not Engagement.objects.exists()


def test_anonymous_posts_cannot_pump_a_lead_into_sales(org, key, default_rules):
    from smarketing.agreement import scoring

    scoring.scoring_definition_update(
        actor=org.marketing_manager, threshold=10, auto_qualify=True, decay_half_life_days=None
    )
    for n in range(3):
        assert (
            post(key, {"email": "pump@evil.io", "first_name": "Pump", "form": f"try {n}"}).status_code == 202
        )
    lead = Lead.objects.get(email="pump@evil.io")
    assert Engagement.objects.filter(lead=lead).count() == 1  # one a day, of the source's type
    assert lead.stage == "lead"
    assert not lead.clocks.exists()


def test_the_answer_is_the_same_for_a_new_and_a_known_person(org, key, make_lead):
    known = make_lead(email="known@acme.io")
    new = post(key, {"email": "new@acme.io"})
    again = post(key, {"email": "known@acme.io"})
    assert (new.status_code, new.json()) == (again.status_code, again.json()) == (202, {"received": True})
    assert str(known.pk) not in again.content.decode()


def test_a_source_decides_its_fields_type_and_limits(org):
    source, raw = inbound.inbound_source_create(
        actor=org.sales_manager,
        name="Demo request form",
        engagement_type="demo_request",
        fields=["first_name", "job_title"],
        per_email_per_day=2,
        per_minute=3,
    )
    answers = [post(raw, {"email": "cto@acme.io", "job_title": "CTO"}).status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]
    lead = Lead.objects.get(email="cto@acme.io")
    assert lead.job_title == "CTO"
    assert list(Engagement.objects.filter(lead=lead).values_list("type", flat=True)) == ["demo_request"] * 2
    assert post(raw, {"email": "x@acme.io", "company": "Acme"}).status_code in (400, 429)

"""Creating, editing and merging leads through the API: the same rules and messages as
the pages (both come from the services), in the API's one error format."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads import selectors, services
from leads import selectors as leads_selectors
from leads.models import Engagement, EventType, Lead, LeadEvent, Stage
from smarketing.org.models import Source
from tests.factories import CampaignFactory

# TEMPORARY `urls` mark: remove it once LeadWriteMixin is in LeadViewSet's bases.
pytestmark = [pytest.mark.django_db]

LEADS = "/api/leads/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def new_lead(**overrides):
    return {
        "email": " Ann.Lee@Acme.example ",
        "first_name": "Ann",
        "last_name": "Lee",
        "phone": "+49 30 5550101",
        "company": "Acme GmbH",
        "country": "de",
        "source": Source.WEBINAR,
        **overrides,
    }


def error(response):
    return response.json()["error"]


# --- create ------------------------------------------------------------------------------------


def test_marketer_creates_a_lead(org):
    campaign = CampaignFactory()
    response = client_for(org.marketer).post(LEADS, new_lead(campaign=campaign.pk), format="json")
    assert response.status_code == 201
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert body["email"] == lead.email == "ann.lee@acme.example"
    assert body["warnings"] == []
    assert (lead.stage, lead.source, lead.campaign, lead.country) == (
        Stage.LEAD,
        Source.WEBINAR,
        campaign,
        "DE",
    )
    event = LeadEvent.objects.get(lead=lead, type=EventType.CREATED)
    assert event.actor == org.marketer and event.data["via"] == "api"


def test_a_duplicate_email_is_refused_with_the_existing_id(org, make_lead):
    existing = make_lead(email="ann.lee@acme.example")
    response = client_for(org.marketer).post(LEADS, new_lead(email="ANN.LEE@acme.example "), format="json")
    assert response.status_code == 409
    body = error(response)
    assert body["code"] == "duplicate" and body["existing_id"] == existing.pk
    assert (
        body["message"] == f"A lead with the email ann.lee@acme.example already exists (lead {existing.pk})."
    )
    assert body["fields"] == {"email": [body["message"]]}
    assert Lead.objects.count() == 1


def test_likely_duplicates_come_back_as_warnings_without_blocking(org, make_lead):
    same_phone = make_lead(phone="+49 30 5550101", first_name="Bob", last_name="Other", company="Else")
    same_name = make_lead(first_name="ann", last_name="LEE", company="ACME GMBH")
    response = client_for(org.marketer).post(LEADS, new_lead(), format="json")
    assert response.status_code == 201
    warnings = {w["lead"]: w for w in response.json()["warnings"]}
    assert set(warnings) == {same_phone.pk, same_name.pk}
    assert warnings[same_phone.pk]["reasons"] == ["same phone"]
    assert warnings[same_name.pk]["reasons"] == ["same name and company"]
    assert warnings[same_name.pk]["code"] == "likely_duplicate"
    assert str(same_name.pk) in warnings[same_name.pk]["message"]
    assert Lead.objects.filter(email="ann.lee@acme.example").exists()


def test_the_written_once_duplicate_read_finds_what_the_orm_finds(
    org, make_lead, require_postgres, monkeypatch
):
    """On PostgreSQL `likely_duplicates` reads with SQL written once: the same leads, in
    the same order, with the same reasons as its ORM query (used elsewhere)."""
    from leads.selectors import likely_duplicates

    def _likely_duplicates_orm(**values):
        with monkeypatch.context() as patched:
            patched.setattr(leads_selectors, "_duplicates_sql", leads_selectors._duplicates_orm)
            return likely_duplicates(**values)

    phone = "+49 30 5550101"
    for n in range(7):  # more than the five shown, by phone and by name
        make_lead(phone=phone if n % 2 else "", first_name="Jörg", last_name="Müller", company="Straße AG")
    make_lead(phone=phone, first_name="jörg", last_name="MÜLLER", company="straße ag")
    make_lead(phone="", first_name="Jörg", last_name="Müller", company="Other")
    make_lead(phone="+49 30 5550102", first_name="Jörg", last_name="", company="Straße AG")
    survivor = make_lead(phone=phone)
    merged = make_lead(phone=phone)
    services.lead_merge(survivor_id=survivor.pk, other_id=merged.pk, actor=org.marketer)
    excluded = make_lead(phone=phone).pk
    cases = [
        {"phone": phone},
        {"phone": f" {phone} "},
        {"first_name": "JÖRG", "last_name": "müller", "company": "STRASSE AG"},
        {"first_name": "JÖRG", "last_name": "müller", "company": "STRAßE AG"},
        {"first_name": " Jörg ", "last_name": "Müller", "company": "Straße AG", "phone": phone},
        {"first_name": "Jörg", "last_name": "", "company": "Straße AG"},
        {"first_name": "Jörg", "last_name": "Müller", "company": "Other", "phone": "+49 30 5550102"},
        {},
    ]
    for case in cases:
        values = {name: case.get(name, "") for name in ("phone", "first_name", "last_name", "company")}
        orm = _likely_duplicates_orm(**values, exclude_id=excluded)
        sql = likely_duplicates(**values, exclude_id=excluded)
        assert [(w.lead.pk, w.reasons, w.message) for w in sql] == [
            (w.lead.pk, w.reasons, w.message) for w in orm
        ], case
        unexcluded = [w.lead.pk for w in likely_duplicates(**values)]
        assert unexcluded == [w.lead.pk for w in _likely_duplicates_orm(**values)], case
    assert len(likely_duplicates(**cases[4], exclude_id=excluded)) == 5


def test_the_create_serializers_share_fields_but_not_what_they_validate():
    """LeadWriteSerializer builds its fields once per class (FieldsOnceMixin): two inputs
    validated side by side keep their own data and errors."""
    from leads.serializers import LeadWriteSerializer

    good = LeadWriteSerializer(data=new_lead(company_size="12"))
    bad = LeadWriteSerializer(data=new_lead(email="", company_size="many", nickname="Annie"))
    unknown = LeadWriteSerializer(data={"email": "x@acme.example", "nickname": "Annie"})
    assert good.fields is bad.fields
    assert not bad.is_valid() and good.is_valid() and not unknown.is_valid()
    assert set(bad.errors) == {"email", "company_size"}
    assert unknown.errors == {"non_field_errors": ["Unknown field(s): nickname."]}
    assert good.validated_data["company_size"] == 12 and good.validated_data["campaign"] is None
    assert good.errors == {}


def test_invalid_input_is_refused_with_the_same_messages_as_the_page(org, client):
    response = client_for(org.marketer).post(
        LEADS, new_lead(email="ann-at-acme", country="Germany"), format="json"
    )
    assert response.status_code == 422
    body = error(response)
    assert body["code"] == "invalid"
    assert body["fields"]["email"] == ["Enter a valid email address."]
    assert body["fields"]["country"][0] == "Use a two-letter ISO country code, for example DE or US."
    assert not Lead.objects.exists()
    # The page says the same
    client.force_login(org.marketer)
    page = client.post("/leads/new/", {**new_lead(email="ann-at-acme", country="Germany")}).content.decode()
    assert body["fields"]["country"][0] in page and body["fields"]["email"][0] in page


@pytest.mark.parametrize(
    "overrides,field,message,status",
    [
        # Not what the schema says (400), or well-formed and refused by a rule (422).
        ({"email": ""}, "email", "An email address is required.", 400),
        ({"source": "carrier-pigeon"}, "source", "“carrier-pigeon” is not a known source.", 400),
        ({"campaign": 987654}, "campaign", "That campaign does not exist.", 422),
        ({"company_size": "many"}, "company_size", "Enter a whole number.", 400),
        ({"stage": "customer"}, "non_field_errors", "Unknown field(s): stage.", 400),
    ],
)
def test_bad_fields_are_refused_in_words(org, overrides, field, message, status):
    response = client_for(org.marketer).post(LEADS, new_lead(**overrides), format="json")
    assert response.status_code == status
    assert error(response)["fields"][field] == [message]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("who", ["rep", "sales_manager", "employee"])
def test_only_marketing_creates_leads(org, who):
    response = client_for(getattr(org, who)).post(LEADS, new_lead(), format="json")
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    assert "only marketing can" in error(response)["message"]
    assert not Lead.objects.exists()


# --- edit --------------------------------------------------------------------------------------


def test_marketer_patches_a_lead_and_the_diff_is_recorded(org, make_lead):
    lead = make_lead()
    response = client_for(org.marketer).patch(
        f"{LEADS}{lead.pk}/", {"job_title": "CTO", "country": "us", "version": lead.version}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["job_title"], body["country"], body["version"]) == ("CTO", "US", lead.version + 1)
    assert body["warnings"] == []
    event = LeadEvent.objects.get(lead=lead, type=EventType.UPDATED)
    assert event.actor == org.marketer
    assert event.data["changes"] == {"job_title": [lead.job_title, "CTO"], "country": ["DE", "US"]}


def test_a_patch_warns_about_a_likely_duplicate_phone(org, make_lead):
    other, lead = make_lead(phone="+1 555 0199"), make_lead()
    response = client_for(org.marketer).patch(f"{LEADS}{lead.pk}/", {"phone": "+1 555 0199"}, format="json")
    assert response.status_code == 200
    assert [w["lead"] for w in response.json()["warnings"]] == [other.pk]
    assert Lead.objects.get(pk=lead.pk).phone == "+1 555 0199"


def test_a_stale_patch_is_refused_and_changes_nothing(org, make_lead):
    lead = make_lead()
    services.lead_update(lead_id=lead.pk, actor=org.marketer2, job_title="VP Sales")
    response = client_for(org.marketer).patch(
        f"{LEADS}{lead.pk}/", {"job_title": "CTO", "version": lead.version}, format="json"
    )
    assert response.status_code == 409
    body = error(response)
    assert body["code"] == "stale_version" and body["current_version"] == lead.version + 1
    assert "Someone changed this lead since you loaded it" in body["message"]
    assert Lead.objects.get(pk=lead.pk).job_title == "VP Sales"
    assert LeadEvent.objects.filter(lead=lead, type=EventType.UPDATED).count() == 1


def test_a_rep_cannot_patch_a_marketing_lead(org, make_lead):
    lead = make_lead()
    response = client_for(org.rep).patch(f"{LEADS}{lead.pk}/", {"job_title": "CTO"}, format="json")
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).job_title != "CTO"
    assert not LeadEvent.objects.filter(lead=lead, type=EventType.UPDATED).exists()


def test_first_touch_and_stage_cannot_be_patched(org, make_lead):
    lead = make_lead()
    response = client_for(org.marketer).patch(
        f"{LEADS}{lead.pk}/", {"source": "event", "stage": "customer"}, format="json"
    )
    assert response.status_code == 400
    assert error(response)["message"] == "These fields cannot be edited: source, stage."
    assert Lead.objects.get(pk=lead.pk).version == lead.version


def test_patching_to_another_leads_email_is_a_409_with_its_id(org, make_lead):
    other, lead = make_lead(), make_lead()
    response = client_for(org.marketer).patch(
        f"{LEADS}{lead.pk}/", {"email": other.email.upper()}, format="json"
    )
    assert response.status_code == 409
    assert error(response)["existing_id"] == other.pk
    assert Lead.objects.get(pk=lead.pk).email == lead.email


# --- merge -------------------------------------------------------------------------------------


def test_merge_keeps_both_histories_on_the_survivor(org, make_lead):
    survivor, other = make_lead(), make_lead()
    response = client_for(org.marketer).post(
        f"{LEADS}{survivor.pk}/merge/", {"other": other.pk, "survivor": "this", "note": "Same"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["id"] == survivor.pk
    assert Engagement.objects.filter(lead=survivor).count() == 2
    assert Lead.objects.get(pk=other.pk).merged_into_id == survivor.pk
    assert LeadEvent.objects.get(lead=survivor, type=EventType.MERGED).actor == org.marketer
    assert LeadEvent.objects.filter(lead=other, type=EventType.MERGED_INTO).exists()
    events = client_for(org.rep).get(f"{LEADS}{survivor.pk}/events/").json()
    assert {e["lead"] for e in events if e["type"] == "created"} == {survivor.pk, other.pk}
    assert len(events) == len(list(selectors.lead_timeline(survivor)))


def test_merge_into_the_other_lead(org, make_lead):
    lead, other = make_lead(), make_lead()
    response = client_for(org.sales_manager).post(
        f"{LEADS}{lead.pk}/merge/", {"other": other.pk, "survivor": "other"}, format="json"
    )
    assert response.status_code == 200 and response.json()["id"] == other.pk
    assert Lead.objects.get(pk=lead.pk).merged_into_id == other.pk


def test_a_rep_cannot_merge(org, make_lead):
    lead, other = make_lead(), make_lead()
    response = client_for(org.rep).post(f"{LEADS}{lead.pk}/merge/", {"other": other.pk}, format="json")
    assert response.status_code == 403
    assert error(response)["message"] == "You cannot merge this lead: only a marketer or a manager can."
    assert not Lead.objects.filter(merged_into__isnull=False).exists()
    assert not LeadEvent.objects.filter(type__in=[EventType.MERGED, EventType.MERGED_INTO]).exists()


def test_a_lead_cannot_be_merged_with_itself(org, make_lead):
    lead = make_lead()
    response = client_for(org.marketer).post(f"{LEADS}{lead.pk}/merge/", {"other": lead.pk}, format="json")
    assert response.status_code == 422
    assert error(response)["message"] == "Choose two different leads to merge."
    assert Lead.objects.get(pk=lead.pk).merged_into_id is None


def test_merging_an_unknown_lead_is_refused(org, make_lead):
    lead = make_lead()
    response = client_for(org.marketer).post(f"{LEADS}{lead.pk}/merge/", {"other": 987654}, format="json")
    assert response.status_code == 422
    assert error(response)["fields"]["other"] == ["No lead has the id 987654."]

"""Consent to marketing contact through the API (issue 28): shown on every lead, given with
a new lead, recorded and listed at /api/leads/{id}/consent/ — checked by the same service
as the pages (`consent_clean`, `lead_consent_record`), refused in the one error format."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.models import Consent, ConsentMethod, ConsentRecord, LawfulBasis, Lead
from leads.services.erasure import leads_anonymise
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
NEW_LEAD = {"email": "ann.lee@acme.example", "first_name": "Ann", "last_name": "Lee", "company": "Acme"}
CONSENT_FIELDS = ("consent", "consent_at", "consent_method", "consent_wording", "lawful_basis")


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def answer(consent: str, *, at: str | None = None, wording: str = "Newsletter v3") -> dict:
    return services.consent_clean(
        {"consent": consent, "consent_at": at, "consent_wording": wording}, method=ConsentMethod.FORM
    )


def consent_of(lead: Lead) -> tuple:
    lead.refresh_from_db()
    return tuple(getattr(lead, name) for name in CONSENT_FIELDS)


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    error = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


# --- a lead shows its consent ----------------------------------------------------------------------


def test_a_lead_shows_its_answer_and_whether_it_was_erased(api, org):
    lead = LeadFactory(consent=answer("withdrawn", at="2026-05-02T10:30:00+00:00"))
    plain = LeadFactory()
    client = as_user(api, org.employee)  # the closed loop: everyone reads where leads are
    row = client.get(f"/api/leads/{lead.pk}/").json()
    assert {name: row[name] for name in (*CONSENT_FIELDS, "no_contact", "erased_at")} == {
        "consent": "withdrawn",
        "consent_at": "2026-05-02T12:30:00+02:00",
        "consent_method": "form",
        "consent_wording": "Newsletter v3",
        "lawful_basis": "",
        "no_contact": True,
        "erased_at": None,
    }
    row = client.get(f"/api/leads/{plain.pk}/").json()
    assert (row["consent"], row["consent_at"], row["no_contact"]) == ("", None, False)
    with transaction.atomic():
        leads_anonymise([lead.pk], now=timezone.now())
    row = client.get(f"/api/leads/{lead.pk}/").json()
    assert row["erased_at"] == "2026-06-01T11:00:00+02:00" and row["consent"] == "withdrawn"


def test_the_lead_list_filters_on_consent(api, org):
    leads = {
        "none": LeadFactory(),
        "given": LeadFactory(consent=answer("given")),
        "refused": LeadFactory(consent=answer("refused")),
        "withdrawn": LeadFactory(consent=answer("withdrawn")),
        "withdrawn2": LeadFactory(consent=answer("withdrawn")),
    }
    client = as_user(api, org.rep)

    def ids(**params) -> set[int]:
        response = client.get("/api/leads/", params)
        assert response.status_code == 200, response.content[:300]
        return {row["id"] for row in response.json()["results"]}

    assert ids(consent="withdrawn") == {leads["withdrawn"].pk, leads["withdrawn2"].pk}
    assert ids(consent="not_recorded") == {leads["none"].pk}
    assert ids(consent="given") == {leads["given"].pk}
    assert ids(consent="no_contact") == {leads["refused"].pk, leads["withdrawn"].pk, leads["withdrawn2"].pk}
    assert len(ids()) == 5
    assert "consent" in refused(client.get("/api/leads/", {"consent": "maybe"}), 400, "malformed")["fields"]
    assert "consent" in refused(client.get("/api/leads/", {"consent": ""}), 400, "malformed")["fields"]


def test_the_api_export_has_the_consent_columns(api, org):
    LeadFactory(email="w@example.com", consent=answer("withdrawn", at="2026-05-02T10:30:00+00:00"))
    LeadFactory(email="n@example.com")
    response = as_user(api, org.rep).get("/api/leads/export/", {"consent": "withdrawn"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["Email"], r["Consent"], r["Consent at"], r["Consent method"]) for r in rows] == [
        ("w@example.com", "withdrawn", "2026-05-02T12:30:00+02:00", "form")
    ]


# --- a new lead with its answer --------------------------------------------------------------------


def test_a_new_lead_comes_with_its_answer(api, org):
    client = as_user(api, org.marketer)
    created = client.post(
        "/api/leads/",
        {
            **NEW_LEAD,
            "consent": "Given",  # a label too: the service reads both
            "consent_at": "2026-05-20T08:00:00Z",
            "consent_wording": "Newsletter v3",
            "lawful_basis": "consent",
        },
        format="json",
    )
    assert created.status_code == 201, created.content[:500]
    body = created.json()
    lead = Lead.objects.get(pk=body["id"])
    given_at = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.UTC)
    assert consent_of(lead) == (
        Consent.GIVEN,
        given_at,
        ConsentMethod.API,
        "Newsletter v3",
        LawfulBasis.CONSENT,
    )
    record = ConsentRecord.objects.get()
    assert (record.lead, record.consent, record.given_at, record.method, record.recorded_by) == (
        lead,
        Consent.GIVEN,
        given_at,
        ConsentMethod.API,
        org.marketer,
    )
    # The answer is the lead as stored: the same as a read of it.
    body.pop("warnings")
    assert body == client.get(f"/api/leads/{lead.pk}/").json()
    assert body["consent"] == "given" and body["consent_method"] == "api"


def test_a_new_lead_without_an_answer_records_none(api, org):
    created = as_user(api, org.marketer).post("/api/leads/", NEW_LEAD, format="json")
    assert created.status_code == 201
    assert consent_of(Lead.objects.get()) == ("", None, "", "", "") and not ConsentRecord.objects.exists()


@pytest.mark.parametrize(
    "given, field",
    [
        ({"consent": "given"}, "consent_wording"),
        ({"consent": "given", "consent_wording": "x" * 501}, "consent_wording"),
        ({"consent": "maybe", "consent_wording": "V3"}, "consent"),
        ({"consent_at": "2026-05-01", "consent_wording": "V3"}, "consent"),
        ({"consent": "given", "consent_wording": "V3", "consent_at": "2026-02-30"}, "consent_at"),
        ({"consent": "given", "consent_wording": "V3", "consent_at": "2027-01-01T00:00:00Z"}, "consent_at"),
        ({"consent": "given", "consent_wording": "V3", "consent_at": "0001-01-01T00:30:00"}, "consent_at"),
        ({"consent": "given", "consent_wording": "V3", "lawful_basis": "whim"}, "lawful_basis"),
    ],
)
def test_a_bad_answer_refuses_the_new_lead_under_its_field(api, org, given, field):
    response = as_user(api, org.marketer).post("/api/leads/", {**NEW_LEAD, **given}, format="json")
    error = refused(response, 422, "invalid")
    assert list(error["fields"]) == [field] and error["fields"][field] == [error["message"]]
    assert not Lead.objects.exists() and not ConsentRecord.objects.exists()


def test_a_wrong_type_is_malformed(api, org):
    response = as_user(api, org.marketer).post(
        "/api/leads/", {**NEW_LEAD, "consent": ["given"], "consent_wording": "V3"}, format="json"
    )
    assert "consent" in refused(response, 400, "malformed")["fields"]
    assert not Lead.objects.exists()


def test_an_edit_does_not_change_consent(api, org, make_lead):
    lead = make_lead()
    response = as_user(api, org.marketer).patch(
        f"/api/leads/{lead.pk}/", {"consent": "given", "consent_wording": "V3"}, format="json"
    )
    assert response.status_code in (400, 422)
    assert "consent" in response.json()["error"]["message"]
    assert consent_of(lead)[0] == "" and not ConsentRecord.objects.exists()


# --- /api/leads/{id}/consent/ -------------------------------------------------------------------------


def url(lead: Lead) -> str:
    return f"/api/leads/{lead.pk}/consent/"


def test_recording_an_answer(api, org, make_lead):
    lead = make_lead()
    version = lead.version
    response = as_user(api, org.marketer).post(
        url(lead),
        {"consent": "withdrawn", "consent_at": "2026-05-31T10:00:00+02:00", "consent_wording": "Email reply"},
        format="json",
    )
    assert response.status_code == 201, response.content[:500]
    record = ConsentRecord.objects.get(lead=lead)
    given_at = dt.datetime(2026, 5, 31, 8, 0, tzinfo=dt.UTC)
    assert (record.consent, record.given_at, record.method, record.wording, record.recorded_by) == (
        Consent.WITHDRAWN,
        given_at,
        ConsentMethod.API,
        "Email reply",
        org.marketer,
    )
    body = response.json()
    assert body["id"] == record.pk and body["consent"] == "withdrawn" and body["method"] == "api"
    assert body["recorded_by"]["username"] == org.marketer.username
    assert consent_of(lead) == (Consent.WITHDRAWN, given_at, ConsentMethod.API, "Email reply", "")
    assert lead.version == version + 1 and lead.no_contact


def test_the_history_lists_every_answer_latest_recorded_first(api, org):
    lead = LeadFactory(consent=answer("given", at="2026-01-05T10:00:00Z", wording="Newsletter v2"))
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        services.lead_consent_record(
            lead_id=lead.pk, actor=org.marketer, consent="withdrawn", consent_wording="Unsubscribed"
        )
    with time_machine.travel(NOW + dt.timedelta(minutes=2), tick=False):
        # An older answer, recorded later: in the history, not the lead's.
        services.lead_consent_record(
            lead_id=lead.pk,
            actor=org.marketer,
            consent="refused",
            consent_at="2025-12-01",
            consent_wording="Trade fair card",
        )
    rows = as_user(api, org.employee).get(url(lead)).json()
    assert [(r["consent"], r["wording"], r["method"]) for r in rows] == [
        ("refused", "Trade fair card", "by_hand"),
        ("withdrawn", "Unsubscribed", "by_hand"),
        ("given", "Newsletter v2", "form"),
    ]
    assert rows[2]["recorded_by"] is None and rows[1]["recorded_by"]["username"] == org.marketer.username
    assert consent_of(lead)[0] == Consent.WITHDRAWN


@pytest.mark.parametrize("who", ["rep", "rep2", "employee", "sales_manager"])
def test_who_may_not_edit_the_profile_is_refused_and_nothing_changes(api, org, make_lead, who):
    lead = make_lead()  # with marketing: only marketing edits its profile
    before = (consent_of(lead), lead.version)
    response = as_user(api, getattr(org, who)).post(
        url(lead), {"consent": "withdrawn", "consent_wording": "Asked"}, format="json"
    )
    refused(response, 403, "forbidden")
    assert (consent_of(lead), lead.version) == before and not ConsentRecord.objects.exists()


def test_the_owner_side_records_on_an_mql(api, org, make_mql):
    lead = make_mql()
    refused(
        as_user(api, org.rep2).post(url(lead), {"consent": "refused", "consent_wording": "Call"}),
        403,
        "forbidden",
    )
    response = as_user(api, org.rep).post(
        url(lead), {"consent": "refused", "consent_wording": "Call"}, format="json"
    )
    assert response.status_code == 201 and ConsentRecord.objects.get().recorded_by == org.rep


@pytest.mark.parametrize(
    "body, field",
    [
        ({"consent_wording": "V3"}, "consent"),
        ({"consent": "given"}, "consent_wording"),
        ({"consent": "given", "consent_wording": "V3", "consent_at": "not a time"}, "consent_at"),
    ],
)
def test_a_bad_answer_is_refused_under_its_field(api, org, make_lead, body, field):
    lead = make_lead()
    error = refused(as_user(api, org.marketer).post(url(lead), body, format="json"), 422, "invalid")
    assert list(error["fields"]) == [field]
    assert not ConsentRecord.objects.exists() and consent_of(lead)[0] == ""


def test_an_unknown_field_is_refused(api, org, make_lead):
    lead = make_lead()
    response = as_user(api, org.marketer).post(
        url(lead), {"consent": "given", "consent_wording": "V3", "consent_method": "form"}, format="json"
    )
    assert response.status_code in (400, 422) and "consent_method" in response.json()["error"]["message"]
    assert not ConsentRecord.objects.exists()


def test_nothing_is_recorded_for_an_erased_person_or_on_a_lead_merged_away(api, org, make_lead):
    erased = make_lead()
    with transaction.atomic():
        leads_anonymise([erased.pk], now=timezone.now())
    client = as_user(api, org.marketer)
    body = {"consent": "given", "consent_wording": "V3"}
    assert "erased" in refused(client.post(url(erased), body, format="json"), 409, "wrong_stage")["message"]
    survivor, other = make_lead(), make_lead()
    services.lead_merge(survivor_id=survivor.pk, other_id=other.pk, actor=org.marketer)
    error = refused(client.post(url(other), body, format="json"), 409, "wrong_stage")
    assert error["merged_into"] == survivor.pk
    assert not ConsentRecord.objects.exists()
    assert client.get(url(other)).json() == []  # a merged-away lead's history is readable
    refused(client.get("/api/leads/999999/consent/"), 404, "not_found")


def test_anonymous_is_refused(api, org, make_lead):
    lead = make_lead()
    assert api.get(url(lead)).status_code == 401
    assert (
        api.post(url(lead), {"consent": "given", "consent_wording": "V3"}, format="json").status_code == 401
    )
    assert not ConsentRecord.objects.exists()

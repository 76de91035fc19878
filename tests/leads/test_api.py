"""The read API: closed-loop reads for everyone logged in, one error format, token auth."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from leads import services
from leads.models import LeadEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def test_anonymous_is_refused_in_the_error_format(api, org):
    response = api.get("/api/leads/")
    assert response.status_code in (401, 403)
    body = response.json()["error"]
    assert body["code"] == "not_authenticated" and body["message"] and body["fields"] == {}


def test_everyone_reads_every_lead_and_filters_select_exactly(api, org, make_lead, make_mql, reasons):
    plain = make_lead(email="plain@example.com", company="Plainfield")
    mql = make_mql(email="mql@example.com")
    bounced = make_mql(email="bounced@example.com")
    services.lead_reject(lead_id=bounced.pk, actor=org.rep, reason=reasons.rejection)
    client = as_user(api, org.employee)

    def ids(**params):
        return {row["id"] for row in client.get("/api/leads/", params).json()["results"]}

    assert ids() == {plain.pk, mql.pk, bounced.pk}
    assert ids(stage="mql") == {mql.pk}
    assert ids(recycled="true") == {bounced.pk}
    assert ids(recycled="false") == {plain.pk, mql.pk}
    assert ids(owner=org.rep.pk) == {mql.pk}
    assert ids(q="plainf") == {plain.pk}
    row = client.get(f"/api/leads/{mql.pk}/").json()
    assert row["stage"] == "mql" and row["owner"]["username"] == "rep" and row["version"] == mql.version


def test_bad_filter_value_gets_a_clear_error(api, org):
    response = as_user(api, org.rep).get("/api/leads/", {"stage": "nonsense"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed" and "stage" in error["fields"]


def test_events_endpoint_lists_the_history_in_order(api, org, make_mql, reasons):
    lead = make_mql()
    services.lead_accept(lead_id=lead.pk, actor=org.rep)
    events = as_user(api, org.marketer).get(f"/api/leads/{lead.pk}/events/").json()
    assert [e["type"] for e in events] == ["created", "qualified", "accepted"]
    assert len(events) == LeadEvent.objects.filter(lead=lead).count()


@pytest.mark.parametrize("rows", [3, 30])
def test_list_runs_a_constant_number_of_queries(api, org, make_mql, rows, django_assert_max_num_queries):
    for n in range(rows):
        make_mql(email=f"l{n}@example.com")
    client = as_user(api, org.rep)
    with django_assert_max_num_queries(6):
        response = client.get("/api/leads/")
    assert len(response.json()["results"]) == rows


def test_token_obtain_use_and_revoke(api, org):
    response = api.post(
        "/api/auth/token/", {"username": "rep", "password": "pass-for-tests-1"}, format="json"
    )
    assert response.status_code == 201
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/me/").json()["username"] == "rep"
    assert api.get("/api/me/").json()["roles"] == ["Sales rep"]
    assert api.delete("/api/auth/token/").status_code == 204
    assert api.get("/api/me/").status_code == 401


def test_token_with_wrong_password_is_refused(api, org):
    response = api.post("/api/auth/token/", {"username": "rep", "password": "wrong"}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["message"] == "Wrong username or password."


def test_reasons_filter_by_kind(api, org, reasons):
    rows = as_user(api, org.rep).get("/api/reasons/", {"kind": "loss"}).json()["results"]
    assert rows and {r["kind"] for r in rows} == {"loss"}
    assert {r["loss_outcome"] for r in rows} == {"recycle", "disqualify"}


def test_schema_and_offline_docs(client, org):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/leads/" in schema["paths"] and "/api/leads/{id}/events/" in schema["paths"]
    client.force_login(org.rep)
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()


NEW_LEAD = {
    "email": "Ann.Lee@Acme.example",
    "first_name": "Ann",
    "last_name": "Lee",
    "phone": "+49 30 1234567",
    "company": "Acme",
    "job_title": "CTO",
    "company_size": 250,
    "country": "de",
    "website": "https://acme.example",
    "source": "website",
}


def test_create_answers_with_the_lead_as_stored(api, org):
    """The create answers with the row it wrote (not read back): the same body as a read
    of that lead, plus the likely-duplicate warnings; score and history are there."""
    client = as_user(api, org.marketer)
    created = client.post("/api/leads/", NEW_LEAD, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body.pop("warnings") == []
    assert body == client.get(f"/api/leads/{body['id']}/").json()
    assert body["email"] == "ann.lee@acme.example" and body["country"] == "DE"
    assert body["score"] == sum(line["points"] for line in body["score_receipt"]) and body["scored_version"]
    events = LeadEvent.objects.filter(lead_id=body["id"])
    assert [(e.type, e.actor_id, e.data["via"]) for e in events] == [("created", org.marketer.pk, "api")]


def test_create_runs_a_fixed_number_of_queries(api, org, django_assert_max_num_queries):
    """Roles, the scoring definition with its rules, the lead and its event (one statement
    on PostgreSQL, in a savepoint here: the test's transaction), the likely duplicates; no
    read-back, no second write of the score, no look-up before the insert (the unique email
    refuses a duplicate)."""
    client = as_user(api, org.marketer)
    with django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 7):
        assert client.post("/api/leads/", NEW_LEAD, format="json").status_code == 201
    again = client.post("/api/leads/", {**NEW_LEAD, "email": " ann.lee@ACME.example "}, format="json")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "duplicate" and error["existing_id"] == LeadEvent.objects.get().lead_id
    assert (
        error["message"]
        == f"A lead with the email ann.lee@acme.example already exists (lead {error['existing_id']})."
    )

"""The privacy API: the same checks and services as the pages, in the API's one error
format — the audit trail, a person's data as a zip, erasure, the retention policy, its
preview and its runs."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.models import Lead
from smarketing.privacy.models import PrivacyAction, PrivacyAudit, RetentionPolicy, RetentionRun, RunStatus
from smarketing.privacy.retention import retention_policy_set

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def error_of(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:400])
    error = response.json()["error"]
    assert error["message"]
    return error


@pytest.fixture
def manager(org) -> APIClient:
    return api_as(org.sales_manager)


@pytest.fixture
def person(make_lead):
    return make_lead(
        first_name="Paula", last_name="Person", email="paula.person@example.com", phone="+44 20 7946 0001"
    )


@pytest.fixture
def old_disqualified(org, make_lead, reasons):
    lead = make_lead(first_name="Olga", last_name="Oldcase", email="olga.oldcase@example.com")
    services.lead_disqualify(lead_id=lead.pk, actor=org.marketer, reason=reasons.disqualification)
    Lead.objects.filter(pk=lead.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=730))
    return lead


ENDPOINTS = [
    ("get", "/api/privacy/audit/", None),
    ("post", "/api/privacy/people/{lead}/export/", {"reference": "REQ-1"}),
    ("post", "/api/privacy/people/{lead}/erase/", {"reference": "REQ-1", "confirm": "ERASE"}),
    ("get", "/api/privacy/retention/", None),
    ("put", "/api/privacy/retention/", {"enabled": True, "disqualified_months": 1}),
    ("get", "/api/privacy/retention/preview/", None),
    ("get", "/api/privacy/retention/runs/", None),
    ("post", "/api/privacy/retention/runs/", None),
]


@pytest.mark.parametrize("who", ["rep", "marketer", "employee"])
def test_only_managers_may_and_a_refusal_changes_nothing(
    org, person, who, django_capture_on_commit_callbacks
):
    retention_policy_set(actor=org.admin, enabled=False, disqualified_months=1)
    PrivacyAudit.objects.all().delete()
    client = api_as(getattr(org, who))
    with django_capture_on_commit_callbacks(execute=True) as queued:
        for method, path, body in ENDPOINTS:
            response = getattr(client, method)(path.format(lead=person.pk), body, format="json")
            error = error_of(response, 403)
            assert error["code"] == "forbidden" and "Only a manager" in error["message"], path
    assert queued == []
    person.refresh_from_db()
    assert person.first_name == "Paula" and person.erased_at is None
    assert not PrivacyAudit.objects.exists() and not RetentionRun.objects.exists()
    assert RetentionPolicy.current().disqualified_months == 1


def test_anonymous_gets_401(person):
    for method, path, body in ENDPOINTS:
        response = getattr(api_as(None), method)(path.format(lead=person.pk), body, format="json")
        assert error_of(response, 401)["code"] == "not_authenticated"


# --- a person's data and erasure ---------------------------------------------------------------------


def test_export_answers_the_zip_as_an_attachment_and_audits_it(org, manager, person):
    response = manager.post(
        f"/api/privacy/people/{person.pk}/export/",
        {"reference": "DSAR-1"},
        format="json",
        HTTP_ACCEPT="application/zip",
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(f'attachment; filename="person-lead-{person.pk}-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    document = json.loads(archive.read("person.json"))
    assert document["profile"][0]["email"] == "paula.person@example.com"
    assert len(document["engagements"]) == 1
    assert "paula.person@example.com" in archive.read("profile.csv").decode("utf-8-sig")
    audit = PrivacyAudit.objects.get()
    assert (audit.action, audit.actor, audit.lead_id, audit.reference) == (
        PrivacyAction.EXPORT,
        org.sales_manager,
        person.pk,
        "DSAR-1",
    )
    # Without a body (the reference is optional), too.
    assert manager.post(f"/api/privacy/people/{person.pk}/export/", format="json").status_code == 200


def test_export_refusals_are_in_the_one_error_format(manager, person):
    error = error_of(
        manager.post(
            f"/api/privacy/people/{person.pk}/export/", {"reference": "Paula Person"}, format="json"
        ),
        422,
    )
    assert "names the person" in error["fields"]["reference"][0]
    assert (
        error_of(manager.post("/api/privacy/people/987654/export/", {}, format="json"), 404)["code"]
        == "not_found"
    )
    error = error_of(
        manager.post(f"/api/privacy/people/{person.pk}/export/", {"ref": "x"}, format="json"), 400
    )
    assert "Unknown field(s): ref." in error["message"]
    assert not PrivacyAudit.objects.exists()


def test_erase_needs_the_word_and_answers_the_audit_record(org, manager, person):
    url = f"/api/privacy/people/{person.pk}/erase/"
    error = error_of(manager.post(url, {"reference": "REQ-5", "confirm": "yes"}, format="json"), 422)
    assert error["code"] == "invalid" and "ERASE" in error["fields"]["confirm"][0]
    assert error_of(manager.post(url, {"reference": "REQ-5"}, format="json"), 400)["fields"]["confirm"]
    assert error_of(manager.post(url, {"confirm": "ERASE"}, format="json"), 400)["fields"]["reference"]
    error = error_of(
        manager.post(url, {"reference": "paula.person@example.com", "confirm": "ERASE"}, format="json"), 422
    )
    assert "names the person" in error["fields"]["reference"][0]
    person.refresh_from_db()
    assert person.first_name == "Paula" and not PrivacyAudit.objects.exists()

    response = manager.post(url, {"reference": "REQ-5", "confirm": "ERASE"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    audit = PrivacyAudit.objects.get()
    assert body["id"] == audit.pk and body["action"] == "erasure" and body["lead"] == person.pk
    assert body["reference"] == "REQ-5" and body["actor"]["username"] == org.sales_manager.username
    assert body["detail"]["lead_ids"] == [person.pk] and body["detail"]["leads"] == 1
    assert "paula" not in json.dumps(body).lower()
    person.refresh_from_db()
    assert person.erased_at is not None and (person.first_name, person.last_name, person.phone) == (
        "",
        "",
        "",
    )

    error = error_of(manager.post(url, {"reference": "REQ-6", "confirm": "ERASE"}, format="json"), 409)
    assert "erased already" in error["message"]
    assert error_of(
        manager.post(
            "/api/privacy/people/987654/erase/", {"reference": "R", "confirm": "ERASE"}, format="json"
        ),
        404,
    )
    assert PrivacyAudit.objects.count() == 1


def test_the_audit_trail_is_paged_newest_first(org, manager, person, django_assert_max_num_queries):
    for n in range(60):
        PrivacyAudit.objects.create(
            action=PrivacyAction.EXPORT,
            actor=org.admin,
            lead=person,
            reference=f"R-{n}",
            at=timezone.now() - dt.timedelta(minutes=100 - n),
            detail={"lead_ids": [person.pk], "profile": 1},
        )
    with django_assert_max_num_queries(8):
        first = manager.get("/api/privacy/audit/").json()
    assert first["count"] == 60 and len(first["results"]) == 50 and first["next"]
    assert [row["reference"] for row in first["results"][:2]] == ["R-59", "R-58"]
    assert first["results"][0]["actor"]["username"] == "admin" and first["results"][0]["lead"] == person.pk
    second = manager.get("/api/privacy/audit/?page=2").json()
    assert [row["reference"] for row in second["results"]][-1] == "R-0"
    assert error_of(manager.get("/api/privacy/audit/?page=9"), 404)


# --- retention ------------------------------------------------------------------------------------


def test_the_policy_is_read_and_set_with_the_services_rules(org, manager):
    initial = manager.get("/api/privacy/retention/").json()
    assert {k: v for k, v in initial.items() if k != "updated_at"} == {
        "enabled": False,
        "inactive_months": None,
        "disqualified_months": None,
        "updated_by": None,
    }
    response = manager.put("/api/privacy/retention/", {"enabled": True, "inactive_months": 18}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["inactive_months"] == 18 and response.json()["disqualified_months"] is None
    assert response.json()["updated_by"]["username"] == org.sales_manager.username
    policy = RetentionPolicy.current()
    assert (policy.enabled, policy.inactive_months) == (True, 18)
    audit = PrivacyAudit.objects.get(action=PrivacyAction.RETENTION_POLICY)
    assert audit.actor == org.sales_manager and audit.detail["after"]["inactive_months"] == 18

    error = error_of(manager.put("/api/privacy/retention/", {"enabled": True}, format="json"), 422)
    assert "at least one period" in error["fields"]["enabled"][0]
    assert error_of(
        manager.put("/api/privacy/retention/", {"enabled": True, "inactive_months": 0}, format="json"), 400
    )
    assert error_of(
        manager.put("/api/privacy/retention/", {"enabled": True, "inactive_months": 241}, format="json"), 400
    )
    assert error_of(
        manager.put("/api/privacy/retention/", {"enabled": False, "weeks": 3}, format="json"), 400
    )
    assert RetentionPolicy.current().inactive_months == 18
    assert PrivacyAudit.objects.count() == 1


def test_the_preview_says_what_a_run_would_anonymise(org, manager, old_disqualified, make_lead):
    make_lead(first_name="Nina")
    empty = manager.get("/api/privacy/retention/preview/").json()
    assert (empty["total"], empty["inactive_before"], empty["disqualified_before"], empty["first"]) == (
        0,
        None,
        None,
        [],
    )
    retention_policy_set(actor=org.admin, enabled=False, disqualified_months=12)
    preview = manager.get("/api/privacy/retention/preview/").json()
    assert (preview["total"], preview["disqualified"], preview["inactive"]) == (1, 1, 0)
    assert preview["first"] == [
        {
            "id": old_disqualified.pk,
            "name": "Olga Oldcase",
            "stage": "disqualified",
            "created_at": preview["first"][0]["created_at"],
        }
    ]
    assert preview["disqualified_before"] and preview["inactive_before"] is None


def test_a_run_is_queued_then_listed(org, manager, old_disqualified, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        error = error_of(manager.post("/api/privacy/retention/runs/", format="json"), 422)
    assert "Set a period" in error["message"] and queued == [] and not RetentionRun.objects.exists()

    retention_policy_set(actor=org.admin, enabled=False, disqualified_months=12)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = manager.post("/api/privacy/retention/runs/", format="json")
    assert response.status_code == 202 and response.json()["queued"] is True
    assert len(queued) == 1
    run = RetentionRun.objects.get()
    assert (run.status, run.started_by, run.people, run.leads) == (RunStatus.DONE, org.sales_manager, 1, 1)
    old_disqualified.refresh_from_db()
    assert old_disqualified.erased_at is not None and old_disqualified.email != "olga.oldcase@example.com"
    listed = manager.get("/api/privacy/retention/runs/").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert (row["id"], row["status"], row["people"], row["started_by"]["username"]) == (
        run.pk,
        "done",
        1,
        org.sales_manager.username,
    )
    assert PrivacyAudit.objects.filter(action=PrivacyAction.RETENTION_RUN, actor=org.sales_manager).exists()

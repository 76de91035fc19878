"""Import through the pages and the API: same rules, same messages; reps are refused."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from leads.models import Lead
from smarketing.intake.models import ImportJob, ImportStatus

CSV = (
    "FirstName,LastName,Email,Company,Title,LeadSource,Status\n"
    "Ann,Archer,ann@acme.io,Acme,VP Sales,Web,Open - Not Contacted\n"
    "Bob,Baker,bob@,Acme,CTO,Web,Open - Not Contacted\n"
)


def test_page_journey_upload_preview_start_result(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.marketer)
    assert "No import yet" in client.get("/imports/").content.decode()
    response = client.post("/imports/", {"file": SimpleUploadedFile("sf.csv", CSV.encode())})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "<strong>1</strong> to create" in page and "<strong>1</strong> with errors" in page
    assert "“bob@” is not a valid email address." in page
    assert Lead.objects.count() == 0
    form = {
        f"map-{i}": field
        for i, field in enumerate(
            ["first_name", "last_name", "email", "company", "job_title", "source", "stage"]
        )
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/imports/{job.pk}/mapping/",
            {**form, "default_source": "list_import", "campaign": "", "start": "1"},
        )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.created_count == 1 and job.failed_count == 1
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Download the failed rows as CSV" in page and "not a valid email" in page
    download = client.get(f"/imports/{job.pk}/failed-rows.csv")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert body.splitlines() == [
        "FirstName,LastName,Email,Company,Title,LeadSource,Status,Row,Error",
        "Bob,Baker,bob@,Acme,CTO,Web,Open - Not Contacted,3,“bob@” is not a valid email address.",
    ]
    progress = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"


def test_large_counts_are_shown_with_thousands_separators(client, org):
    client.force_login(org.marketer)
    client.post("/imports/", {"file": SimpleUploadedFile("big.csv", CSV.encode())})
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        rows_done=12000,
        rows_estimate=250000,
        created_count=11500,
        updated_count=1200,
        skipped_count=0,
        failed_count=1300,
    )
    progress = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    # The outcome counts are in the progress line: rows are "read", not all "imported".
    assert (
        "12,000 of about 250,000 rows read: 11,500 created · 1,200 updated · 0 skipped as duplicate"
        " · 1,300 failed"
    ) in progress
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "12,000 of about 250,000 rows read: 11,500 created" in page
    listed = client.get("/imports/").content.decode()
    assert '<td class="num">11,500</td><td class="num">1,200</td>' in listed


def test_page_upload_errors_are_shown(client, org):
    client.force_login(org.marketer)
    response = client.post("/imports/", {"file": SimpleUploadedFile("empty.csv", b"")})
    assert response.status_code == 400
    assert "The file is empty." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_reps_are_refused_on_pages_and_api(client, org):
    client.force_login(org.rep)
    response = client.get("/imports/")
    assert response.status_code == 403 and "Only marketing can import" in response.content.decode()
    response = client.post("/imports/", {"file": SimpleUploadedFile("a.csv", CSV.encode())})
    assert response.status_code == 403
    api = APIClient()
    api.force_authenticate(org.rep)
    response = api.post(
        "/api/imports/", {"file": SimpleUploadedFile("a.csv", CSV.encode())}, format="multipart"
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Only marketing can import leads. Only managers can migrate a team's history from another CRM."
    )
    assert not ImportJob.objects.exists()


def test_api_journey(org, django_capture_on_commit_callbacks):
    api = APIClient()
    api.force_authenticate(org.marketer)
    made = api.post("/api/imports/", {"file": SimpleUploadedFile("sf.csv", CSV.encode())}, format="multipart")
    assert made.status_code == 201
    body = made.json()
    assert body["mapping"]["Email"] == "email" and body["mapping"]["LeadSource"] == "source"
    assert body["preview"]["counts"] == {"create": 1, "update": 0, "skip": 0, "fail": 1}
    bad = api.patch(
        f"/api/imports/{body['id']}/", {"mapping": {"Email": "email", "Company": "email"}}, format="json"
    )
    assert bad.status_code == 422
    assert "Both" in bad.json()["error"]["message"]
    assert bad.json()["error"]["fields"]["mapping"]
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/imports/{body['id']}/start/")
    assert started.status_code == 202
    done = api.get(f"/api/imports/{body['id']}/").json()
    assert (done["status"], done["created_count"], done["failed_count"], done["percent"]) == (
        "done",
        1,
        1,
        100,
    )
    rows = api.get(f"/api/imports/{body['id']}/rows/?outcome=failed").json()
    assert rows["results"][0]["row_number"] == 3
    again = api.post(f"/api/imports/{body['id']}/start/")
    assert again.status_code == 409 or again.status_code == 400
    empty = api.post("/api/imports/", {"file": SimpleUploadedFile("e.csv", b"")}, format="multipart")
    assert empty.status_code == 422 and empty.json()["error"]["fields"]["file"] == ["The file is empty."]

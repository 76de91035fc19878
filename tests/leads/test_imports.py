"""CSV import through the service: exact per-row results, nothing lost, idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads import imports
from leads.errors import LeadActionError
from leads.models import (
    Campaign,
    EventType,
    ImportJob,
    ImportRow,
    ImportStatus,
    Lead,
    LeadEvent,
    RowOutcome,
    Source,
)
from tests.factories import LeadFactory

BAD_CSV = """First Name,Last Name,Email,Company Name,Job Title,Phone Number,Original Source,Lifecycle Stage,Create Date,Number of Employees,Country/Region
Ann,Archer,ann@acme.io,Acme,VP Sales,+49 30 1,Organic Search,lead,2026-06-12 14:03,250,Germany
Bob,Baker,not-an-email,Acme,CTO,,Paid Search,lead,,,
Cem,Celik,,Acme,CTO,,Paid Search,lead,,,
Dora,Diaz,dora@acme.io,Acme,Head of IT,,Webinar,customer,,,
Eve,Evans,ANN@ACME.IO,Acme,VP Sales,,Organic Search,lead,,,
Finn,Fox,known@acme.io,Acme Corp,CFO,+1 555,Direct Traffic,subscriber,,1200,US
Gus,Gray,gus@acme.io,Acme,Buyer,,Carrier Pigeon,lead,,,
Hal,Hill,hal@acme.io,Acme,Buyer,,Paid Social,lead,,lots,
Ida,Ito,ida@acme.io,Acme,Buyer,,Email Marketing,lead,,,Atlantis
"""


def upload(actor, text: str, name="contacts.csv", encoding="utf-8"):
    return imports.import_upload(actor=actor, uploaded=SimpleUploadedFile(name, text.encode(encoding)))


def run(job):
    imports.import_start(actor=job.created_by, job_id=job.pk)
    return imports.import_run(job_id=job.pk)


@pytest.fixture
def known(org):
    return LeadFactory(
        email="known@acme.io", company="", phone="", job_title="", company_size=None, source=Source.EVENT
    )


def test_hubspot_headers_map_and_bad_rows_are_reported_exactly(org, known, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    job = upload(org.marketer, BAD_CSV)
    assert job.mapping["Email"] == "email" and job.mapping["Company Name"] == "company"
    assert job.mapping["Original Source"] == "source" and job.mapping["Lifecycle Stage"] == "stage"
    preview = imports.import_preview(job)
    assert preview.counts == {"create": 1, "update": 1, "skip": 1, "fail": 6}
    assert Lead.objects.count() == 1  # the preview wrote nothing

    job = run(job)
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.updated_count, job.skipped_count, job.failed_count) == (1, 1, 1, 6)
    assert job.rows_done == 9
    failed = {r.row_number: r.message for r in job.rows.filter(outcome=RowOutcome.FAILED)}
    assert set(failed) == {3, 4, 5, 8, 9, 10}
    assert "not-an-email" in failed[3] and "not a valid email" in failed[3]
    assert "No email address" in failed[4]
    assert "customer" in failed[5] and "cannot be imported" in failed[5]
    assert "Carrier Pigeon" in failed[8]
    assert "lots" in failed[9]
    assert "Atlantis" in failed[10]
    skipped = job.rows.get(outcome=RowOutcome.SKIPPED)
    assert skipped.row_number == 6 and skipped.message == "Duplicate of row 2 in this file."

    ann = Lead.objects.get(email="ann@acme.io")
    assert (ann.first_name, ann.company, ann.company_size, ann.country, ann.source) == (
        "Ann",
        "Acme",
        250,
        "DE",
        Source.ORGANIC_SEARCH,
    )
    created = LeadEvent.objects.get(lead=ann, type=EventType.CREATED)
    assert created.actor == org.marketer
    assert created.data["via"] == "import" and created.data["import_job"] == job.pk
    assert created.data["import_row"] == 2
    assert created.data["original_created_at"].startswith("2026-06-12T14:03:00")
    known.refresh_from_db()
    # Blank fields filled, first touch untouched.
    assert (known.company, known.job_title, known.company_size, known.source) == (
        "Acme Corp",
        "CFO",
        1200,
        Source.EVENT,
    )
    update = LeadEvent.objects.get(lead=known, type=EventType.UPDATED)
    assert update.data["changes"]["company"] == ["", "Acme Corp"]

    # The failed rows download as the original columns plus row and reason.
    lines = "".join(imports.failed_rows_csv(job)).lstrip("\ufeff").splitlines()
    assert lines[0].endswith(",Row,Error")
    assert lines[1].startswith("Bob,Baker,not-an-email,")
    assert len(lines) == 7


def test_second_import_of_the_same_file_changes_nothing(org, known, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    run(upload(org.marketer, BAD_CSV))
    leads_before = list(Lead.objects.order_by("id").values())
    events_before = LeadEvent.objects.count()
    again = run(upload(org.marketer, BAD_CSV))
    assert (again.created_count, again.updated_count) == (0, 0)
    assert again.skipped_count == 3 and again.failed_count == 6
    assert list(Lead.objects.order_by("id").values()) == leads_before
    assert LeadEvent.objects.count() == events_before


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty."),
        (b"   \n\n", "The file is empty."),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "not a CSV file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 50, "not a CSV file"),
    ],
)
def test_whole_file_problems_are_refused_and_nothing_is_kept(org, settings, tmp_path, content, message):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    with pytest.raises(LeadActionError) as refused:
        imports.import_upload(actor=org.marketer, uploaded=SimpleUploadedFile("x.csv", content))
    assert message in refused.value.message
    assert refused.value.fields == {"file": [refused.value.message]}
    assert not ImportJob.objects.exists()
    assert list(tmp_path.iterdir()) == []


def test_no_email_column_is_refused_at_start(org, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    job = upload(org.marketer, "Name;Company\nAnn Archer;Acme\n")
    assert job.delimiter == ";"
    assert imports.import_preview(job).error.startswith("Map a column to Email")
    with pytest.raises(LeadActionError) as refused:
        imports.import_start(actor=org.marketer, job_id=job.pk)
    assert "No column is mapped to Email" in refused.value.message and "“Name”" in refused.value.message
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_salesforce_latin1_semicolons_and_quoted_newlines(org, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    Campaign.objects.create(name="Spring Seminar")
    text = (
        "FirstName;LastName;Email;Company;Title;LeadSource;Status;Campaign\n"
        'Jürgen;Müller;jm@beispiel.de;"Müller\nGmbH";Leiter;Seminar;Open - Not Contacted;spring seminar\n'
        "Zoë;Weiß;zw@beispiel.de;Weiß AG;CEO;Trade Show;Working - Contacted;\n"
    )
    job = upload(org.marketer, text, encoding="latin-1")
    assert job.encoding in ("cp1252", "latin-1") and job.delimiter == ";"
    job = run(job)
    assert job.created_count == 2 and job.failed_count == 0
    jm = Lead.objects.get(email="jm@beispiel.de")
    assert jm.last_name == "Müller" and jm.company == "Müller\nGmbH"
    assert jm.source == Source.WEBINAR and jm.campaign.name == "Spring Seminar"
    assert Lead.objects.get(email="zw@beispiel.de").source == Source.EVENT


def test_mapping_is_adjustable_and_checked(org, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    job = upload(org.marketer, "Mail,Firma,Work phone\nann@acme.io,Acme,+49 1\n")
    job = imports.import_configure(
        actor=org.marketer,
        job_id=job.pk,
        mapping={"Mail": "email", "Firma": "company", "Work phone": "phone"},
    )
    with pytest.raises(LeadActionError, match="Both"):
        imports.import_configure(
            actor=org.marketer, job_id=job.pk, mapping={"Mail": "email", "Firma": "email"}
        )
    with pytest.raises(LeadActionError, match="no column"):
        imports.import_configure(actor=org.marketer, job_id=job.pk, mapping={"Nope": "email"})
    job = run(job)
    lead = Lead.objects.get(email="ann@acme.io")
    assert (lead.company, lead.phone, lead.source) == ("Acme", "+49 1", Source.LIST_IMPORT)


def test_reps_cannot_import(org, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    with pytest.raises(LeadActionError) as refused:
        upload(org.rep, "Email\nann@acme.io\n")
    assert refused.value.code == LeadActionError.FORBIDDEN
    job = upload(org.marketer, "Email\nann@acme.io\n")
    with pytest.raises(LeadActionError):
        imports.import_start(actor=org.rep, job_id=job.pk)
    assert ImportJob.objects.get().status == ImportStatus.MAPPING


def test_a_rerun_resumes_after_the_last_committed_chunk(org, settings, tmp_path, monkeypatch):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    text = "Email\n" + "".join(f"p{i}@acme.io\n" for i in range(5))
    job = upload(org.marketer, text)
    imports.import_start(actor=org.marketer, job_id=job.pk)
    calls = {"n": 0}
    real = imports._run_chunk

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "_run_chunk", crash_on_second)
    with pytest.raises(RuntimeError):
        imports.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created_count, job.last_row) == (ImportStatus.RUNNING, 2, 2, 3)
    monkeypatch.setattr(imports, "_run_chunk", real)
    job = imports.import_run(job_id=job.pk)
    assert (job.status, job.rows_done, job.created_count, job.skipped_count) == (ImportStatus.DONE, 5, 5, 0)
    assert Lead.objects.count() == 5
    assert not ImportRow.objects.exists()


def test_hundred_thousand_rows_are_counted_not_held(org, settings, tmp_path):
    """Large files go through the same chunks; here just the planner on many duplicates
    of one email to check the file-level de-duplication stays in the database."""
    settings.SMARKETING_IMPORT_DIR = tmp_path
    buf = io.StringIO()
    buf.write("Email,Company\n")
    for i in range(1200):
        buf.write(f"same@acme.io,Acme {i}\n")
    job = run(upload(org.marketer, buf.getvalue()))
    assert job.created_count == 1 and job.skipped_count == 1199
    assert set(job.rows.values_list("message", flat=True)) == {"Duplicate of row 2 in this file."}


def test_an_email_created_meanwhile_fails_only_its_row(org, settings, tmp_path, monkeypatch):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    job = upload(org.marketer, "Email,Company\na@acme.io,A\nb@acme.io,B\nc@acme.io,C\n")
    real = imports._plan_chunk

    def plan_then_someone_creates_b(rows, ctx):
        plans = real(rows, ctx)
        LeadFactory(email="b@acme.io")  # a colleague, between our check and our insert
        return plans

    monkeypatch.setattr(imports, "_plan_chunk", plan_then_someone_creates_b)
    job = run(job)
    assert (job.created_count, job.failed_count) == (2, 1)
    failed = job.rows.get()
    assert failed.row_number == 3 and "already exists" in failed.message
    assert set(Lead.objects.values_list("email", flat=True)) == {"a@acme.io", "b@acme.io", "c@acme.io"}
    assert LeadEvent.objects.filter(type=EventType.CREATED, data__import_job=job.pk).count() == 2


def test_bulk_created_leads_are_scored_and_audited_like_single_ones(org, default_rules, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path
    job = run(upload(org.marketer, "Email,Job Title,Employees,Country\nvp@acme.io,VP Sales,450,DE\n"))
    lead = Lead.objects.get(email="vp@acme.io")
    assert lead.score == 35 and {line["label"] for line in lead.score_receipt} == {
        "Senior title (VP, Director, Head of)",
        "Company of 200 people or more",
        "Target market",
    }
    assert lead.scored_version == default_rules.version
    event = LeadEvent.objects.get(lead=lead, type=EventType.CREATED)
    assert (event.actor, event.to_stage, event.data["import_row"]) == (org.marketer, "lead", 2)
    assert job.created_count == 1


def test_an_import_its_worker_died_on_is_resumed_by_the_watchdog(
    org, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """The worker was killed after the first chunk: the job stays "running" with no sign
    of life; the beat job queues it again and it finishes, each row once."""
    import datetime as dt

    from django.utils import timezone

    settings.SMARKETING_IMPORT_DIR = tmp_path
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    job = upload(org.marketer, "Email\n" + "".join(f"w{i}@acme.io\n" for i in range(5)))
    imports.import_start(actor=org.marketer, job_id=job.pk)
    real, calls = imports._run_chunk, {"n": 0}

    def die_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("SIGKILL")  # the process is gone: nothing after this runs
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "_run_chunk", die_on_second)
    with pytest.raises(SystemExit):
        imports.import_run(job_id=job.pk)
    monkeypatch.setattr(imports, "_run_chunk", real)
    assert imports.imports_resume_stalled() == []  # alive a moment ago: left alone
    later = timezone.now() + dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert imports.imports_resume_stalled(now=later) == [job.pk]  # queued again (runs inline here)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created_count) == (ImportStatus.DONE, 5, 5)
    assert Lead.objects.filter(email__startswith="w").count() == 5
    assert imports.imports_resume_stalled(now=later + dt.timedelta(hours=1)) == []  # done: left alone

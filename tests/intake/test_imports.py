"""CSV import through the service: exact per-row results, nothing lost, idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.agreement.models import HandoffGate, ScoringDefinition
from smarketing.core.errors import ActionError
from smarketing.intake import imports
from smarketing.intake import plans as intake_plans
from smarketing.intake import run as intake_run
from smarketing.intake.models import ImportJob, ImportRow, ImportStatus, RowOutcome
from smarketing.org.models import Campaign, Source
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
    return intake_run.import_run(job_id=job.pk)


@pytest.fixture
def known(org):
    return LeadFactory(
        email="known@acme.io", company="", phone="", job_title="", company_size=None, source=Source.EVENT
    )


def test_hubspot_headers_map_and_bad_rows_are_reported_exactly(org, known, settings, tmp_path):
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
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "This Excel workbook is damaged"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 50, "not a CSV file"),
    ],
)
def test_whole_file_problems_are_refused_and_nothing_is_kept(org, settings, tmp_path, content, message):
    with pytest.raises(ActionError) as refused:
        imports.import_upload(actor=org.marketer, uploaded=SimpleUploadedFile("x.csv", content))
    assert message in refused.value.message
    assert refused.value.fields == {"file": [refused.value.message]}
    assert not ImportJob.objects.exists()
    assert list(tmp_path.iterdir()) == []


def test_no_email_column_is_refused_at_start(org, settings, tmp_path):
    job = upload(org.marketer, "Name;Company\nAnn Archer;Acme\n")
    assert job.delimiter == ";"
    assert imports.import_preview(job).error.startswith("Map a column to Email")
    with pytest.raises(ActionError) as refused:
        imports.import_start(actor=org.marketer, job_id=job.pk)
    assert "No column is mapped to Email" in refused.value.message and "“Name”" in refused.value.message
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_salesforce_latin1_semicolons_and_quoted_newlines(org, settings, tmp_path):
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
    job = upload(org.marketer, "Mail,Firma,Work phone\nann@acme.io,Acme,+49 1\n")
    job = imports.import_configure(
        actor=org.marketer,
        job_id=job.pk,
        mapping={"Mail": "email", "Firma": "company", "Work phone": "phone"},
    )
    with pytest.raises(ActionError, match="Both"):
        imports.import_configure(
            actor=org.marketer, job_id=job.pk, mapping={"Mail": "email", "Firma": "email"}
        )
    with pytest.raises(ActionError, match="no column"):
        imports.import_configure(actor=org.marketer, job_id=job.pk, mapping={"Nope": "email"})
    job = run(job)
    lead = Lead.objects.get(email="ann@acme.io")
    assert (lead.company, lead.phone, lead.source) == ("Acme", "+49 1", Source.LIST_IMPORT)


def test_reps_cannot_import(org, settings, tmp_path):
    with pytest.raises(ActionError) as refused:
        upload(org.rep, "Email\nann@acme.io\n")
    assert refused.value.code == ActionError.FORBIDDEN
    job = upload(org.marketer, "Email\nann@acme.io\n")
    with pytest.raises(ActionError):
        imports.import_start(actor=org.rep, job_id=job.pk)
    assert ImportJob.objects.get().status == ImportStatus.MAPPING


def test_a_rerun_resumes_after_the_last_committed_chunk(org, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(intake_run, "CHUNK_ROWS", 2)
    text = "Email\n" + "".join(f"p{i}@acme.io\n" for i in range(5))
    job = upload(org.marketer, text)
    imports.import_start(actor=org.marketer, job_id=job.pk)
    calls = {"n": 0}
    real = intake_run._run_chunk

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(intake_run, "_run_chunk", crash_on_second)
    with pytest.raises(RuntimeError):
        intake_run.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created_count, job.last_row) == (ImportStatus.RUNNING, 2, 2, 3)
    monkeypatch.setattr(intake_run, "_run_chunk", real)
    job = intake_run.import_run(job_id=job.pk)
    assert (job.status, job.rows_done, job.created_count, job.skipped_count) == (ImportStatus.DONE, 5, 5, 0)
    assert Lead.objects.count() == 5
    assert not ImportRow.objects.exists()


def test_hundred_thousand_rows_are_counted_not_held(org, settings, tmp_path):
    """Large files go through the same chunks; here just the planner on many duplicates
    of one email to check the file-level de-duplication stays in the database."""
    buf = io.StringIO()
    buf.write("Email,Company\n")
    for i in range(1200):
        buf.write(f"same@acme.io,Acme {i}\n")
    job = run(upload(org.marketer, buf.getvalue()))
    assert job.created_count == 1 and job.skipped_count == 1199
    assert set(job.rows.values_list("message", flat=True)) == {"Duplicate of row 2 in this file."}


def test_an_email_created_meanwhile_fails_only_its_row(org, settings, tmp_path, monkeypatch):
    job = upload(org.marketer, "Email,Company\na@acme.io,A\nb@acme.io,B\nc@acme.io,C\n")
    real = intake_plans.plan_chunk

    def plan_then_someone_creates_b(rows, ctx):
        plans = real(rows, ctx)
        LeadFactory(email="b@acme.io")  # a colleague, between our check and our insert
        return plans

    monkeypatch.setattr(intake_plans, "plan_chunk", plan_then_someone_creates_b)
    job = run(job)
    assert (job.created_count, job.failed_count) == (2, 1)
    failed = job.rows.get()
    assert failed.row_number == 3 and "already exists" in failed.message
    assert set(Lead.objects.values_list("email", flat=True)) == {"a@acme.io", "b@acme.io", "c@acme.io"}
    assert LeadEvent.objects.filter(type=EventType.CREATED, data__import_job=job.pk).count() == 2


def test_bulk_created_leads_are_scored_and_audited_like_single_ones(org, default_rules, settings, tmp_path):
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

    monkeypatch.setattr(intake_run, "CHUNK_ROWS", 2)
    job = upload(org.marketer, "Email\n" + "".join(f"w{i}@acme.io\n" for i in range(5)))
    imports.import_start(actor=org.marketer, job_id=job.pk)
    real, calls = intake_run._run_chunk, {"n": 0}

    def die_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("SIGKILL")  # the process is gone: nothing after this runs
        return real(*args, **kwargs)

    monkeypatch.setattr(intake_run, "_run_chunk", die_on_second)
    with pytest.raises(SystemExit):
        intake_run.import_run(job_id=job.pk)
    monkeypatch.setattr(intake_run, "_run_chunk", real)
    assert imports.imports_resume_stalled() == []  # alive a moment ago: left alone
    later = timezone.now() + dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert imports.imports_resume_stalled(now=later) == [job.pk]  # queued again (runs inline here)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created_count) == (ImportStatus.DONE, 5, 5)
    assert Lead.objects.filter(email__startswith="w").count() == 5
    assert imports.imports_resume_stalled(now=later + dt.timedelta(hours=1)) == []  # done: left alone


# --- the batched run: each row once, whatever shares its chunk --------------------------------


def outcomes(job) -> dict[int, tuple[str, str]]:
    return {r.row_number: (r.outcome, r.message) for r in job.rows.order_by("row_number")}


@pytest.mark.parametrize("chunk_rows", [3, 1000])
def test_a_mixed_chunk_loses_nothing_and_doubles_nothing(
    org, known, settings, tmp_path, monkeypatch, chunk_rows
):
    """New, invalid, existing and repeated emails side by side in one chunk (or spread
    over several): every row gets exactly one outcome, reported under its own number."""
    monkeypatch.setattr(intake_run, "CHUNK_ROWS", chunk_rows)
    merged = LeadFactory(email="old@acme.io", phone="")
    survivor = LeadFactory(email="new@acme.io", phone="", job_title="", company="")
    Lead.objects.filter(pk=merged.pk).update(merged_into=survivor)
    text = (
        "Email,Phone,Job Title,Company,Country\n"
        "a@acme.io,+49 1,CTO,Acme,DE\n"  # 2 new
        "not-an-email,,,,\n"  # 3 invalid, between good rows
        "A@ACME.IO,+49 2,CFO,Acme,DE\n"  # 4 repeats row 2 (case differs)
        "known@acme.io,+1 555,CFO,,\n"  # 5 fills phone and title on an existing lead
        "b@acme.io,,,Beta,Narnia\n"  # 6 invalid country
        "c@acme.io,,,Gamma,FR\n"  # 7 new
        "known@acme.io,+1 999,,,\n"  # 8 repeats row 5
        "old@acme.io,+49 3,,Acme,\n"  # 9 merged away: its survivor is filled
        "new@acme.io,+49 4,Buyer,Other,\n"  # 10 the survivor again: only what is still blank
        "c@acme.io,,,,\n"  # 11 repeats row 7
    )
    job = run(upload(org.marketer, text))
    assert job.status == ImportStatus.DONE and job.rows_done == 10
    assert (job.created_count, job.updated_count, job.skipped_count, job.failed_count) == (2, 3, 3, 2)
    assert outcomes(job) == {
        3: (RowOutcome.FAILED, "“not-an-email” is not a valid email address."),
        4: (RowOutcome.SKIPPED, "Duplicate of row 2 in this file."),
        6: (RowOutcome.FAILED, "Unknown country “Narnia”: use a two-letter ISO code such as DE or US."),
        # Across chunks a lead this file only filled is recognised as already there.
        8: (
            RowOutcome.SKIPPED,
            "Duplicate of row 5 in this file."
            if chunk_rows > 10
            else f"Already in Smarketing as lead {known.pk}; nothing new in this row.",
        ),
        11: (RowOutcome.SKIPPED, "Duplicate of row 7 in this file."),
    }
    assert set(Lead.objects.filter(email__in=["a@acme.io", "c@acme.io"]).values_list("email", flat=True)) == {
        "a@acme.io",
        "c@acme.io",
    }
    created = LeadEvent.objects.filter(type=EventType.CREATED, data__import_job=job.pk)
    assert sorted(created.values_list("data__import_row", flat=True)) == [2, 7]
    known.refresh_from_db()
    assert (known.phone, known.job_title, known.version) == ("+1 555", "CFO", 2)
    survivor.refresh_from_db()
    # Row 9 filled phone and company; row 10 found only the job title still blank.
    assert (survivor.phone, survivor.company, survivor.job_title, survivor.version) == (
        "+49 3",
        "Acme",
        "Buyer",
        3,
    )
    changes = [
        e.data["changes"]
        for e in LeadEvent.objects.filter(lead=survivor, type=EventType.UPDATED).order_by("id")
    ]
    assert changes == [{"phone": ["", "+49 3"], "company": ["", "Acme"]}, {"job_title": ["", "Buyer"]}]
    assert LeadEvent.objects.filter(type=EventType.UPDATED, lead=known).count() == 1
    merged.refresh_from_db()
    assert merged.phone == ""  # a merged-away lead is never written

    # The same file again: nothing new, every row accounted for once more.
    again = run(upload(org.marketer, text))
    assert (again.created_count, again.updated_count, again.skipped_count, again.failed_count) == (0, 0, 8, 2)


def test_an_update_refused_in_the_middle_of_a_chunk_fails_only_its_row(org, settings, tmp_path, monkeypatch):
    broken = LeadFactory(email="broken@acme.io", phone="")
    fine = LeadFactory(email="fine@acme.io", phone="")
    # Between the plan and the write, the first lead went where this marketer may not edit it.
    from leads import permissions

    may_edit = permissions.can_edit_profile
    monkeypatch.setattr(
        permissions, "can_edit_profile", lambda user, lead: lead.pk != broken.pk and may_edit(user, lead)
    )
    text = "Email,Phone\nx@acme.io,+1\nbroken@acme.io,+2\nfine@acme.io,+3\ny@acme.io,+4\n"
    job = run(upload(org.marketer, text))
    assert (job.created_count, job.updated_count, job.failed_count) == (2, 1, 1)
    ((row, (outcome, message)),) = outcomes(job).items()
    assert (row, outcome) == (3, RowOutcome.FAILED) and message.startswith("You cannot edit this lead")
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (broken.phone, broken.version, fine.phone, fine.version) == ("", 1, "+3", 2)
    assert not LeadEvent.objects.filter(lead=broken, type=EventType.UPDATED).exists()
    assert Lead.objects.filter(email__in=["x@acme.io", "y@acme.io"]).count() == 2


def test_a_profile_edit_is_checked_for_what_it_changes(org):
    """A lead stored before a check existed (an invalid website) can still have its other
    fields edited and filled; the bad value is refused only when it is the one changed."""
    lead = LeadFactory(email="legacy@acme.io", phone="", job_title="")
    Lead.objects.filter(pk=lead.pk).update(website="not a url")
    assert services.lead_update(lead_id=lead.pk, actor=org.marketer, phone="+49 1").phone == "+49 1"
    (filled,) = services.leads_fill_blanks(actor=org.marketer, fills=[(lead.pk, {"job_title": "CTO"})])
    assert filled == {"job_title": ["", "CTO"]}
    with pytest.raises(ActionError) as refused:
        services.lead_update(lead_id=lead.pk, actor=org.marketer, website="still not a url")
    assert "website" in refused.value.fields


def test_a_field_filled_since_the_plan_is_left_alone(org, settings, tmp_path, monkeypatch):
    lead = LeadFactory(email="busy@acme.io", phone="", job_title="")
    real = intake_plans.plan_chunk

    def plan_then_a_colleague_edits(rows, ctx):
        plans = real(rows, ctx)
        Lead.objects.filter(pk=lead.pk).update(phone="+49 typed by hand", job_title="CEO")
        return plans

    monkeypatch.setattr(intake_plans, "plan_chunk", plan_then_a_colleague_edits)
    job = run(upload(org.marketer, "Email,Phone,Job Title\nbusy@acme.io,+1 555,CFO\n"))
    assert (job.updated_count, job.skipped_count) == (0, 1)
    assert outcomes(job)[2][1] == f"Already in Smarketing as lead {lead.pk}; nothing new in this row."
    lead.refresh_from_db()
    assert (lead.phone, lead.job_title) == ("+49 typed by hand", "CEO")


def test_filled_leads_are_rescored_and_high_scores_are_handed_off(
    org, default_rules, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Scores of created and filled leads are what a single create or edit gives, and
    automatic qualification (with its routing to a rep) follows them after the commit."""
    ScoringDefinition.objects.update(auto_qualify=True, threshold=30)
    HandoffGate.current()
    HandoffGate.objects.update(min_engagements=0, required_fields=["company"])
    existing = LeadFactory(email="cfo@acme.io", job_title="", company_size=None, country="", company="Acme")
    assert existing.score < 30
    text = (
        "Email,Job Title,Employees,Country,Company\n"
        "vp@acme.io,VP Sales,450,DE,Acme\n"  # 15 + 15 + 5 = 35: handed off
        "small@acme.io,Buyer,5,DE,Acme\n"  # 5: stays a lead
        "cfo@acme.io,CFO,1200,US,Other\n"  # filled: 20 + 15 + 10 + 5 = 50: handed off
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = run(upload(org.marketer, text))
    assert (job.created_count, job.updated_count) == (2, 1)
    vp, small = Lead.objects.get(email="vp@acme.io"), Lead.objects.get(email="small@acme.io")
    existing.refresh_from_db()
    assert (vp.score, small.score, existing.score) == (35, 5, 50)
    assert existing.company == "Acme"  # not blank: kept
    assert {line["label"] for line in existing.score_receipt} >= {
        "C-level title",
        "Company of 1,000 people or more",
    }
    assert (vp.stage, small.stage, existing.stage) == (Stage.MQL, Stage.LEAD, Stage.MQL)
    assert vp.owner is not None and existing.owner is not None  # routed to a rep
    assert vp.scored_version == existing.scored_version == default_rules.version


def test_cells_keep_every_character(org, settings, tmp_path):
    odd = 'Back\\slash \t tab, "quoted" & ünïcödé 🚀 \\N'
    text = f'Email,Company,Last Name\nodd@acme.io,"{odd.replace(chr(34), chr(34) * 2)}",\\N\n'
    job = run(upload(org.marketer, text))
    assert job.created_count == 1
    lead = Lead.objects.get(email="odd@acme.io")
    assert (lead.company, lead.last_name) == (odd, "\\N")
    assert LeadEvent.objects.get(lead=lead).data["import_row"] == 2


def test_a_file_error_in_a_later_chunk_keeps_the_chunks_before(org, settings, tmp_path):
    """Rows are read ahead of the database: an unreadable row far into the file (past
    what the upload looked at) still stops the import exactly there."""
    good = b"".join(b"r%05d@acme.io,%s\n" % (i, b"x" * 30) for i in range(2500))
    content = b"Email,Note\n" + good + b"bad\xff@acme.io,\n" + b"z@acme.io,\n"
    job = imports.import_upload(actor=org.marketer, uploaded=SimpleUploadedFile("x.csv", content))
    assert job.encoding == "utf-8" and len(content) > 64 * 1024
    job = run(job)
    assert job.status == ImportStatus.FAILED and job.error.startswith("Row 2502 is not valid utf-8 text")
    assert (job.rows_done, job.created_count, job.last_row) == (2000, 2000, 2001)
    assert Lead.objects.filter(email__startswith="r").count() == 2000


@pytest.mark.parametrize(
    "values",
    [
        {"email": "ann@acme.io"},
        {"email": "ann@acme.io", "first_name": "Ann", "last_name": "A" * 100, "company_size": 250},
        {"email": "ann@acme.io", "first_name": "A" * 101},
        {"email": "ann@acme.io", "phone": "1" * 41, "company": "C" * 201},
        {"email": "ann@acme.io", "job_title": "J" * 201, "website": "not a url"},
        {"email": "ann@acme.io", "website": "https://acme.io/x?y=1"},
        {"email": "ann@acme.io", "website": "https://" + "a" * 300 + ".io"},
        {"email": "ann@acme.io", "country": "de"},
        {"email": "ann@acme.io", "country": "Deutschland"},
        {"email": "ann@acme.io", "company_size": -1},
        {"email": "ann@acme.io", "company_size": 10**12},
        {"email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".org", "phone": "+1"},
    ],
)
def test_the_one_profile_check_answers_as_the_models_fields_do(values):
    """`lead_profile_validate` spells the model's field checks out (every way in runs it,
    an import on every row): its answers are `Lead.clean_fields`' own."""
    from django.core.exceptions import ValidationError

    from leads.models import Lead

    probe = Lead(**values)
    errors: dict[str, list[str]] = {}
    if values.get("country"):
        probe.country = values["country"].strip().upper()
        if len(probe.country) != 2 or not probe.country.isalpha():
            errors["country"] = ["Use a two-letter ISO country code, for example DE or US."]
    try:
        probe.clean_fields(exclude=[f.name for f in Lead._meta.fields if f.name not in values])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    expected: object = ("error", errors) if errors else {name: getattr(probe, name) for name in values}
    try:
        got: object = services.lead_profile_validate(values)
    except ActionError as exc:
        got = ("error", exc.fields)
    assert got == expected


def test_a_large_import_brings_the_planners_statistics_up_to_date(org, require_postgres, monkeypatch):
    """Right after a bulk load PostgreSQL's statistics still describe the tables before it,
    and the reports' queries can pick whole-table scans (28 s instead of 0.09 s for the
    hand-offs table after a 20,000-lead migration): an import that created many leads
    ANALYZEs what it wrote; a small one leaves it to autovacuum."""

    def analyzed() -> dict[str, float]:
        """What the planner believes each table holds (ANALYZE sets it; -1: never analysed)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class "
                "WHERE relname IN ('leads_lead', 'leads_leadevent', 'sla_clock')"
            )
            return dict(cursor.fetchall())

    csv_text = "Email,First Name\n" + "".join(f"p{n}@acme.io,P{n}\n" for n in range(3))
    before = analyzed()
    monkeypatch.setattr(intake_run, "ANALYZE_AFTER_ROWS", 4)
    assert run(upload(org.marketer, csv_text)).created_count == 3
    assert analyzed() == before, "a small import left the statistics to autovacuum"
    monkeypatch.setattr(intake_run, "ANALYZE_AFTER_ROWS", 3)
    bigger = "Email,First Name\n" + "".join(f"q{n}@acme.io,Q{n}\n" for n in range(3))
    assert run(upload(org.marketer, bigger)).created_count == 3
    after = analyzed()
    assert after == {
        "leads_lead": Lead.objects.count(),
        "leads_leadevent": LeadEvent.objects.count(),
        "sla_clock": 0,
    }
    assert after != before

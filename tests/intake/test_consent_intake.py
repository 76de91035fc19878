"""Imports and website forms record a person's answer on marketing contact (docs/privacy.md):
each answer checked by the one check (`leads.services.consent_clean`), by import or by web
form, with the wording the file or the form's source says; a bad consent cell fails its
row alone; a post never says what the person agreed to, and is answered alike whether the
person was new or known."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.exports import LEAD_EXPORT_COLUMNS, lead_export_rows
from leads.models import Consent, ConsentMethod, ConsentRecord, LawfulBasis, Lead
from smarketing.core.errors import ActionError
from smarketing.intake import imports, inbound, migration
from smarketing.intake import run as intake_run
from smarketing.intake import values as intake_values
from smarketing.intake.models import ImportStatus, InboundSource, RowOutcome
from tests.factories import LeadFactory
from tests.intake.test_round_trip import fresh_installation

BERLIN = ZoneInfo("Europe/Berlin")
WORDING = "Yes, send me the monthly newsletter (v3)"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def upload(actor, content: str | bytes, name="contacts.csv", kind="leads"):
    data = content.encode() if isinstance(content, str) else content
    return imports.import_upload(actor=actor, uploaded=SimpleUploadedFile(name, data), kind=kind)


def run(job):
    imports.import_start(actor=job.created_by, job_id=job.pk)
    return intake_run.import_run(job_id=job.pk)


def answer(lead: Lead) -> tuple:
    lead.refresh_from_db()
    return (lead.consent, lead.consent_at, lead.consent_method, lead.consent_wording, lead.lawful_basis)


def records(lead: Lead) -> list[tuple]:
    return list(
        ConsentRecord.objects.filter(lead=lead)
        .order_by("recorded_at", "pk")
        .values_list("consent", "given_at", "method", "wording", "lawful_basis", "recorded_by")
    )


def failed(job) -> dict[int, str]:
    return {row.row_number: row.message for row in job.rows.filter(outcome=RowOutcome.FAILED)}


# --- the columns --------------------------------------------------------------------------------


def test_consent_headers_are_recognised_and_an_export_maps_its_own():
    assert intake_values.guess_mapping(
        [
            "E-mail",
            "GDPR consent",
            "Consent date",
            "Consent wording",
            "Legal basis for processing contact's data",
        ]
    ) == {
        "E-mail": "email",
        "GDPR consent": "consent",
        "Consent date": "consent_at",
        "Consent wording": "consent_wording",
        "Legal basis for processing contact's data": "lawful_basis",
    }
    assert intake_values.guess_mapping(["Email", "Marketing consent", "HasOptedOutOfEmail"]) == {
        "Email": "email",
        "Marketing consent": "consent",
        "HasOptedOutOfEmail": "opted_out",
    }
    # HubSpot's billing flag is not the person's answer: not read.
    assert "Marketing contact status" not in intake_values.guess_mapping(
        ["Email", "Marketing contact status"]
    )
    # A Smarketing export: its answer, when, wording and basis; how it came is the import's.
    exported = [
        "Lead ID",
        "Email",
        "Consent",
        "Consent at",
        "Consent method",
        "Consent wording",
        "Lawful basis",
    ]
    expected = {
        "Consent": "consent",
        "Consent at": "consent_at",
        "Consent wording": "consent_wording",
        "Lawful basis": "lawful_basis",
    }
    for guess in (intake_values.guess_mapping, migration.guess_mapping):
        mapping = guess([*exported, "History"])
        assert {h: f for h, f in mapping.items() if h.startswith(("Consent", "Lawful"))} == expected
        assert "Consent method" not in mapping
    # The export's own columns are still the ones this import reads (another module's contract).
    assert {"Consent", "Consent at", "Consent wording", "Lawful basis"} <= set(LEAD_EXPORT_COLUMNS)


def test_an_answer_column_needs_its_wording_column(org):
    job = upload(org.marketer, csv_text([["Email", "Consent"], ["ann@acme.io", "yes"]]))
    assert job.mapping == {"Email": "email", "Consent": "consent"}
    with pytest.raises(ActionError, match="map the column with the wording") as refused:
        imports.import_start(actor=org.marketer, job_id=job.pk)
    assert list(refused.value.fields) == ["mapping"]
    assert not Lead.objects.exists()


# --- new leads ----------------------------------------------------------------------------------


CONSENT_FILE = [
    ["Email", "First Name", "Marketing consent", "Consent date", "Consent wording", "Lawful basis"],
    ["ann@acme.io", "Ann", "Yes", "2025-03-01 10:00", "Newsletter v3", ""],
    ["bob@acme.io", "Bob", "refused", "", "Newsletter v3", "Legitimate interest – prospect/lead"],
    ["cem@acme.io", "Cem", "", "", "", ""],
    ["dora@acme.io", "Dora", "maybe", "2025-03-01", "Newsletter v3", ""],
    ["eve@acme.io", "Eve", "given", "2025-03-01", "", ""],
    ["fay@acme.io", "Fay", "Withdrawn", "2099-01-01", "Newsletter v3", ""],
    ["gus@acme.io", "Gus", "", "", "", "Performance of a contract"],
    ["hal@acme.io", "Hal", "", "2025-03-01", "", ""],
    ["ida@acme.io", "Ida", "given", "2025-03-01", "Newsletter v3", "Consent; Performance of a contract"],
]


def test_an_import_records_each_rows_answer_and_fails_only_the_bad_cells(org):
    started = timezone.now()
    job = run(upload(org.marketer, csv_text(CONSENT_FILE)))
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.failed_count) == (4, 5)

    ann, bob, cem, gus = (Lead.objects.get(email=f"{n}@acme.io") for n in ("ann", "bob", "cem", "gus"))
    assert answer(ann) == (
        Consent.GIVEN,
        at("2025-03-01T10:00"),
        ConsentMethod.IMPORT,
        "Newsletter v3",
        "consent",
    )
    assert records(ann) == [
        (
            Consent.GIVEN,
            at("2025-03-01T10:00"),
            ConsentMethod.IMPORT,
            "Newsletter v3",
            "consent",
            org.marketer.pk,
        )
    ]
    # An answer the row does not date is as of the import.
    consent, given_at, method, wording, basis = answer(bob)
    assert (consent, method, wording, basis) == (
        Consent.REFUSED,
        ConsentMethod.IMPORT,
        "Newsletter v3",
        LawfulBasis.LEGITIMATE_INTEREST,
    )
    assert started <= given_at <= timezone.now()
    assert [r[:5] for r in records(bob)] == [
        (Consent.REFUSED, given_at, ConsentMethod.IMPORT, "Newsletter v3", LawfulBasis.LEGITIMATE_INTEREST)
    ]
    # A blank answer records nothing; a lawful basis alone is the lead's, with no answer.
    assert answer(cem) == ("", None, "", "", "") and records(cem) == []
    assert answer(gus) == ("", None, "", "", LawfulBasis.CONTRACT) and records(gus) == []

    # Each bad cell fails its row alone, with its row number and why.
    messages = failed(job)
    assert set(messages) == {5, 6, 7, 9, 10}
    assert "“maybe” is not a consent answer" in messages[5]
    assert "Say what the person answered to" in messages[6]
    assert "Consent date “2099-01-01” is in the future" in messages[7]
    assert "Say whether consent was given, refused or withdrawn" in messages[9]
    assert "Several lawful bases" in messages[10]
    assert not Lead.objects.filter(email__in=["dora@acme.io", "eve@acme.io", "fay@acme.io"]).exists()
    assert ConsentRecord.objects.count() == 2

    # Fixed in the failed rows' file and imported again, they come in.
    lines = list(csv.reader(io.StringIO("".join(imports.failed_rows_csv(job)).lstrip("\ufeff"))))
    assert lines[0] == [*CONSENT_FILE[0], "Row", "Error"]
    fixes = {
        "dora@acme.io": {2: "given"},
        "eve@acme.io": {4: "Newsletter v3"},
        "fay@acme.io": {3: "2025-04-01"},
        "hal@acme.io": {3: ""},
        "ida@acme.io": {5: "Consent"},
    }
    fixed = [lines[0][:-2]]
    for line in lines[1:]:
        cells = line[:-2]
        for column, value in fixes[cells[0]].items():
            cells[column] = value
        fixed.append(cells)
    again = run(upload(org.marketer, csv_text(fixed), name="contacts-fixed.csv"))
    assert (again.created_count, again.failed_count) == (5, 0)
    assert answer(Lead.objects.get(email="fay@acme.io"))[:2] == (Consent.WITHDRAWN, at("2025-04-01T00:00"))
    assert answer(Lead.objects.get(email="ida@acme.io"))[::4] == (Consent.GIVEN, LawfulBasis.CONSENT)
    assert records(Lead.objects.get(email="hal@acme.io")) == []
    assert ConsentRecord.objects.filter(method=ConsentMethod.IMPORT).count() == 6

    # The whole file again: nothing twice.
    before = ConsentRecord.objects.count()
    third = run(upload(org.marketer, csv_text(CONSENT_FILE), name="contacts-again.csv"))
    assert third.created_count == 0 and ConsentRecord.objects.count() == before


def test_a_salesforce_opt_out_is_a_refusal(org):
    rows = [
        ["Email", "HasOptedOutOfEmail", "Consent"],
        ["out@acme.io", "true", ""],
        ["in@acme.io", "false", ""],
        ["both@acme.io", "1", "withdrawn"],
        ["odd@acme.io", "perhaps", ""],
        ["clash@acme.io", "true", "yes"],
    ]
    job = upload(org.marketer, csv_text(rows), name="sf-leads.csv")
    assert job.mapping == {"Email": "email", "HasOptedOutOfEmail": "opted_out", "Consent": "consent"}
    imports.import_configure(
        actor=org.marketer, job_id=job.pk, mapping={"Email": "email", "HasOptedOutOfEmail": "opted_out"}
    )
    job = run(job)
    assert (job.created_count, job.failed_count) == (4, 1)
    assert "Opted out of email “perhaps” is neither true nor false" in failed(job)[5]
    out = Lead.objects.get(email="out@acme.io")
    wording = "Opted out of email (“HasOptedOutOfEmail” in sf-leads.csv)"
    assert answer(out)[::2] == (Consent.REFUSED, ConsentMethod.IMPORT, "")
    assert answer(out)[3] == wording
    assert [r[0] for r in records(out)] == [Consent.REFUSED]
    assert records(Lead.objects.get(email="in@acme.io")) == []

    # With the consent columns too: a withdrawal stays one (the opt-out's wording when the
    # row has none), a “yes” contradicts the opt-out.
    more = [
        ["Email", "HasOptedOutOfEmail", "Consent", "Consent wording"],
        ["both@acme.io", "1", "withdrawn", ""],
        ["clash@acme.io", "true", "yes", "Newsletter v3"],
    ]
    both = run(upload(org.marketer, csv_text(more), name="sf-2.csv"))
    assert answer(Lead.objects.get(email="both@acme.io"))[0:4:3] == (
        Consent.WITHDRAWN,
        "Opted out of email (“HasOptedOutOfEmail” in sf-2.csv)",
    )
    assert "contradict each other" in failed(both)[3]


def test_an_excel_workbook_brings_its_consent_with_its_date_cells(org):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email", "Consent", "Consent at", "Consent wording", "Lawful basis"])
    sheet.append(["xl@acme.io", "Given", dt.datetime(2025, 5, 6, 7, 8), "Webinar sign-up v2", "consent"])
    sheet.append(["bad@acme.io", "Given", "06/05/2025", "Webinar sign-up v2", ""])
    out = io.BytesIO()
    book.save(out)
    job = run(upload(org.marketer, out.getvalue(), name="leads.xlsx"))
    assert (job.created_count, job.failed_count) == (1, 1)
    assert "ambiguous" in failed(job)[3]
    lead = Lead.objects.get(email="xl@acme.io")
    assert answer(lead) == (
        Consent.GIVEN,
        at("2025-05-06T07:08"),
        ConsentMethod.IMPORT,
        "Webinar sign-up v2",
        "consent",
    )
    assert len(records(lead)) == 1


# --- leads already here -------------------------------------------------------------------------


def test_a_lead_already_here_takes_a_newer_answer_only(org):
    def known(email, *, given_at=None, **profile):
        lead = LeadFactory(email=email, **profile)
        if given_at is not None:
            services.lead_consent_record(
                lead_id=lead.pk,
                actor=org.marketer,
                consent=Consent.GIVEN,
                consent_at=given_at,
                consent_wording="Newsletter v2",
            )
        return lead

    earlier = known("earlier@acme.io", given_at=at("2025-01-01T09:00"))
    later = known("later@acme.io", given_at=at("2025-06-01T09:00"))
    blank = known("blank@acme.io", company="")
    same = known("same@acme.io", given_at=at("2025-01-01T09:00"))
    rows = [
        ["Email", "Company", "Consent", "Consent at", "Consent wording"],
        ["earlier@acme.io", "", "withdrawn", "2025-06-01 12:00", "Newsletter v2"],
        ["later@acme.io", "", "refused", "2025-01-01 12:00", "Newsletter v2"],
        ["blank@acme.io", "Acme", "given", "", "Newsletter v3"],
        ["same@acme.io", "", "given", "", "Newsletter v2"],
    ]
    job = run(upload(org.marketer, csv_text(rows)))
    assert (job.updated_count, job.skipped_count, job.failed_count) == (2, 2, 0)
    skipped = {row.row_number: row.message for row in job.rows.filter(outcome=RowOutcome.SKIPPED)}
    assert set(skipped) == {3, 5} and "nothing new" in skipped[3]

    assert answer(earlier)[:4] == (
        Consent.WITHDRAWN,
        at("2025-06-01T12:00"),
        ConsentMethod.IMPORT,
        "Newsletter v2",
    )
    assert [r[:3] for r in records(earlier)] == [
        (Consent.GIVEN, at("2025-01-01T09:00"), ConsentMethod.BY_HAND),
        (Consent.WITHDRAWN, at("2025-06-01T12:00"), ConsentMethod.IMPORT),
    ]
    # An older answer than the lead's, or an undated one that says what the lead holds: nothing.
    assert answer(later)[:2] == (Consent.GIVEN, at("2025-06-01T09:00")) and len(records(later)) == 1
    assert len(records(same)) == 1
    # Filled and answered together; an undated answer is as of the import.
    assert answer(blank)[::3] == (Consent.GIVEN, "Newsletter v3")
    blank.refresh_from_db()
    assert blank.company == "Acme"
    assert [r[2] for r in records(blank)] == [ConsentMethod.IMPORT]

    # Importing the same file again records nothing twice.
    before = ConsentRecord.objects.count()
    again = run(upload(org.marketer, csv_text(rows), name="again.csv"))
    assert (again.updated_count, again.skipped_count) == (0, 4)
    assert ConsentRecord.objects.count() == before


def test_a_preview_says_what_a_row_records(org):
    lead = LeadFactory(email="known@acme.io")
    rows = [["Email", "Consent", "Consent wording"], ["known@acme.io", "refused", "Newsletter v3"]]
    preview = imports.import_preview(upload(org.marketer, csv_text(rows)))
    assert [(p.outcome, p.message) for p in preview.plans] == [
        ("update", f"Recorded consent (refused) on lead {lead.pk}.")
    ]
    assert records(lead) == []  # a preview writes nothing


# --- migrations ---------------------------------------------------------------------------------


def test_a_migration_brings_each_leads_answer(org):
    hubspot = [
        [
            "Record ID",
            "Email",
            "Lifecycle Stage",
            "Create Date",
            "GDPR consent",
            "Consent date",
            "Consent wording",
            "Legal basis for processing contact's data",
        ],
        ["1", "ann@acme.io", "Lead", "2025-02-01 10:00", "Yes", "2025-02-01 10:05", "Signup form v1", ""],
        [
            "2",
            "bob@acme.io",
            "Subscriber",
            "2025-02-01 10:00",
            "",
            "",
            "",
            "Legitimate interest - existing customer",
        ],
        ["3", "cem@acme.io", "Lead", "2025-02-01 10:00", "nope", "", "Signup form v1", ""],
        ["4", "zed@acme.io", "Lead", "2025-02-01 10:00", "withdrawn", "2025-02-02", "Signup form v1", ""],
    ]
    known = LeadFactory(email="zed@acme.io")
    job = upload(org.marketing_manager, csv_text(hubspot), kind="migration")
    assert job.mapping["GDPR consent"] == "consent"
    assert job.mapping["Legal basis for processing contact's data"] == "lawful_basis"
    job = run(job)
    assert (job.created_count, job.failed_count, job.skipped_count) == (2, 1, 1)
    assert "“nope” is not a consent answer" in failed(job)[4]
    assert (
        answer(known) == ("", None, "", "", "") and records(known) == []
    )  # a migration changes no lead here
    ann, bob = Lead.objects.get(email="ann@acme.io"), Lead.objects.get(email="bob@acme.io")
    assert answer(ann) == (
        Consent.GIVEN,
        at("2025-02-01T10:05"),
        ConsentMethod.IMPORT,
        "Signup form v1",
        "consent",
    )
    assert records(ann) == [
        (
            Consent.GIVEN,
            at("2025-02-01T10:05"),
            ConsentMethod.IMPORT,
            "Signup form v1",
            "consent",
            org.marketing_manager.pk,
        )
    ]
    assert answer(bob) == ("", None, "", "", LawfulBasis.LEGITIMATE_INTEREST) and records(bob) == []


def test_a_smarketing_export_brings_its_answers_back(org, django_capture_on_commit_callbacks):
    given = LeadFactory(email="given@acme.io")
    services.lead_consent_record(
        lead_id=given.pk,
        actor=org.marketer,
        consent=Consent.GIVEN,
        consent_at=at("2025-04-02T08:30"),
        consent_wording="Newsletter v3",
    )
    withdrawn = LeadFactory(email="withdrawn@acme.io")
    for status, moment in ((Consent.GIVEN, "2025-01-01T08:00"), (Consent.WITHDRAWN, "2025-05-01T08:00")):
        services.lead_consent_record(
            lead_id=withdrawn.pk,
            actor=org.marketer,
            consent=status,
            consent_at=at(moment),
            consent_wording="Newsletter v2",
            lawful_basis=LawfulBasis.LEGITIMATE_INTEREST,
        )
    LeadFactory(email="never@acme.io")
    exported = [
        [("" if v is None else str(v)) for v in row]
        for row in lead_export_rows(Lead.objects.all(), org.marketing_manager)
    ]
    before = {lead.email: answer(lead) for lead in Lead.objects.all()}
    fresh_installation()

    job = upload(org.marketing_manager, csv_text(exported), name="smarketing-leads.csv", kind="migration")
    assert job.system == "smarketing"
    job = run(job)
    assert (job.created_count, job.failed_count) == (3, 0), failed(job)
    for email, (consent, given_at, _method, wording, basis) in before.items():
        lead = Lead.objects.get(email=email)
        # Everything but how it came: this time by import.
        assert answer(lead) == (consent, given_at, ConsentMethod.IMPORT if consent else "", wording, basis)
        assert records(lead) == (
            [(consent, given_at, ConsentMethod.IMPORT, wording, basis, org.marketing_manager.pk)]
            if consent
            else []
        )


# --- website forms ------------------------------------------------------------------------------


@pytest.fixture
def form_source(org):
    source, key = inbound.inbound_source_create(
        actor=org.marketing_manager, name="Newsletter sign-up", consent_wording=WORDING
    )
    return source, key


def post(key, body, **headers):
    return APIClient().post(
        "/api/inbound/", body, format="json", HTTP_AUTHORIZATION=f"Api-Key {key}", **headers
    )


def test_a_form_post_records_the_answer_with_the_sources_wording(org, form_source):
    source, key = form_source
    before = timezone.now()
    first = post(key, {"email": "new@acme.io", "first_name": "Nia", "consent": True})
    assert (first.status_code, first.json()) == (202, {"received": True})
    lead = Lead.objects.get(email="new@acme.io")
    consent, given_at, method, wording, basis = answer(lead)
    assert (consent, method, wording, basis) == (
        Consent.GIVEN,
        ConsentMethod.FORM,
        WORDING,
        LawfulBasis.CONSENT,
    )
    assert before <= given_at <= timezone.now()
    assert records(lead) == [
        (Consent.GIVEN, given_at, ConsentMethod.FORM, WORDING, LawfulBasis.CONSENT, None)
    ]

    # The same person again, now unticking it: known, answered alike, the newer answer is theirs.
    second = post(key, {"email": "New@Acme.io", "consent": "false"})
    assert (second.status_code, second.json()) == (202, {"received": True})
    assert answer(lead)[0:3:2] == (Consent.REFUSED, ConsentMethod.FORM)
    assert [r[0] for r in records(lead)] == [Consent.GIVEN, Consent.REFUSED]

    # A website's own form posts form-encoded; a checkbox's "on" is consent given.
    third = APIClient().post(
        "/api/inbound/",
        urlencode({"email": "new@acme.io", "consent": "on"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )
    assert third.status_code == 202 and answer(lead)[0] == Consent.GIVEN

    # A post that says nothing about consent records nothing.
    quiet = post(key, {"email": "quiet@acme.io"})
    assert quiet.status_code == 202 and records(Lead.objects.get(email="quiet@acme.io")) == []

    # A replayed post acts once.
    for _ in range(2):
        post(key, {"email": "once@acme.io", "consent": "given"}, HTTP_IDEMPOTENCY_KEY="sub-1")
    assert len(records(Lead.objects.get(email="once@acme.io"))) == 1


def test_a_post_never_says_what_was_agreed_to(org, form_source):
    _, key = form_source
    for extra in (
        {"consent_wording": "Anything goes"},
        {"lawful_basis": "contract"},
        {"consent_at": "2020-01-01"},
    ):
        refused = post(key, {"email": "sly@acme.io", "consent": "given", **extra})
        assert refused.status_code == 422, refused.json()
        assert f"This form does not send {next(iter(extra))}" in refused.json()["error"]["message"]
    bad = post(key, {"email": "sly@acme.io", "consent": "maybe"})
    assert bad.status_code == 422 and "“maybe” is not a consent answer" in bad.json()["error"]["message"]
    shape = post(key, {"email": "sly@acme.io", "consent": ["given"]})
    assert shape.status_code == 400
    assert not Lead.objects.filter(email="sly@acme.io").exists()
    assert not ConsentRecord.objects.exists()


def test_the_answer_is_the_same_for_a_new_and_a_known_person(org, form_source):
    source, key = form_source
    LeadFactory(email="known@acme.io")
    new = post(key, {"email": "new@acme.io", "consent": "given"})
    known = post(key, {"email": "known@acme.io", "consent": "given"})
    assert (new.status_code, new.json(), new.headers.get("Content-Type")) == (
        known.status_code,
        known.json(),
        known.headers.get("Content-Type"),
    )
    assert ConsentRecord.objects.filter(method=ConsentMethod.FORM, wording=WORDING).count() == 2

    # A source that asks nothing refuses an answer, alike for both, before it looks anyone up.
    silent, silent_key = inbound.inbound_source_create(actor=org.marketing_manager, name="Contact us")
    new = post(silent_key, {"email": "other@acme.io", "consent": "yes"})
    known = post(silent_key, {"email": "known@acme.io", "consent": "yes"})
    assert new.status_code == known.status_code == 422
    assert new.json() == known.json()
    assert "records no consent answer" in new.json()["error"]["message"]
    assert list(new.json()["error"]["fields"]) == ["consent"]
    assert not Lead.objects.filter(email="other@acme.io").exists()
    # …while one that says nothing about consent is fine there.
    assert post(silent_key, {"email": "other@acme.io"}).status_code == 202


def test_a_new_wording_applies_to_answers_from_then_on(org, form_source):
    source, key = form_source
    post(key, {"email": "ann@acme.io", "consent": "given"})
    with pytest.raises(ActionError):
        inbound.inbound_source_consent_wording(actor=org.marketer, source_id=source.pk, consent_wording="v4")
    inbound.inbound_source_consent_wording(
        actor=org.marketing_manager, source_id=source.pk, consent_wording="  Newsletter (v4)  "
    )
    source.refresh_from_db()
    assert source.consent_wording == "Newsletter (v4)"
    post(key, {"email": "ann@acme.io", "consent": "given"})
    lead = Lead.objects.get(email="ann@acme.io")
    assert [r[3] for r in records(lead)] == [WORDING, "Newsletter (v4)"]
    with pytest.raises(ActionError, match="at most 500"):
        inbound.inbound_source_consent_wording(
            actor=org.marketing_manager, source_id=source.pk, consent_wording="x" * 501
        )


# --- the pages ----------------------------------------------------------------------------------


def test_the_inbound_sources_page_sets_and_changes_the_wording(org):
    manager = Client()
    manager.force_login(org.marketing_manager)
    page = manager.get("/agreement/inbound/")
    assert page.status_code == 200
    assert (
        'name="consent_wording"' in page.content.decode()
        and "Consent wording the form shows" in page.content.decode()
    )
    created = manager.post(
        "/agreement/inbound/",
        {
            "name": "Webinar form",
            "source": "webinar",
            "engagement_type": "form_submit",
            "fields": ["first_name"],
            "per_email_per_day": 1,
            "per_minute": 60,
            "consent_wording": "Webinar reminders and follow-up (v1)",
        },
    )
    assert created.status_code == 200
    source = InboundSource.objects.get(name="Webinar form")
    assert source.consent_wording == "Webinar reminders and follow-up (v1)"
    assert '"consent": "given"' in created.content.decode()  # the example post shows it

    changed = manager.post(
        f"/agreement/inbound/{source.pk}/consent-wording/",
        {"consent_wording": "Webinar follow-up (v2)"},
        follow=True,
    )
    assert "now recorded with the wording “Webinar follow-up (v2)”" in changed.content.decode()
    source.refresh_from_db()
    assert source.consent_wording == "Webinar follow-up (v2)"
    assert f'id="wording-{source.pk}"' in changed.content.decode()

    marketer = Client()
    marketer.force_login(org.marketer)
    refused = marketer.post(
        f"/agreement/inbound/{source.pk}/consent-wording/", {"consent_wording": ""}, follow=True
    )
    assert refused.status_code == 200
    source.refresh_from_db()
    assert source.consent_wording == "Webinar follow-up (v2)"
    assert "Webinar follow-up (v2)" in marketer.get("/agreement/inbound/").content.decode()


def test_the_mapping_page_lists_the_consent_fields(org):
    job = upload(
        org.marketer, csv_text([["Email", "Consent", "Consent wording"], ["a@acme.io", "yes", "v1"]])
    )
    client = Client()
    client.force_login(org.marketer)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    for code, label in intake_values.FIELDS.items():
        if code in intake_values.CONSENT_FIELDS:
            assert f'<option value="{code}"' in page and label in page
    assert '<option value="consent" selected>' in page
    assert "1</strong> to create" in page

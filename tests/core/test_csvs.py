"""What the product writes out: CSV cells a spreadsheet would run are guarded, file names
cannot break the download's header (issue 20, class 3)."""

from __future__ import annotations

import csv
import io
from email.message import Message

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import Lead
from smarketing.core.csvs import csv_download, csv_lines, guarded, unguarded
from smarketing.intake import imports
from smarketing.intake import run as intake_run
from smarketing.org.models import Campaign

HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", "\tx", "\rx"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text_and_read_back_as_it_was(cell):
    (line,) = csv_lines([[cell]])
    (written,) = next(csv.reader(io.StringIO(line)))
    assert written.startswith("'") and written[1:] == cell
    assert unguarded(guarded(cell)) == cell


@pytest.mark.parametrize("cell", ["Ann", "-12.50", "+4930", 5, -5, 1.5, None, ""])
def test_numbers_and_plain_text_are_written_as_they_are(cell):
    assert guarded(cell) == cell


def _import(org, text: str, name: str = "contacts.csv"):
    job = imports.import_upload(actor=org.marketer, uploaded=SimpleUploadedFile(name, text.encode()))
    imports.import_start(actor=org.marketer, job_id=job.pk)
    return intake_run.import_run(job_id=job.pk)


def test_the_failed_rows_file_guards_formulas_and_imports_back_to_the_same_values(org):
    job = _import(org, "Email,First Name,Phone\nnot-an-email,=HYPERLINK(1),+49 30 555\n")
    assert job.failed_count == 1
    body = "".join(imports.failed_rows_csv(job)).lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(body)))
    assert row[:3] == ["not-an-email", "'=HYPERLINK(1)", "'+49 30 555"]

    # The user fixes the email in the file and imports it again: the values are theirs.
    fixed = body.replace("not-an-email", "ann@acme.io")
    again = _import(org, fixed, name="fixed.csv")
    assert again.created_count == 1
    lead = Lead.objects.get(email="ann@acme.io")
    assert (lead.first_name, lead.phone) == ("=HYPERLINK(1)", "+49 30 555")


def test_the_dashboard_csv_guards_a_campaign_named_as_a_formula(client, org, make_lead):
    campaign = Campaign.objects.create(name="=1+2")
    make_lead(campaign=campaign)
    client.force_login(org.marketing_manager)
    response = client.get("/reports/export/attribution-campaign.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows[1:] if "1+2" in row[0]] == ["'=1+2"]


@pytest.mark.parametrize(
    "name",
    ['a"; filename=evil.exe;x.csv', "report\r\nSet-Cookie: x=1.csv", "Müller & Söhne.csv", "\x00\x01"],
)
def test_a_file_name_cannot_break_the_download_header(name):
    response = csv_download(iter(["a\n"]), name)
    header = response["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    message = Message()
    message["Content-Disposition"] = header
    assert message.get_content_disposition() == "attachment"
    params = [key for key, _ in message.get_params(header="content-disposition")]
    assert params.count("filename") + params.count("filename*") == 1

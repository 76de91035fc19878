"""Excel (.xlsx) imports: real workbooks — written by openpyxl, and by hand as Excel writes
them (a table of shared strings, date styles) — read behind the same `sniff`/`iter_rows`
as a CSV, uploaded through the API and the page, imported, and their failed rows
downloaded as .xlsx, fixed and imported again."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from rest_framework.test import APIClient

from leads.models import EventType, Lead
from smarketing.intake import reading
from smarketing.intake.models import ImportJob, ImportStatus
from smarketing.intake.reading import XLSX, ImportFileError, cell_text, iter_rows, sniff
from smarketing.org.models import Source

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["Email", "First Name", "Last Name", "Company", "Phone", "Created at", "Employees"]


class Text(str):
    """A text cell even when it looks like a formula (openpyxl would write "=1+2" as one)."""


def workbook_bytes(rows, *, blank_rows_above: int = 0, sheets=()) -> bytes:
    """A real .xlsx written by openpyxl: `rows` on the first sheet (after some empty rows),
    typed as given (dates as date cells, numbers as numbers, `Text` as text); more sheets
    after it."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    for _ in range(blank_rows_above):
        sheet.append([])
    for row in rows:
        sheet.append(row)
        for cell, value in zip(sheet[sheet.max_row], row, strict=False):
            if isinstance(value, Text):
                cell.value, cell.data_type = str(value), "s"
    for title, more in sheets:
        other = book.create_sheet(title)
        for row in more:
            other.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PEOPLE = [
    HEADER,
    ["ann@acme.io", "Ann", "Archer", "Acme", 4915112345678, dt.date(2024, 6, 12), 250],
    [
        "bob@",
        '\'=HYPERLINK("http://evil","x")',
        "Baker",
        "Acme",
        "+49 30 555",
        dt.datetime(2024, 6, 12, 14, 3),
        12.0,
    ],
    [None, None, None, None, None, None, None],
    ["cy@acme.io", "Cy", "Cole", Text("=1+2"), None, None, "=6*7"],  # text; a formula never computed
]


# --- reading: the same interface as a CSV -------------------------------------------------------------


def test_a_workbook_is_read_behind_the_csv_interface(tmp_path):
    path = tmp_path / "leads.xlsx"
    path.write_bytes(workbook_bytes(PEOPLE))
    fmt = sniff(path)
    assert (fmt.encoding, fmt.delimiter, fmt.headers) == (XLSX, "", HEADER)
    assert fmt.row_count_estimate == 4  # the blank row too: an estimate
    assert list(iter_rows(path, fmt)) == [
        (
            2,
            {
                "Email": "ann@acme.io",
                "First Name": "Ann",
                "Last Name": "Archer",
                "Company": "Acme",
                "Phone": "4915112345678",  # a number cell: every digit, no ".0"
                "Created at": "2024-06-12",  # a date cell: the date alone
                "Employees": "250",
            },
        ),
        (
            3,
            {
                "Email": "bob@",
                "First Name": '=HYPERLINK("http://evil","x")',  # our guard taken off again
                "Last Name": "Baker",
                "Company": "Acme",
                "Phone": "+49 30 555",
                "Created at": "2024-06-12 14:03:00",
                "Employees": "12",  # 12.0 is a whole number
            },
        ),
        # Row 4 is blank: skipped, and the next row keeps its own number.
        (
            5,
            {
                "Email": "cy@acme.io",
                "First Name": "Cy",
                "Last Name": "Cole",
                "Company": "=1+2",  # text that looks like a formula stays text
                "Phone": "",
                "Created at": "",
                "Employees": "",  # a formula is read as its last computed value: none here
            },
        ),
    ]


def test_the_header_is_the_first_non_empty_row_and_rows_keep_their_sheet_numbers(tmp_path):
    path = tmp_path / "leads.xlsx"
    rows = [["Email", None, "Name"], ["ann@acme.io", "ignored: no header", "Ann", "beyond the header"]]
    path.write_bytes(workbook_bytes(rows, blank_rows_above=2, sheets=[("Other", [["x@y.io"]])]))
    fmt = sniff(path)
    assert fmt.headers == ["Email", "", "Name"]
    assert list(iter_rows(path, fmt)) == [(4, {"Email": "ann@acme.io", "Name": "Ann"})]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  padded  ", "padded"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (42.0, "42"),
        (-3.0, "-3"),
        (0.1 + 0.2, "0.3"),
        (1234.5600000000001, "1234.56"),
        (dt.datetime(2024, 6, 12), "2024-06-12"),
        (dt.datetime(2024, 6, 12, 14, 3), "2024-06-12 14:03:00"),
        (dt.datetime(2024, 6, 12, 14, 2, 59, 999000), "2024-06-12 14:03:00"),  # Excel's float noise
        (dt.date(2024, 6, 12), "2024-06-12"),
        (dt.time(9, 30), "09:30:00"),
        ("'=SUM(A1)", "=SUM(A1)"),
        ("'plain", "'plain"),
    ],
)
def test_cells_become_the_text_a_csv_would_hold(value, text):
    assert cell_text(value) == text


def test_a_workbook_is_told_by_its_content_not_its_name(tmp_path):
    disguised = tmp_path / "leads.csv"
    disguised.write_bytes(workbook_bytes([["Email"], ["ann@acme.io"]]))
    assert sniff(disguised).encoding == XLSX
    csv_named_xlsx = tmp_path / "leads.xlsx"
    csv_named_xlsx.write_bytes(b"Email\nann@acme.io\n")
    assert (sniff(csv_named_xlsx).encoding, sniff(csv_named_xlsx).delimiter) == ("utf-8", ",")


class Unseekable(io.RawIOBase):
    """A stream that cannot seek, as the database's and a bucket's are."""

    def __init__(self, data: bytes):
        super().__init__()
        self.data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_that_cannot_seek_is_read_through_a_temporary_copy():
    data = workbook_bytes([["Email", "Name"], ["ann@acme.io", "Ann"]])
    stream = io.BufferedReader(Unseekable(data))
    assert not stream.seekable()
    fmt = sniff(stream, size=len(data))
    assert fmt.headers == ["Email", "Name"]
    rows_stream = io.BufferedReader(Unseekable(data))
    assert list(iter_rows(rows_stream, fmt)) == [(2, {"Email": "ann@acme.io", "Name": "Ann"})]
    assert rows_stream.closed  # closed when the rows end, as a CSV's stream is


def test_openpyxl_reads_read_only_and_never_materialises_the_rows(tmp_path, monkeypatch):
    opened = []
    load = openpyxl.load_workbook

    def spy(*args, **kwargs):
        opened.append((kwargs.get("read_only"), kwargs.get("data_only")))
        return load(*args, **kwargs)

    def no_rows(sheet):
        raise AssertionError("the reader must stream with iter_rows, not ws.rows")

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    monkeypatch.setattr(ReadOnlyWorksheet, "rows", property(no_rows))
    path = tmp_path / "leads.xlsx"
    path.write_bytes(workbook_bytes(PEOPLE))
    assert len(list(iter_rows(path, sniff(path)))) == 3
    assert opened == [(True, True), (True, True)]  # sniff, then the rows


# --- a workbook as Excel writes it: shared strings, date styles, formulas ----------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Contacts" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
# Style 0: general; style 1: Excel's built-in short date (numFmtId 14); style 2: a date and time.
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def excel_workbook(rows: list[list]) -> bytes:
    """An .xlsx as Excel saves one: text in the shared-strings table, dates as serial numbers
    styled as dates, a formula with its last computed value, blank rows simply absent.
    Each cell is ("s", text) | ("n", number) | ("date", serial) | ("datetime", serial) |
    ("f", formula, cached number) | None; a row of None is left out of the file."""
    strings: list[str] = []
    xml_rows = []
    for number, row in enumerate(rows, start=1):
        cells = []
        for column, cell in enumerate(row):
            if cell is None:
                continue
            ref = f"{chr(65 + column)}{number}"
            kind, value = cell[0], cell[1]
            if kind == "s":
                strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
            elif kind == "n":
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif kind in ("date", "datetime"):
                cells.append(f'<c r="{ref}" s="{1 if kind == "date" else 2}"><v>{value}</v></c>')
            elif kind == "f":
                cells.append(f'<c r="{ref}"><f>{escape(value)}</f><v>{cell[2]}</v></c>')
        if cells:
            xml_rows.append(f'<row r="{number}">{"".join(cells)}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:G{len(rows)}"/><sheetData>{"".join(xml_rows)}</sheetData></worksheet>'
    )
    shared = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">' + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        archive.writestr("xl/sharedStrings.xml", shared)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


EXCEL_ROWS = [
    [None, None, None],
    [("s", "E-mail"), ("s", "Create Date"), ("s", "Score")],
    [("s", "dana@acme.io"), ("date", 45455), ("f", "SUM(1,2)", 3)],  # 45455: 2024-06-12
    [("s", "eve@acme.io"), ("datetime", "45455.585416666669"), ("n", "4.5E+3")],
]


def test_a_workbook_as_excel_writes_it(tmp_path):
    path = tmp_path / "excel.xlsx"
    path.write_bytes(excel_workbook(EXCEL_ROWS))
    fmt = sniff(path)
    assert fmt.headers == ["E-mail", "Create Date", "Score"]
    assert fmt.row_count_estimate == 2
    assert list(iter_rows(path, fmt)) == [
        (3, {"E-mail": "dana@acme.io", "Create Date": "2024-06-12", "Score": "3"}),  # the formula's value
        (4, {"E-mail": "eve@acme.io", "Create Date": "2024-06-12 14:03:00", "Score": "4500"}),
    ]


def test_a_table_of_strings_too_large_to_hold_is_refused_with_advice(tmp_path, monkeypatch):
    path = tmp_path / "excel.xlsx"
    path.write_bytes(excel_workbook(EXCEL_ROWS))
    monkeypatch.setattr(reading, "SHARED_STRINGS_LIMIT", 100)
    with pytest.raises(ImportFileError) as refused:
        sniff(path)
    assert "too much text to be read as .xlsx" in refused.value.message
    assert "Save it as CSV (comma-separated)" in refused.value.message


# --- whole-file problems -------------------------------------------------------------------------------


def zipped(parts: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def compound_file(stream_name: str, *, at: int) -> bytes:
    """An OLE2 compound file (the container of a legacy .xls, and of any workbook saved with
    a password) whose directory names `stream_name`, `at` bytes in."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * (at - 8)
    return head + stream_name.encode("utf-16-le") + b"\x00" * 512


def empty_workbook() -> bytes:
    return workbook_bytes([])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "This Excel workbook is damaged"),
        (zipped({"word/document.xml": "<w/>"}), "a zipped file that holds no Excel workbook"),
        (zipped({"xl/workbook.bin": b"\x00"}), "Excel binary workbook (.xlsb)"),
        (
            zipped({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"}),
            "OpenDocument spreadsheet (.ods)",
        ),
        (zipped({"xl/workbook.xml": "<not a workbook"}), "This Excel workbook is damaged"),
        (compound_file("Workbook", at=512), "Excel 97–2003 workbook (.xls)"),
        # The password's stream is named past the 64 KiB that sniff samples: still found.
        (compound_file("EncryptedPackage", at=100_000), "protected with a password"),
        (empty_workbook(), "The first sheet of this workbook is empty"),
        (workbook_bytes([["ann@acme.io", "Ann"]]), "must hold column names"),
    ],
)
def test_whole_workbook_problems_are_refused_with_what_to_do(tmp_path, content, message):
    path = tmp_path / "upload.xlsx"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as refused:
        sniff(path)
    assert message in refused.value.message
    if "password" in message or "(.xls)" in message or "damaged" in message:
        assert "save it as Excel Workbook (.xlsx) or as CSV" in refused.value.message


def test_a_sheet_broken_half_way_fails_naming_the_row(tmp_path):
    good = excel_workbook(EXCEL_ROWS)
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = sheet.replace('<row r="4">', '<row r="4"><c r="A4" t="s"><v>oops')
    path = tmp_path / "broken.xlsx"
    path.write_bytes(zipped(parts))
    fmt = sniff(path)
    rows = iter_rows(path, fmt)
    assert next(rows)[0] == 3
    with pytest.raises(ImportFileError, match=r"^Row 4 of the workbook could not be read"):
        next(rows)


# --- through the API and the page ------------------------------------------------------------------


@pytest.fixture
def api(org):
    client = APIClient()
    client.force_authenticate(org.marketer)
    return client


def upload_through_api(api, content: bytes, name: str = "leads.xlsx"):
    response = api.post(
        "/api/imports/",
        {"file": SimpleUploadedFile(name, content, content_type=XLSX_TYPE)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_api_imports_a_workbook_and_its_failed_rows_come_back_as_a_workbook_to_fix(
    api, org, django_capture_on_commit_callbacks
):
    body = upload_through_api(api, workbook_bytes(PEOPLE))
    assert (body["encoding"], body["delimiter"], body["headers"]) == ("xlsx", "", HEADER)
    assert body["mapping"] == {
        "Email": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company": "company",
        "Phone": "phone",
        "Created at": "created_at",
        "Employees": "company_size",
    }
    assert body["rows_estimate"] == 4
    assert body["preview"]["counts"] == {"create": 2, "update": 0, "skip": 0, "fail": 1}
    assert [(row["row_number"], row["outcome"]) for row in body["preview"]["rows"]] == [
        (2, "create"),
        (3, "fail"),
        (5, "create"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/imports/{body['id']}/start/").status_code == 202
    job = api.get(f"/api/imports/{body['id']}/").json()
    assert (job["status"], job["created_count"], job["failed_count"], job["rows_done"]) == ("done", 2, 1, 3)

    ann = Lead.objects.get(email="ann@acme.io")
    assert (ann.first_name, ann.phone, ann.company_size, ann.source) == (
        "Ann",
        "4915112345678",
        250,
        Source.LIST_IMPORT,
    )
    created = ann.events.get(type=EventType.CREATED)
    assert created.data["original_created_at"] == "2024-06-12T00:00:00+02:00"  # midnight, Berlin
    assert created.data["import_row"] == 2
    assert Lead.objects.get(email="cy@acme.io").company == "=1+2"

    # The failed rows, as a workbook: the columns as uploaded (as text), the row, the reason.
    response = api.get(f"/api/imports/{body['id']}/failed-rows/", {"format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"] == XLSX_TYPE
    assert 'filename="leads-failed-rows.xlsx"' in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.active
    assert sheet.title == "Failed rows"
    assert list(sheet.iter_rows(values_only=True)) == [
        (*HEADER, "Row", "Error"),
        (
            "bob@",
            '\'=HYPERLINK("http://evil","x")',  # guarded, as in the CSV
            "Baker",
            "Acme",
            "'+49 30 555",
            "2024-06-12 14:03:00",
            "12",
            3,
            "“bob@” is not a valid email address.",
        ),
    ]

    # Fixed in Excel and imported again: it creates the lead with the values as they were.
    sheet["A2"] = "bob@acme.io"
    fixed = io.BytesIO()
    book.save(fixed)
    again = upload_through_api(api, fixed.getvalue(), name="leads-failed-rows.xlsx")
    assert again["mapping"]["Email"] == "email" and "Row" not in again["mapping"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/imports/{again['id']}/start/")
    assert ImportJob.objects.get(pk=again["id"]).created_count == 1
    bob = Lead.objects.get(email="bob@acme.io")
    assert (bob.first_name, bob.phone, bob.company_size) == (
        '=HYPERLINK("http://evil","x")',
        "+49 30 555",
        12,
    )
    original = bob.events.get(type=EventType.CREATED).data["original_created_at"]
    assert original == "2024-06-12T14:03:00+02:00"


def test_the_api_failed_rows_default_to_csv_and_refuse_an_unknown_format(api, org):
    body = upload_through_api(api, workbook_bytes(PEOPLE))
    csv_response = api.get(f"/api/imports/{body['id']}/failed-rows/")
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(csv_response.streaming_content).decode("utf-8-sig").splitlines() == [
        ",".join([*HEADER, "Row", "Error"])
    ]
    refused = api.get(f"/api/imports/{body['id']}/failed-rows/", {"format": "pdf"})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"format": ["format is one of csv, xlsx."]}
    rep = APIClient()
    rep.force_authenticate(org.rep)
    assert rep.get(f"/api/imports/{body['id']}/failed-rows/", {"format": "xlsx"}).status_code == 403


def test_the_page_journey_with_a_workbook(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.marketer)
    page = client.get("/imports/").content.decode()
    assert "CSV or Excel (.xlsx)" in page and ".xlsx,application/vnd.openxmlformats" in page
    response = client.post("/imports/", {"file": SimpleUploadedFile("event.xlsx", workbook_bytes(PEOPLE))})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert (job.encoding, job.delimiter, job.rows_estimate) == ("xlsx", "", 4)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "read as an Excel workbook (.xlsx), its first sheet" in page
    assert "<strong>2</strong> to create" in page and "<strong>1</strong> with errors" in page

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, rows_done=1)
    progress = client.get(f"/imports/{job.pk}/progress/").content.decode()
    assert "1 of about 4 rows read" in progress
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.MAPPING, rows_done=0)

    form = {f"map-{i}": job.mapping.get(header, "") for i, header in enumerate(job.headers)}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/imports/{job.pk}/mapping/", {**form, "default_source": "event", "campaign": "", "start": "1"}
        )
    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == (ImportStatus.DONE, 2, 1)
    assert set(Lead.objects.values_list("email", "source")) == {
        ("ann@acme.io", "event"),
        ("cy@acme.io", "event"),
    }
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'href="/imports/{job.pk}/failed-rows.xlsx"' in page and "Download them as Excel (.xlsx)" in page

    download = client.get(f"/imports/{job.pk}/failed-rows.xlsx")
    assert download.status_code == 200 and download["Content-Type"] == XLSX_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["Email", "bob@"]
    assert sheet.cell(row=2, column=len(HEADER) + 1).value == 3


def test_the_page_refuses_the_failed_rows_workbook_to_sales(client, org):
    job = ImportJob.objects.create(created_by=org.marketer, file_name="x.xlsx", encoding="xlsx", delimiter="")
    client.force_login(org.rep)
    response = client.get(f"/imports/{job.pk}/failed-rows.xlsx")
    assert response.status_code == 403 and "Only marketing can import leads" in response.content.decode()


def test_a_refused_workbook_keeps_nothing_and_says_why_on_the_page(client, org):
    client.force_login(org.marketer)
    response = client.post(
        "/imports/", {"file": SimpleUploadedFile("old.xls", compound_file("Workbook", at=512))}
    )
    assert response.status_code == 400
    assert "Excel 97–2003 workbook (.xls)" in response.content.decode()
    assert not ImportJob.objects.exists()

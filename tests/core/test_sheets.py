"""The .xlsx writer every export shares (`smarketing.core.sheets`): real workbooks read back
with openpyxl — numbers stay numbers, dates stay dates, text a spreadsheet would run is
guarded as in every CSV, the file name cannot break the header."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from email.message import Message
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from smarketing.core import sheets
from smarketing.core.csvs import unguarded
from smarketing.core.errors import ActionError
from smarketing.core.sheets import (
    XLSX_CONTENT_TYPE,
    ExportNegotiation,
    export_format,
    table_download,
    xlsx_download,
)

BERLIN = ZoneInfo("Europe/Berlin")
HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", "\tx"]


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def workbook_of(response):
    return openpyxl.load_workbook(io.BytesIO(body(response)))


def test_cells_keep_their_types_and_times_are_the_organisations(settings):
    settings.SMARKETING_TIME_ZONE = "Europe/Berlin"
    created = dt.datetime(2024, 6, 12, 12, 3, tzinfo=dt.UTC)  # 14:03 in Berlin (summer time)
    rows = [
        ["Name", "Count", "Amount", "Ratio", "Day", "At", "Flag", "Nothing"],
        ["Ann", 42, Decimal("1234.50"), 0.6667, dt.date(2024, 6, 12), created, True, None],
    ]
    response = xlsx_download(rows, "export.xlsx")
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert int(response["Content-Length"]) > 0
    sheet = workbook_of(response).active
    header, values = list(sheet.iter_rows(values_only=True))
    assert header == ("Name", "Count", "Amount", "Ratio", "Day", "At", "Flag", "Nothing")
    assert values == (
        "Ann",
        42,
        1234.5,
        0.6667,
        dt.datetime(2024, 6, 12),
        dt.datetime(2024, 6, 12, 14, 3),
        True,
        None,
    )
    cells = list(sheet.iter_rows(min_row=2))[0]
    assert [cell.data_type for cell in cells[:7]] == ["s", "n", "n", "n", "d", "d", "b"]
    assert cells[4].number_format == "yyyy-mm-dd"  # a date alone shows as one


@pytest.mark.parametrize("cell", HOSTILE)
def test_text_a_spreadsheet_would_run_is_guarded_as_in_a_csv(cell):
    sheet = workbook_of(xlsx_download([["Name"], [cell]], "x.xlsx")).active
    written = sheet["A2"]
    assert written.data_type == "s"  # text, never a formula
    assert written.value.startswith("'") and unguarded(written.value) == cell


def test_plain_numbers_in_text_and_negative_numbers_are_not_guarded():
    sheet = workbook_of(xlsx_download([["a", "b", "c"], ["-12.50", -5, "Ann"]], "x.xlsx")).active
    assert [cell.value for cell in sheet[2]] == ["-12.50", -5, "Ann"]


def test_characters_xml_cannot_hold_are_dropped_and_long_text_is_cut_to_excels_limit():
    long = "x" * (sheets.CELL_CHARACTERS + 10)
    rows = [["a", "b", "c"], ["Ann\x00\x07 Archer\tok\r\nnext\rlast", long, "\r=1+2"]]
    sheet = workbook_of(xlsx_download(rows, "x.xlsx")).active
    assert sheet["A2"].value == "Ann Archer\tok\nnext\nlast"  # line breaks as Excel writes them
    assert len(sheet["B2"].value) == sheets.CELL_CHARACTERS
    assert sheet["C2"].value == "\n=1+2"  # a line break first: no formula, nothing to guard


def test_rows_past_a_sheets_limit_go_on_in_another_sheet_under_the_same_header(monkeypatch):
    monkeypatch.setattr(sheets, "SHEET_ROWS", 3)  # header + 2 rows a sheet
    rows = [["Id", "Name"], *([n, f"Lead {n}"] for n in range(1, 6))]
    book = workbook_of(xlsx_download(rows, "x.xlsx", title="Leads: all [open]?"))
    assert book.sheetnames == ["Leads all open", "Leads all open (2)", "Leads all open (3)"]
    read = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
    assert read == [
        [("Id", "Name"), (1, "Lead 1"), (2, "Lead 2")],
        [("Id", "Name"), (3, "Lead 3"), (4, "Lead 4")],
        [("Id", "Name"), (5, "Lead 5")],
    ]


def test_the_workbook_is_written_in_write_only_mode_from_an_iterator(monkeypatch):
    modes = []

    class Spy(openpyxl.Workbook):
        def __init__(self, *args, **kwargs):
            modes.append(kwargs.get("write_only"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(sheets, "Workbook", Spy)
    rows = ([n, n * 2] for n in range(100))  # a generator: read once, row by row
    sheet = workbook_of(xlsx_download(rows, "x.xlsx")).active
    assert modes == [True]
    assert sheet.max_row == 100 and sheet["B100"].value == 198


def test_no_rows_at_all_is_still_a_workbook():
    book = workbook_of(xlsx_download(iter(()), "x.xlsx"))
    assert len(book.worksheets) == 1


@pytest.mark.parametrize(
    "name",
    ['a"; filename=evil.exe;x.xlsx', "report\r\nSet-Cookie: x=1.xlsx", "Müller & Söhne.xlsx", "\x00\x01"],
)
def test_a_file_name_cannot_break_the_download_header(name):
    header = xlsx_download([["a"]], name)["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    message = Message()
    message["Content-Disposition"] = header
    assert message.get_content_disposition() == "attachment"
    params = [key for key, _ in message.get_params(header="content-disposition")]
    assert params.count("filename") + params.count("filename*") == 1


def test_the_csv_of_the_same_rows_writes_times_in_iso_with_the_offset(settings):
    settings.SMARKETING_TIME_ZONE = "Europe/Berlin"
    at = dt.datetime(2024, 1, 15, 8, 30, 5, 123456, tzinfo=dt.UTC)
    rows = [
        ["At", "Day", "Amount", "None", "Hostile"],
        [at, dt.date(2024, 6, 12), Decimal("-12.50"), None, "=1+2"],
    ]
    response = table_download(rows, "leads", "csv", bom=True)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="leads.csv"' in response["Content-Disposition"]
    text = body(response).decode()
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [
        ["At", "Day", "Amount", "None", "Hostile"],
        ["2024-01-15T09:30:05+01:00", "2024-06-12", "-12.50", "", "'=1+2"],
    ]
    xlsx = table_download(rows, "leads", "xlsx")
    assert 'filename="leads.xlsx"' in xlsx["Content-Disposition"]
    assert workbook_of(xlsx).active["A2"].value == dt.datetime(2024, 1, 15, 9, 30, 5, 123000)


def test_export_format_is_csv_by_default_and_refuses_anything_else():
    assert export_format(None) == "csv"
    assert export_format("xlsx") == "xlsx"
    with pytest.raises(ActionError) as refused:
        export_format("pdf")
    assert refused.value.code == ActionError.MALFORMED and refused.value.fields == {
        "format": ["format is one of csv, xlsx."]
    }


def test_the_export_negotiation_answers_with_the_views_first_renderer_whatever_is_asked():
    class Renderer:
        media_type = "application/json"

    first = Renderer()
    assert ExportNegotiation().select_renderer(None, [first, object()], "xlsx") == (first, "application/json")

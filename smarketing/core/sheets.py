"""Excel (.xlsx) downloads, and a table offered as CSV or as .xlsx from the same rows.

`xlsx_download(rows, filename)` writes rows — the first is the header — into a workbook
with openpyxl's write-only mode: each row is serialised as it comes (openpyxl keeps the
sheet in a temporary file of its own), so memory holds one row at a time however many
there are. Unlike a CSV, a workbook cannot go out as its rows are read: an .xlsx is a zip,
and a zip's table of contents (its central directory) is written at its end, after every
part it lists. So the finished workbook is spooled to a temporary file (in memory while it
is small, on this node's disk past `SPOOL_MEMORY`), then streamed back from that file by a
`FileResponse`, a block at a time.

Cells keep their types: numbers stay numbers, dates and times stay dates (a spreadsheet
sorts and sums them), text is text. Text gets the same formula guard as every CSV the
product writes (`smarketing.core.csvs.guarded`: a leading apostrophe before `=`, `+`, `-`,
`@`, …), so a lead named `=HYPERLINK(…)` is never a formula, in the workbook or in a CSV
saved from it; the imports take the apostrophe off again (`unguarded`), so an exported
file imports back to the same values.

`table_download(rows, name, fmt)` is the one call of every export offered both ways;
`export_format` reads an API's `?format=` and `ExportNegotiation` keeps DRF from taking
that parameter for one of its renderers.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Iterable
from decimal import Decimal

from django.http import FileResponse, HttpResponseBase
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from openpyxl import Workbook
from rest_framework.negotiation import BaseContentNegotiation

from smarketing.core.csvs import csv_download, csv_lines, guarded
from smarketing.core.errors import ActionError
from smarketing.core.weeks import org_tz

__all__ = [
    "FORMATS",
    "EXPORT_FORMAT_PARAMETER",
    "EXPORT_RESPONSES",
    "XLSX_CONTENT_TYPE",
    "ExportNegotiation",
    "csv_cell",
    "export_format",
    "sheet_cell",
    "table_download",
    "xlsx_download",
]

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An export endpoint's `?format=` and its two kinds of answer, for its OpenAPI schema.
EXPORT_FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=["csv", "xlsx"],
    default="csv",
    description="csv (UTF-8 with a byte-order mark, streamed) or xlsx (an Excel workbook).",
)
EXPORT_RESPONSES = {(200, "text/csv"): OpenApiTypes.BINARY, (200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}
FORMATS = ("csv", "xlsx")  # what every export is offered as

SPOOL_MEMORY = 1024 * 1024  # a finished workbook up to this size never touches the disk
SHEET_ROWS = 1_048_576  # Excel's rows per sheet; past it the rows go on in a second sheet
CELL_CHARACTERS = 32_767  # Excel's characters per cell
# Characters XML 1.0 cannot hold (openpyxl refuses a cell with one): control characters
# other than tab, line feed and carriage return.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def sheet_cell(value):
    """A value as a workbook cell holds it.

    Text is `guarded`, loses the control characters XML cannot carry, has its line breaks
    as Excel writes them ("\\n": XML would turn a carriage return into one anyway), and is
    cut to Excel's 32,767 characters. An aware datetime is written in the organisation's time
    zone (settings.SMARKETING_TIME_ZONE), without a zone: a workbook has none. Numbers,
    Decimals, dates, booleans as they are; None an empty cell."""
    if isinstance(value, str):
        text = _NOT_IN_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
        return guarded(text)[:CELL_CHARACTERS]
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(org_tz()).replace(tzinfo=None)
    return value


def csv_cell(value):
    """A value as a CSV cell holds it (`csv_lines` guards the text): an aware datetime in
    ISO 8601 with its offset, in the organisation's time zone, to the second
    (`2024-06-12T14:03:00+02:00`); a date as `2024-06-12`; a Decimal as written
    (`1234.50`); None as "". Numbers and text as they are."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(org_tz())
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return "" if value is None else value


def _safe_name(filename: str, default: str) -> str:
    return "".join(c for c in filename if c.isprintable()).strip() or default


def xlsx_download(rows: Iterable[Iterable], filename: str, *, title: str = "Export") -> FileResponse:
    """An .xlsx attachment of `rows` (the first is the header), on a sheet named `title`.

    Written with openpyxl's `Workbook(write_only=True)`: a row at a time, never the whole
    table in memory. The workbook is spooled to a temporary file (a zip needs its
    central directory at its end, so nothing can be sent before the last row is written),
    which the `FileResponse` streams and closes. Past Excel's 1,048,576 rows a sheet, the
    rows go on in another sheet ("Export (2)"), under the same header. The file name is
    kept to what it can say in a header, as `csv_download` does."""
    workbook = Workbook(write_only=True)
    rows = iter(rows)
    header = [sheet_cell(cell) for cell in next(rows, [])]
    # A sheet's name is at most 31 characters (25 leave room for " (2)"), without []:*?/\
    title = _NOT_IN_SHEET_NAME.sub("", title).strip()[:25] or "Export"
    sheet, used, number = workbook.create_sheet(title), 1, 1
    sheet.append(header)
    for row in rows:
        if used == SHEET_ROWS:
            number += 1
            sheet = workbook.create_sheet(f"{title} ({number})")
            sheet.append(header)
            used = 1
        sheet.append([sheet_cell(cell) for cell in row])
        used += 1
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 (the response closes it)
    try:
        workbook.save(spooled)
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    response = FileResponse(spooled, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, _safe_name(filename, "export.xlsx"))
    return response


def table_download(rows: Iterable[Iterable], name: str, fmt: str, *, bom: bool = False) -> HttpResponseBase:
    """The rows (header first) as `name`.csv — streamed as they are read, each cell by
    `csv_cell`, with a UTF-8 byte-order mark when `bom` — or as `name`.xlsx
    (`xlsx_download`). `fmt` is one of `FORMATS`; the caller has checked it."""
    if fmt == "xlsx":
        return xlsx_download(rows, f"{name}.xlsx")
    if fmt != "csv":
        raise ValueError(f"Unknown export format {fmt!r}: one of {', '.join(FORMATS)}.")
    lines = csv_lines(([csv_cell(cell) for cell in row] for row in rows), bom=bom)
    return csv_download(lines, f"{name}.csv")


def export_format(value: str | None) -> str:
    """An export's `?format=`: "csv" when it is not given, "csv" or "xlsx"; anything else
    is malformed input (`ActionError`, 400, naming the parameter)."""
    if value is None:
        return "csv"
    if value not in FORMATS:
        raise ActionError(
            f"format is one of {', '.join(FORMATS)}.", field="format", code=ActionError.MALFORMED
        )
    return value


class ExportNegotiation(BaseContentNegotiation):
    """DRF's content negotiation for an API view that answers with a file: its `?format=`
    names the file (`export_format`), not one of DRF's renderers (DRF would answer 404 for
    a format it has no renderer for, before the view runs), and the file comes whatever
    the Accept header says. A refusal is rendered by the view's first renderer: JSON, in
    the API's one error format."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

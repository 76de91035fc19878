"""CSV downloads, streamed: rows become lines as they are read, nothing is held in memory.

Every CSV the product writes goes through `csv_lines`, which guards text a spreadsheet
would run as a formula (formula injection: a lead named `=HYPERLINK(…)`), and
`csv_download`, which names the file in a header nobody's file name can break.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV
# injection"); the guard is a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# …except a plain number ("-12.50"), which a spreadsheet reads as the number it is.
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


class _Echo:
    """A file-like object whose write() hands the line back (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def guarded(cell):
    """A text cell a spreadsheet would run, with a leading apostrophe; anything else as it
    is (numbers, and text that is a plain number such as money "-12.50")."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def unguarded(text: str) -> str:
    """A cell as it was before `guarded` (the failed rows a user fixes and imports again)."""
    if text[:1] == "'" and text[1:2] and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def csv_lines(rows: Iterable[Iterable], *, bom: bool = False) -> Iterator[str]:
    """Each row as one CSV line, every cell `guarded`; with `bom`, the first starts with a
    UTF-8 byte-order mark (so spreadsheet programs read the accents right)."""
    writer = csv.writer(_Echo())
    for number, row in enumerate(rows):
        line = writer.writerow([guarded(cell) for cell in row])
        yield "\ufeff" + line if bom and number == 0 else line


def csv_download(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment. The file name is kept to what it can say in a header:
    no control characters, quotes escaped, other scripts as RFC 6266 says."""
    safe = "".join(c for c in filename if c.isprintable()).strip() or "export.csv"
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, safe)
    return response

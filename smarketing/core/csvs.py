"""CSV downloads, streamed: rows become lines as they are read, nothing is held in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse


class _Echo:
    """A file-like object whose write() hands the line back (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable], *, bom: bool = False) -> Iterator[str]:
    """Each row as one CSV line; with `bom`, the first starts with a UTF-8 byte-order mark
    (so spreadsheet programs read the accents right)."""
    writer = csv.writer(_Echo())
    for number, row in enumerate(rows):
        line = writer.writerow(row)
        yield "\ufeff" + line if bom and number == 0 else line


def csv_download(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

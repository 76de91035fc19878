"""Reading a CSV lead import: the file-level core.

What lives here, and only this (no database):

* `sniff` looks at the start of an uploaded file and works out how to read it
  (encoding, delimiter, column names), refusing whole-file problems — empty, binary, an
  Excel workbook instead of a CSV, no header row — with an `ImportFileError` whose
  `.message` can be shown to the user as it is.
* `iter_rows` streams the data rows in constant memory, numbered as a spreadsheet shows
  them.

Both read a binary stream (where the file waits, in the database or a bucket, is
`files`' business) or, as tests do, a path.

The mapping of columns to lead fields and the parsers of one cell live in `values`;
what a row does against the database, in `plans`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from smarketing.core.csvs import unguarded

__all__ = [
    "FIELD_SIZE_LIMIT",
    "FileFormat",
    "ImportFileError",
    "iter_rows",
    "sniff",
]

# Largest single cell accepted. The `csv` module's limit is process-wide; `sniff` and
# `iter_rows` set it to this value. 1 MiB is far above any real cell and still stops an
# unclosed quote from swallowing the rest of a large file into one field.
FIELD_SIZE_LIMIT = 1024 * 1024

DELIMITERS = (",", ";", "\t")  # in order of preference when counts tie


class ImportFileError(Exception):
    """The file as a whole cannot be imported. `.message` is meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FileFormat:
    """How to read one file, as `sniff` found it.

    `encoding` is one of "utf-8-sig", "utf-8", "cp1252" or "latin-1" (see `sniff`).
    `headers` are the cells of row 1, stripped; blank cells stay "" so positions line up
    with the data, and a repeated name gets a suffix ("Notes", "Notes (2)") so every
    non-blank header is a distinct key. `row_count_estimate` is the number of non-blank
    data rows: exact when the whole file fitted in the sample, otherwise extrapolated
    from the sample's average row size (None when it cannot be guessed).
    """

    encoding: str
    delimiter: str
    headers: list[str]
    row_count_estimate: int | None = None


# ---------------------------------------------------------------------------------------
# Sniffing


_NOT_CSV = "This is not a CSV file (it looks like {what}). Save it as CSV (comma-separated) and upload that."
_MAGIC = (
    (b"PK\x03\x04", "an Excel workbook or another zipped file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel workbook"),  # legacy .xls (OLE2)
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
)
_WHITESPACE = b" \t\r\n\x0b\x0c"


def _binary_kind(sample: bytes) -> str | None:
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            return what
    if b"\x00" in sample:
        return "a binary file"
    return None


def _decode_sample(sample: bytes, at_eof: bool) -> tuple[str, str]:
    """(encoding, text) for the sample.

    A BOM means "utf-8-sig". Otherwise UTF-8 is tried with an incremental decoder, so a
    multi-byte character cut in half by the end of the sample is not taken for an
    encoding error (at end of file it is one). If that fails the file is taken for
    Windows-1252 ("cp1252"), which is what Excel on Windows writes as "CSV" and which,
    unlike Latin-1, gets €, curly quotes and dashes right. Five bytes are undefined in
    cp1252; a sample holding one of them is read as "latin-1", which decodes anything.
    """
    if sample.startswith(codecs.BOM_UTF8):
        try:
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=at_eof)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                "The file is marked as UTF-8 but is not valid UTF-8 text. "
                "Save it again as “CSV UTF-8” and upload that."
            ) from exc
        return "utf-8-sig", text
    try:
        return "utf-8", codecs.getincrementaldecoder("utf-8")().decode(sample, final=at_eof)
    except UnicodeDecodeError:
        pass
    try:
        return "cp1252", sample.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", sample.decode("latin-1")


def _first_record_end(text: str) -> tuple[int | None, dict[str, int]]:
    """Where the first logical line ends (index of its line break, None if it does not
    end within `text`) and how often each candidate delimiter occurs in it outside
    double quotes. A quoted header may hold a delimiter or a line break of its own."""
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    for index, char in enumerate(text):
        if char == '"':
            in_quotes = not in_quotes
        elif in_quotes:
            continue
        elif char in counts:
            counts[char] += 1
        elif char in "\r\n":
            return index, counts
    return None, counts


def _looks_like_email(cell: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", cell) is not None


def _unique_headers(cells: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    headers = []
    for cell in cells:
        name = cell.strip()
        if name:
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} ({seen[name]})"
        headers.append(name)
    return headers


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _estimate_rows(
    text: str, delimiter: str, encoding: str, at_eof: bool, file_size: int | None, bom: int
) -> int | None:
    if not at_eof and file_size is None:
        return None
    try:
        if at_eof:
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            return sum(1 for cells in records[1:] if not _is_blank(cells))
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut <= 0:
            return None
        complete = text[: cut + 1]
        records = list(csv.reader(io.StringIO(complete, newline=""), delimiter=delimiter))
    except csv.Error:
        return None
    data = records[1:]
    if not data:
        return None
    non_blank_share = sum(1 for cells in data if not _is_blank(cells)) / len(data)
    plain = "utf-8" if encoding == "utf-8-sig" else encoding  # "utf-8-sig" would add a BOM
    bytes_per_record = (len(complete.encode(plain, errors="replace")) + bom) / len(records)
    return max(0, round((file_size / bytes_per_record - 1) * non_blank_share))


def _read_full(fh: IO[bytes], size: int) -> bytes:
    """`size` bytes from `fh`, fewer only at its end (a stream may return less per read)."""
    data = fh.read(size)
    while data and len(data) < size:
        more = fh.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _size_of(fh: IO[bytes]) -> int | None:
    size = getattr(fh, "size", None)
    if isinstance(size, int):
        return size
    try:
        here = fh.tell()
        end = fh.seek(0, io.SEEK_END)
        fh.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end


def sniff(
    source: str | Path | IO[bytes], sample_bytes: int = 64 * 1024, *, size: int | None = None
) -> FileFormat:
    """Work out how to read a CSV file from its first `sample_bytes` bytes.

    `source` is a binary stream positioned at the file's start (it is read from, not
    closed) or a path. `size` is the file's size in bytes, for the row estimate; without
    it, a stream's `size` attribute or its end is used when it has one.

    Raises `ImportFileError` when the file is empty (or holds only whitespace and a
    BOM), is binary (NUL bytes, a zip/xlsx, legacy xls, PDF or gzip signature), is
    UTF-16, or has no usable column names in row 1 — no non-blank cell, or a cell that
    is an email address, which means row 1 is already data.

    The delimiter is whichever of "," ";" and tab occurs most often, outside quotes, in
    the header row; ties go to that order, and a single-column file gets ",".
    `csv.Sniffer` is not used: it guesses from quote patterns and misfires on short or
    ragged files. See `_decode_sample` for the encoding rules.
    """
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    if isinstance(source, str | Path):
        path = Path(source)
        file_size = path.stat().st_size
        with path.open("rb") as fh:
            return _sniff(fh, sample_bytes, file_size)
    return _sniff(source, sample_bytes, size if size is not None else _size_of(source))


def _sniff(fh: IO[bytes], sample_bytes: int, file_size: int | None) -> FileFormat:
    sample = _read_full(fh, sample_bytes)
    # One byte more tells a file of exactly `sample_bytes` from a longer one.
    pending = _read_full(fh, 1) if len(sample) == sample_bytes else b""
    at_eof = not pending
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            "This file is saved as UTF-16 (“Unicode Text”), not as CSV. "
            "Save it as “CSV UTF-8 (comma-delimited)” and upload that."
        )
    kind = _binary_kind(sample)
    if kind:
        raise ImportFileError(_NOT_CSV.format(what=kind))
    if not sample.removeprefix(codecs.BOM_UTF8).strip(_WHITESPACE):
        # Only whitespace so far: keep reading (in constant memory) to tell an empty
        # file from one whose first rows are blank.
        while not at_eof:
            chunk, pending = pending + fh.read(sample_bytes), b""
            if not chunk:
                break
            if chunk.strip(_WHITESPACE):
                raise ImportFileError("The first row must hold column names.")
        raise ImportFileError("The file is empty.")

    encoding, text = _decode_sample(sample, at_eof)
    end, counts = _first_record_end(text)
    if end is None and not at_eof:
        raise ImportFileError(
            f"The first row is longer than {sample_bytes // 1024} KiB; the first row must hold column names."
        )
    delimiter = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise ImportFileError(f"Row 1 could not be read as CSV ({exc}).") from exc
    headers = _unique_headers(first)
    if not any(headers) or any(_looks_like_email(name) for name in headers):
        raise ImportFileError("The first row must hold column names.")

    bom = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    estimate = _estimate_rows(text, delimiter, encoding, at_eof, file_size, bom)
    return FileFormat(encoding=encoding, delimiter=delimiter, headers=headers, row_count_estimate=estimate)


# ---------------------------------------------------------------------------------------
# Reading rows

# Lone surrogates come from bytes the encoding could not decode (errors="surrogateescape").
_SUSPECT = re.compile("[\x00\udc80-\udcff]")


def iter_rows(source: str | Path | IO[bytes], fmt: FileFormat) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield `(row_number, {header: value})` for every non-blank data row, streaming.

    `source` is a binary stream at the file's start, decoded here, and closed when the
    rows end or the iterator is closed; or a path.

    Row numbers are what a spreadsheet shows: the header is row 1, the first data row is
    row 2. They count CSV records, not physical lines, so a quoted cell with line breaks
    in it does not shift the numbers of the rows after it. Completely blank rows are
    skipped but keep their number. Values are stripped; cells beyond the headers (and
    under a blank header) are dropped; missing cells are "".

    Raises `ImportFileError`, naming the row, for a malformed record (e.g. a cell over
    `FIELD_SIZE_LIMIT`, which is also what an unclosed quote usually produces), a NUL
    byte, or bytes that are not valid in `fmt.encoding` (a file that mixes encodings
    past the sample `sniff` looked at). Row 1 is skipped: `fmt.headers` describes it.
    """
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    columns = [(index, name) for index, name in enumerate(fmt.headers) if name]
    row_number = 0  # the last record read; a csv.Error concerns the next one
    if isinstance(source, str | Path):
        text = open(source, newline="", encoding=fmt.encoding, errors="surrogateescape")  # noqa: SIM115
    else:  # as open() decodes a file: the same encoding, BOM and error handling
        text = io.TextIOWrapper(source, newline="", encoding=fmt.encoding, errors="surrogateescape")
    with text as fh:
        reader = csv.reader(fh, delimiter=fmt.delimiter)
        try:
            next(reader, None)
            row_number = 1
            for row_number, cells in enumerate(reader, start=2):
                joined = "".join(cells)
                if not joined.strip():  # a blank row (as `_is_blank`, on the joined cells)
                    continue
                if not joined.isascii() or "\x00" in joined:
                    _check_text(joined, row_number, fmt.encoding)
                width = len(cells)
                values = {name: cells[i].strip() if i < width else "" for i, name in columns}
                if "'" in joined:  # a cell our own CSV guarded (the failed rows, fixed)
                    values = {name: unguarded(value) for name, value in values.items()}
                yield row_number, values
        except csv.Error as exc:
            raise ImportFileError(_csv_error_message(exc, row_number + 1)) from exc


def _check_text(joined: str, row_number: int, encoding: str) -> None:
    match = _SUSPECT.search(joined)
    if match is None:
        return
    if match.group() == "\x00":
        raise ImportFileError(
            f"Row {row_number} contains a NUL byte: this does not look like a text CSV file. "
            "Save it as CSV (comma-separated) and upload that."
        )
    raise ImportFileError(
        f"Row {row_number} is not valid {encoding} text: the file mixes character encodings. "
        "Save it again as “CSV UTF-8” and upload that."
    )


def _csv_error_message(exc: csv.Error, row_number: int) -> str:
    if "field limit" in str(exc):
        return (
            f"Row {row_number} has a cell larger than {FIELD_SIZE_LIMIT // (1024 * 1024)} MiB; "
            'usually an opening quote (") that is never closed.'
        )
    return f"Row {row_number} could not be read as CSV ({exc})."

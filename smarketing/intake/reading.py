"""Reading a lead import, CSV or Excel (.xlsx): the file-level core.

What lives here, and only this (no database):

* `sniff` looks at the start of an uploaded file and works out how to read it
  (encoding, delimiter, column names; or that it is an .xlsx workbook), refusing
  whole-file problems — empty, binary, an old .xls or a password-protected workbook, no
  header row — with an `ImportFileError` whose `.message` can be shown to the user as it
  is.
* `iter_rows` streams the data rows in constant memory, numbered as a spreadsheet shows
  them.

Both read a binary stream (where the file waits, in the database or a bucket, is
`files`' business) or, as tests do, a path. A workbook is told by its content (a zip
holding `xl/workbook.xml`), not by its name, and comes out of the same two functions as
a CSV does: `FileFormat(encoding="xlsx", delimiter="")`, then rows of `{header: text}`,
so every caller (the everyday import, the migration import) reads both without knowing.

The mapping of columns to lead fields and the parsers of one cell live in `values`;
what a row does against the database, in `plans`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import openpyxl

from smarketing.core.csvs import unguarded

__all__ = [
    "FIELD_SIZE_LIMIT",
    "XLSX",
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

    `encoding` is one of "utf-8-sig", "utf-8", "cp1252" or "latin-1" (see `sniff`), or
    `XLSX` ("xlsx") for an Excel workbook, whose `delimiter` is "" (the job keeps both in
    its `encoding` and `delimiter` columns, so a workbook needs no column of its own).
    `headers` are the cells of row 1 (a workbook's first non-empty row), stripped; blank
    cells stay "" so positions line up with the data, and a repeated name gets a suffix
    ("Notes", "Notes (2)") so every non-blank header is a distinct key.
    `row_count_estimate` is the number of non-blank data rows: exact when the whole file
    fitted in the sample, otherwise extrapolated from the sample's average row size (None
    when it cannot be guessed; a workbook's: see `_estimate_sheet_rows`).
    """

    encoding: str
    delimiter: str
    headers: list[str]
    row_count_estimate: int | None = None


# ---------------------------------------------------------------------------------------
# Sniffing


_NOT_CSV = "This is not a CSV file (it looks like {what}). Save it as CSV (comma-separated) and upload that."
# A zip (an .xlsx is one) and an OLE2 compound file (a legacy .xls, or any workbook saved
# with a password: Office encrypts the whole .xlsx into one) are looked into by `sniff`.
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
)
_WHITESPACE = b" \t\r\n\x0b\x0c"


def _binary_kind(sample: bytes) -> str | None:
    """What a binary file that is neither a CSV nor a workbook looks like (None: text)."""
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
    """Work out how to read a CSV file from its first `sample_bytes` bytes, or that the
    file is an Excel workbook (then see `_sniff_workbook`: the whole file is read).

    `source` is a binary stream positioned at the file's start (it is read from, not
    closed) or a path. `size` is the file's size in bytes, for the row estimate; without
    it, a stream's `size` attribute or its end is used when it has one.

    Raises `ImportFileError` when the file is empty (or holds only whitespace and a
    BOM), is binary (NUL bytes, a PDF or gzip signature, a zip that is not an .xlsx, a
    legacy .xls, a password-protected workbook), is UTF-16, or has no usable column names
    in row 1 — no non-blank cell, or a cell that is an email address, which means row 1
    is already data.

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
    if sample.startswith(ZIP_MAGIC):
        with _whole_file(fh, sample + pending) as whole:
            return _sniff_workbook(whole)
    if sample.startswith(OLE2_MAGIC):
        raise ImportFileError(_compound_file_message(fh, sample + pending))
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
# Excel workbooks (.xlsx)

XLSX = "xlsx"  # `FileFormat.encoding` of a workbook

# A workbook's text cells point into one table of strings (`xl/sharedStrings.xml`) that
# openpyxl reads into memory when it opens the workbook; the rows themselves are never
# all held (read-only mode parses the sheet as its rows are asked for). So that memory
# has a bound, a workbook whose table is larger than this, uncompressed, is refused with
# the advice to save it as CSV, which streams whatever its size. 32 MiB of table is
# about 800,000 distinct values of 25 characters, about 140 MB of memory while it is
# read. The workbooks the product writes (`smarketing.core.sheets`) keep their text in
# the cells themselves and have no table at all.
SHARED_STRINGS_LIMIT = 32 * 1024 * 1024
_COPY_BYTES = 1024 * 1024  # a read at a time when a stream is copied or scanned
_ESTIMATE_SAMPLE = 256 * 1024  # bytes of the sheet's XML that the row estimate reads
_WORKBOOK_PART = "xl/workbook.xml"
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")  # its attributes; "/" at the end: an empty row
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # a stream of a password-protected file
_SAVE_AGAIN = "Open it in Excel, save it as Excel Workbook (.xlsx) or as CSV, and upload that."


def _seekable(fh: IO[bytes]) -> bool:
    try:
        return fh.seekable()
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def _whole_file(fh: IO[bytes], head: bytes) -> Iterator[IO[bytes]]:
    """All of `fh`, whose first bytes `head` are read already, as a seekable file (a zip
    keeps its table of contents at its end): `fh` itself, moved back to its start, when it
    can seek (a file on disk); otherwise a copy in a temporary file on this node's disk,
    written one buffer at a time and removed on exit (a stream from the database or a
    bucket)."""
    if _seekable(fh):
        fh.seek(fh.tell() - len(head))
        yield fh
        return
    with tempfile.TemporaryFile(prefix="smarketing-xlsx-") as copy:
        copy.write(head)
        shutil.copyfileobj(fh, copy, _COPY_BYTES)
        copy.seek(0)
        yield copy


def _compound_file_message(fh: IO[bytes], head: bytes) -> str:
    """What to tell about an OLE2 compound file: a workbook saved with a password (Office
    encrypts the whole .xlsx into a compound file with an `EncryptedPackage` stream; its
    name may sit anywhere in the file, which is scanned a buffer at a time), or an
    old-format .xls (or another Office 97–2003 file)."""
    tail = b""
    chunk = head
    while chunk:
        if _ENCRYPTED in tail + chunk:
            return (
                "This workbook is protected with a password, so it cannot be read. Open it in Excel, "
                "remove the password (File › Info › Protect Workbook › Encrypt with Password: clear it), "
                "save it as Excel Workbook (.xlsx) or as CSV, and upload that."
            )
        tail = (tail + chunk)[-len(_ENCRYPTED) :]
        chunk = fh.read(_COPY_BYTES)
    return f"This is an Excel 97–2003 workbook (.xls) or another old Office file, which cannot be imported. {_SAVE_AGAIN}"


def _damaged(why: object) -> ImportFileError:
    return ImportFileError(f"This Excel workbook is damaged: it could not be opened ({why}). {_SAVE_AGAIN}")


def _workbook_archive(file: IO[bytes]) -> zipfile.ZipFile:
    """The zip of an .xlsx, checked before openpyxl reads it: a zip that is no workbook
    (an .xlsb, an .ods, a .docx, any .zip) and a table of strings too large to hold are
    refused with what to do instead."""
    try:
        archive = zipfile.ZipFile(file)
        names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _damaged(exc) from exc
    try:
        if _WORKBOOK_PART not in names:
            if "xl/workbook.bin" in names:
                raise ImportFileError(
                    f"This is an Excel binary workbook (.xlsb), which cannot be imported. {_SAVE_AGAIN}"
                )
            if "mimetype" in names and b"spreadsheet" in archive.read("mimetype")[:200]:
                raise ImportFileError(
                    "This is an OpenDocument spreadsheet (.ods), which cannot be imported. "
                    "Save it as Excel Workbook (.xlsx) or as CSV, and upload that."
                )
            raise ImportFileError(
                "This is not a CSV file or an Excel workbook (it looks like a zipped file that holds no "
                "Excel workbook). Save it as CSV (comma-separated) or as Excel Workbook (.xlsx) and upload that."
            )
        strings = sum(
            info.file_size
            for info in archive.infolist()
            if info.filename.lower().endswith("sharedstrings.xml")
        )
        if strings > SHARED_STRINGS_LIMIT:
            raise ImportFileError(
                f"This workbook holds too much text to be read as .xlsx ({strings / 1024 / 1024:.0f} MB of "
                f"distinct cell values; the limit is {SHARED_STRINGS_LIMIT // 1024 // 1024} MB). "
                "Save it as CSV (comma-separated) and upload that: a CSV file of any size is read as it streams."
            )
    except BaseException:
        archive.close()
        raise
    return archive


@contextlib.contextmanager
def _first_sheet(file: IO[bytes]) -> Iterator[Any]:
    """The first worksheet of the workbook in `file`, opened by openpyxl read-only (the
    sheet is parsed as its rows are asked for) with the values formulas last computed
    (`data_only`: a formula is never run here)."""
    _workbook_archive(file).close()
    try:
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises whatever malformed XML or a missing part makes
        raise _damaged(exc) from exc
    try:
        if not workbook.worksheets:
            raise ImportFileError("This workbook has no worksheet: the import reads its first sheet.")
        yield workbook.worksheets[0]
    finally:
        workbook.close()


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, tuple]]:
    """`(row number, cell values)` of every row of a read-only worksheet, streaming and
    numbered as Excel shows them (openpyxl fills in the rows a file leaves out, as empty
    rows). The size a file declares for its sheet is not trusted: a writer that gets it
    wrong would make openpyxl stop there. Malformed XML, or a cell openpyxl cannot
    convert, raises `ImportFileError` naming the row."""
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            values = next(rows, None)
        except Exception as exc:  # openpyxl raises whatever a malformed sheet makes
            raise ImportFileError(
                f"Row {number + 1} of the workbook could not be read ({exc}). {_SAVE_AGAIN}"
            ) from exc
        if values is None:
            return
        number += 1
        yield number, values


def _header_row(rows: Iterator[tuple[int, tuple]]) -> tuple[int, tuple] | None:
    """The first row with a value: a workbook's header (titles or blank rows above a table
    are common), or None for an empty sheet."""
    return next(((n, values) for n, values in rows if any(cell_text(v) for v in values)), None)


def _round_to_second(moment: dt.datetime) -> dt.datetime:
    if moment.microsecond:  # Excel keeps a time as a fraction of a day: 14:02:59.9996
        moment = (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    return moment


def cell_text(value: Any) -> str:
    """A workbook cell as the text a CSV cell would hold, for `values` to parse as it
    parses a CSV's: a date alone as `2024-06-12` (a date cell is midnight with no time);
    a date and time as `2024-06-12 14:03:00` (to the second); a time as `14:03:00`; a
    whole number without a decimal part (`42`, not `42.0`; a phone number typed as a number
    keeps all its digits); other numbers with at most 15 significant digits, as Excel shows
    them (`0.3`, not `0.30000000000000004`); true/false; an empty cell as "". Text is
    stripped, and a leading apostrophe our own exports put before a formula-like value
    (`smarketing.core.csvs.guarded`) is taken off again."""
    if value is None:
        return ""
    if isinstance(value, str):
        return unguarded(value.strip())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        value = _round_to_second(value)
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _round_to_second(dt.datetime.combine(dt.date(2000, 1, 1), value)).time().isoformat()
    return str(value).strip()  # a duration ([h]:mm), rich text: as Python writes it


def _estimate_sheet_rows(archive: zipfile.ZipFile, part: str | None, header: int) -> int | None:
    """About how many rows follow the header (row `header`): the rows with cells after it
    in the first `_ESTIMATE_SAMPLE` bytes of the sheet's XML, scaled to its whole
    (uncompressed) size. Exact for a sheet that fits in the sample; the size a sheet
    declares is often missing or wrong, and counting every row would read the whole file
    at upload."""
    if part is None or part not in archive.namelist():
        return None
    size = archive.getinfo(part).file_size
    with archive.open(part) as xml:
        sample = xml.read(_ESTIMATE_SAMPLE)
    rows = 0
    for attributes in _ROW_TAG.findall(sample):
        number = _ROW_NUMBER.search(attributes)
        if not attributes.rstrip().endswith(b"/") and (number is None or int(number.group(1)) > header):
            rows += 1
    if len(sample) >= size:
        return rows
    return round(size * rows / len(sample)) if rows else None


def _sniff_workbook(file: IO[bytes]) -> FileFormat:
    """The `FileFormat` of an .xlsx: its first worksheet's first non-empty row is the
    header (titles or blank rows above a table are common in a workbook)."""
    with _first_sheet(file) as sheet:
        part = getattr(sheet, "_worksheet_path", None)
        header = _header_row(_sheet_rows(sheet))
    if header is None:
        raise ImportFileError("The first sheet of this workbook is empty: the import reads its first sheet.")
    number, first = header
    headers = _unique_headers([cell_text(value) for value in first])
    if any(_looks_like_email(name) for name in headers):
        raise ImportFileError(
            f"Row {number}, the first non-empty row of the sheet, must hold column names: it holds an email address."
        )
    archive = _workbook_archive(file)
    try:
        estimate = _estimate_sheet_rows(archive, part, number)
    finally:
        archive.close()
    return FileFormat(encoding=XLSX, delimiter="", headers=headers, row_count_estimate=estimate)


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

    A workbook (`fmt.encoding == XLSX`) is read the same way from its first worksheet:
    the header is its first non-empty row, and each cell becomes the text a CSV would
    hold (`cell_text`). See `_iter_workbook_rows`.
    """
    if fmt.encoding == XLSX:
        return _iter_workbook_rows(source, fmt)
    return _iter_csv_rows(source, fmt)


def _iter_csv_rows(source: str | Path | IO[bytes], fmt: FileFormat) -> Iterator[tuple[int, dict[str, str]]]:
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


def _iter_workbook_rows(
    source: str | Path | IO[bytes], fmt: FileFormat
) -> Iterator[tuple[int, dict[str, str]]]:
    """`iter_rows` for an .xlsx: its first sheet's rows after the header (the first
    non-empty row), as text (`cell_text`), numbered as Excel shows them. A stream that
    cannot seek (the database's, a bucket's) is first copied to a temporary file; the
    workbook is then read in openpyxl's read-only mode, so memory holds a row at a time
    (and the table of strings, see `SHARED_STRINGS_LIMIT`)."""
    columns = [(index, name) for index, name in enumerate(fmt.headers) if name]
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | Path):
            fh: IO[bytes] = stack.enter_context(Path(source).open("rb"))
        else:
            fh = stack.enter_context(source)  # closed when the rows end, as a CSV's is
        sheet = stack.enter_context(_first_sheet(stack.enter_context(_whole_file(fh, b""))))
        rows = _sheet_rows(sheet)
        if _header_row(rows) is None:
            return
        for number, values in rows:
            texts = [cell_text(value) for value in values]
            if not any(texts):
                continue  # a blank row keeps its number
            width = len(texts)
            yield number, {name: texts[i] if i < width else "" for i, name in columns}

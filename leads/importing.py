"""Reading a CSV lead import: the pure, file-level core.

What lives here, and only this (no database access, no Django models):

* `sniff` looks at the start of an uploaded file and works out how to read it
  (encoding, delimiter, column names), refusing whole-file problems — empty, binary, an
  Excel workbook instead of a CSV, no header row — with an `ImportFileError` whose
  `.message` can be shown to the user as it is.
* `iter_rows` streams the data rows in constant memory, numbered as a spreadsheet shows
  them.
* `FIELDS` and `guess_mapping` propose which column fills which lead field, knowing the
  headers of HubSpot contact exports and Salesforce lead exports.
* The `parse_*` normalisers and `split_full_name` turn one cell into the value a lead
  field holds, or raise `ValueError` with a message fit for a per-row error report.

The import service (elsewhere) builds on this: it applies the user's confirmed mapping,
runs the normalisers, and validates against the database — duplicate emails, campaigns
that must exist, permissions — before it creates any lead. Keeping this module free of
the database keeps it fast to test and reusable by a management command or a preview.

The source and stage codes below mirror `leads.models.Source` and `leads.models.Stage`;
they are spelled out here so that this module needs no Django app registry.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

__all__ = [
    "FIELDS",
    "FIELD_SIZE_LIMIT",
    "FileFormat",
    "ISO_COUNTRY_CODES",
    "ImportFileError",
    "SOURCE_LABELS",
    "guess_mapping",
    "iter_rows",
    "parse_company_size",
    "parse_country",
    "parse_datetime",
    "parse_source",
    "parse_stage",
    "sniff",
    "split_full_name",
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
    text: str, delimiter: str, encoding: str, at_eof: bool, file_size: int, bom: int
) -> int | None:
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


def sniff(path: str | Path, sample_bytes: int = 64 * 1024) -> FileFormat:
    """Work out how to read the CSV file at `path` from its first `sample_bytes` bytes.

    Raises `ImportFileError` when the file is empty (or holds only whitespace and a
    BOM), is binary (NUL bytes, a zip/xlsx, legacy xls, PDF or gzip signature), is
    UTF-16, or has no usable column names in row 1 — no non-blank cell, or a cell that
    is an email address, which means row 1 is already data.

    The delimiter is whichever of "," ";" and tab occurs most often, outside quotes, in
    the header row; ties go to that order, and a single-column file gets ",".
    `csv.Sniffer` is not used: it guesses from quote patterns and misfires on short or
    ragged files. See `_decode_sample` for the encoding rules.
    """
    path = Path(path)
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    file_size = path.stat().st_size
    with path.open("rb") as fh:
        sample = fh.read(sample_bytes)
        at_eof = len(sample) < sample_bytes or fh.peek(1) == b""
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
                chunk = fh.read(sample_bytes)
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


def iter_rows(path: str | Path, fmt: FileFormat) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield `(row_number, {header: value})` for every non-blank data row, streaming.

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
    with open(path, newline="", encoding=fmt.encoding, errors="surrogateescape") as fh:
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
                yield row_number, {name: cells[i].strip() if i < width else "" for i, name in columns}
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


# ---------------------------------------------------------------------------------------
# Column mapping

# Lead fields an import can fill, with the labels the mapping screen shows. "full_name"
# is a pseudo-field: the caller splits it with `split_full_name` into first/last name.
FIELDS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last name)",
    "phone": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "company_size": "Company size (employees)",
    "country": "Country",
    "website": "Website",
    "source": "Source",
    "campaign": "Campaign",
    "stage": "Stage",
    "created_at": "Created at (original create date)",
    "external_id": "External ID",
}


def _key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used to compare labels."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in folded if char.isalnum())


_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "work email", "business email"),
    "first_name": ("first name", "firstname", "given name", "forename"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "full_name": ("name", "full name", "contact name", "lead name"),
    "phone": (
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "mobile phone number",
        "mobilephone",
        "telephone",
        "telephone number",
        "tel",
    ),
    "company": (
        "company",
        "company name",
        "organisation",
        "organization",
        "organisation name",
        "organization name",
        "account name",
        "account",
    ),
    "job_title": ("job title", "title", "position", "role", "job role"),
    "company_size": (
        "company size",
        "employees",
        "number of employees",
        "no. of employees",
        "numberofemployees",
        "employee count",
        "headcount",
    ),
    "country": ("country", "country/region", "country code"),
    "website": ("website", "website url", "url", "web site", "company website", "homepage"),
    "source": ("source", "lead source", "leadsource", "original source"),
    "campaign": ("campaign", "campaign name", "utm campaign"),
    "stage": ("stage", "lifecycle stage", "status", "lead status", "funnel stage"),
    "created_at": (
        "created",
        "create date",
        "created date",
        "createddate",
        "created at",
        "created on",
        "date created",
        "creation date",
    ),
    "external_id": ("id", "record id", "lead id", "contact id", "external id"),
}
_HEADER_LOOKUP: dict[str, str] = {
    _key(alias): field for field, aliases in _HEADER_ALIASES.items() for alias in aliases
}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Propose `{header: field}` for the headers recognised; the rest map to nothing.

    Matching ignores case, accents, spaces, underscores, dashes and punctuation, so
    "E-mail", "email_address" and "Email Address" are one alias. Each field is given
    to at most one header: the first (leftmost) that matches it.
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        field = _HEADER_LOOKUP.get(_key(header))
        if field and field not in taken and header not in mapping:
            mapping[header] = field
            taken.add(field)
    return mapping


# ---------------------------------------------------------------------------------------
# Value normalisers: each returns the cleaned value or raises ValueError for the row.

SOURCE_LABELS: dict[str, str] = {
    "website": "Website",
    "organic_search": "Organic search",
    "paid_search": "Paid search",
    "paid_social": "Paid social",
    "social": "Social media",
    "email": "Email marketing",
    "event": "Event",
    "webinar": "Webinar",
    "referral": "Employee referral",
    "partner": "Partner",
    "list_import": "List import",
    "other": "Other",
}

# Besides the codes and labels above. HubSpot "Original Source" values and Salesforce
# LeadSource picklist values, with the judgement calls:
# * HubSpot "Referrals" (visits from links on other sites) -> partner: a third party sent
#   them; "referral" here means an employee referral, tied to a colleague.
# * HubSpot "Direct Traffic" -> website; "Offline Sources" (imports, CRM entries) ->
#   list_import; "Other Campaigns" -> other.
# * Salesforce "Advertisement" -> paid_search: it does not say which channel, and paid
#   search is where most B2B ad-driven form fills come from. Fix per lead if not.
# * Salesforce "Phone Inquiry" -> other (no inbound-call source); "External Referral"
#   -> partner; "Seminar - Internal/Partner" -> webinar; "Trade Show" -> event.
_SOURCE_ALIASES: dict[str, tuple[str, ...]] = {
    "website": ("web", "direct traffic", "direct", "inbound website"),
    "organic_search": ("organic", "seo"),
    "paid_search": ("ppc", "sem", "cpc", "google ads", "adwords", "advertisement"),
    "paid_social": (),
    "social": ("social media", "organic social"),
    "email": ("email marketing", "e-mail", "newsletter"),
    "event": ("events", "trade show", "tradeshow", "conference"),
    "webinar": ("seminar", "seminar - internal", "seminar - partner"),
    "referral": ("employee referral",),
    "partner": ("referrals", "partner referral", "external referral"),
    "list_import": ("offline sources", "offline", "purchased list", "import"),
    "other": ("other campaigns", "phone inquiry", "public relations", "word of mouth"),
}
_SOURCE_LOOKUP: dict[str, str] = {
    _key(alias): code
    for code, aliases in _SOURCE_ALIASES.items()
    for alias in (code, SOURCE_LABELS[code], *aliases)
}


def parse_source(value: str) -> str:
    """Map a source cell to a source code (see `SOURCE_LABELS`). Empty -> "list_import":
    a row without a source came from the list being imported."""
    value = (value or "").strip()
    if not value:
        return "list_import"
    code = _SOURCE_LOOKUP.get(_key(value))
    if code is None:
        raise ValueError(f"Unknown source “{value}”: use one of {', '.join(SOURCE_LABELS.values())}.")
    return code


_OPEN, _IN_SALES, _CLOSED_LOST = "open", "in_sales", "closed_lost"
# key -> (verdict, what the vocabulary calls it). Open stages import as "lead"; anything
# marketing already handed to sales (or sales closed) is refused, because an import only
# creates new leads and hand-offs must go through Smarketing's own transitions. The
# Salesforce statuses "Open - Not Contacted" and "Working - Contacted" are both still
# unconverted leads, so both import as "lead".
_STAGE = "Lifecycle stage"
_STATUS = "Lead status"
_STAGE_LOOKUP: dict[str, tuple[str, str]] = {
    _key(name): (verdict, kind)
    for names, verdict, kind in (
        (("lead", "subscriber", "other"), _OPEN, _STAGE),
        (
            (
                "mql",
                "sql",
                "customer",
                "marketingqualifiedlead",
                "Marketing Qualified Lead",
                "salesqualifiedlead",
                "Sales Qualified Lead",
                "opportunity",
                "evangelist",
            ),
            _IN_SALES,
            _STAGE,
        ),
        (("disqualified",), _CLOSED_LOST, _STAGE),
        (
            (
                "Open - Not Contacted",
                "Working - Contacted",
                "new",
                "open",
                "in progress",
                "attempted to contact",
                "connected",
                "bad timing",
            ),
            _OPEN,
            _STATUS,
        ),
        (("Closed - Converted", "converted", "open deal"), _IN_SALES, _STATUS),
        (("Closed - Not Converted", "unqualified"), _CLOSED_LOST, _STATUS),
    )
    for name in names
}


def parse_stage(value: str) -> str:
    """Check a stage / lifecycle stage / lead status cell; return "lead" or raise.

    Imports create leads in stage "lead" only. Accepted: our "lead", HubSpot lifecycle
    stages "subscriber", "lead" and "other", HubSpot lead statuses that are still open
    (New, Open, In Progress, Attempted to Contact, Connected, Bad Timing), and Salesforce's
    open statuses ("Open - Not Contacted", "Working - Contacted"). Refused with a reason:
    anything already in sales' hands or won (mql, sql, customer, MQL/SQL lifecycle
    stages, opportunity, evangelist, "Closed - Converted", "Open Deal") and anything
    disqualified ("disqualified", "Closed - Not Converted", "Unqualified"). Empty ->
    "lead".
    """
    value = (value or "").strip()
    if not value:
        return "lead"
    found = _STAGE_LOOKUP.get(_key(value))
    if found is None:
        raise ValueError(f"Unknown stage “{value}”.")
    verdict, kind = found
    if verdict == _IN_SALES:
        raise ValueError(
            f"{kind} “{value}” cannot be imported: imports create leads; hand them off in Smarketing."
        )
    if verdict == _CLOSED_LOST:
        raise ValueError(f"{kind} “{value}” marks a disqualified lead: imports only bring in open leads.")
    return "lead"


_THOUSANDS = re.compile(r"\d{1,3}(?:([,.])\d{3})(?:\1\d{3})*")
_COMPANY_SIZE_MAX = 10_000_000  # above the largest employer on earth; guards the column


def _whole_number(text: str) -> int | None:
    text = re.sub(r"[\s\u00a0\u202f']", "", text)  # "1 200", "1'200"
    if text.isdigit() and text.isascii():
        return int(text)
    if _THOUSANDS.fullmatch(text):
        return int(re.sub(r"[,.]", "", text))
    if re.fullmatch(r"\d+\.0{1,2}", text):  # "250.0" from a spreadsheet's number format
        return int(text.split(".")[0])
    return None


def parse_company_size(value: str) -> int | None:
    """Number of employees, or None for an empty cell.

    "," or "." followed by exactly three digits is a thousands separator ("1,200" and
    "1.200" are 1200); "250.0" is 250. A band such as "51-200" (HubSpot's size buckets)
    gives its lower bound, 51: the number is then never overstated and falls in the
    band the source system chose. "10,000+" gives 10000. Negative, fractional or
    non-numeric values raise ValueError.
    """
    value = (value or "").strip()
    if not value:
        return None
    text = value.removesuffix("+").strip()
    band = re.fullmatch(r"(.+?)\s*(?:-|–|—|to)\s*(.+)", text)
    if band and not text.startswith("-"):
        low, high = _whole_number(band.group(1)), _whole_number(band.group(2))
        if low is None or high is None or low > high:
            raise ValueError(f"Company size “{value}” is not a number of employees.")
        number: int | None = low
    else:
        number = _whole_number(text)
    if number is None:
        if re.fullmatch(r"-\s*\d[\d,.\s]*", text):
            raise ValueError(f"Company size “{value}” cannot be negative.")
        raise ValueError(f"Company size “{value}” is not a number of employees.")
    if number > _COMPANY_SIZE_MAX:
        raise ValueError(f"Company size “{value}” is implausibly large.")
    return number


# Every officially assigned ISO 3166-1 alpha-2 code.
_ISO_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRY_CODES = frozenset(_ISO_CODES.split())

# Names (English, plus a few native spellings and alpha-3 codes) for frequent countries.
# Keys are compared through `_key`, so "U.S.A." and "usa" are the same.
_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("United States", "United States of America", "USA", "U.S.A.", "America"),
    "GB": ("United Kingdom", "UK", "Great Britain", "Britain", "England", "Scotland", "Wales", "GBR"),
    "DE": ("Germany", "Deutschland", "DEU"),
    "FR": ("France", "FRA"),
    "ES": ("Spain", "España", "ESP"),
    "IT": ("Italy", "Italia", "ITA"),
    "NL": ("Netherlands", "The Netherlands", "Holland", "Nederland", "NLD"),
    "BE": ("Belgium", "België", "Belgique", "BEL"),
    "LU": ("Luxembourg",),
    "AT": ("Austria", "Österreich", "AUT"),
    "CH": ("Switzerland", "Schweiz", "Suisse", "Svizzera", "CHE"),
    "SE": ("Sweden", "Sverige", "SWE"),
    "NO": ("Norway", "Norge", "NOR"),
    "DK": ("Denmark", "Danmark", "DNK"),
    "FI": ("Finland", "Suomi", "FIN"),
    "IS": ("Iceland",),
    "PL": ("Poland", "Polska", "POL"),
    "CZ": ("Czech Republic", "Czechia", "CZE"),
    "SK": ("Slovakia",),
    "HU": ("Hungary",),
    "RO": ("Romania",),
    "BG": ("Bulgaria",),
    "GR": ("Greece",),
    "HR": ("Croatia",),
    "SI": ("Slovenia",),
    "EE": ("Estonia",),
    "LV": ("Latvia",),
    "LT": ("Lithuania",),
    "IE": ("Ireland", "Republic of Ireland", "IRL"),
    "PT": ("Portugal", "PRT"),
    "TR": ("Turkey", "Türkiye"),
    "UA": ("Ukraine",),
    "RU": ("Russia", "Russian Federation"),
    "CA": ("Canada", "CAN"),
    "MX": ("Mexico", "México", "MEX"),
    "BR": ("Brazil", "Brasil", "BRA"),
    "AR": ("Argentina",),
    "CL": ("Chile",),
    "CO": ("Colombia",),
    "PE": ("Peru",),
    "AU": ("Australia", "AUS"),
    "NZ": ("New Zealand", "NZL"),
    "IN": ("India", "IND"),
    "JP": ("Japan", "JPN"),
    "CN": ("China", "People's Republic of China", "PRC", "CHN"),
    "HK": ("Hong Kong",),
    "TW": ("Taiwan",),
    "KR": ("South Korea", "Korea, Republic of", "Republic of Korea", "Korea"),
    "SG": ("Singapore", "SGP"),
    "MY": ("Malaysia",),
    "ID": ("Indonesia",),
    "TH": ("Thailand",),
    "VN": ("Vietnam", "Viet Nam"),
    "PH": ("Philippines",),
    "PK": ("Pakistan",),
    "ZA": ("South Africa", "ZAF"),
    "NG": ("Nigeria",),
    "KE": ("Kenya",),
    "EG": ("Egypt",),
    "MA": ("Morocco",),
    "IL": ("Israel", "ISR"),
    "AE": ("United Arab Emirates", "UAE", "U.A.E.", "ARE"),
    "SA": ("Saudi Arabia",),
    "QA": ("Qatar",),
}
_COUNTRY_LOOKUP: dict[str, str] = {
    _key(name): code for code, names in _COUNTRY_NAMES.items() for name in names
}


def parse_country(value: str) -> str:
    """ISO 3166-1 alpha-2 code, upper-cased; "" for an empty cell.

    Accepts any assigned alpha-2 code in any case, and the names (and some alpha-3
    codes) of about 60 frequent countries; "UK" is GB. Anything else raises ValueError.
    """
    value = (value or "").strip()
    if not value:
        return ""
    code = _COUNTRY_LOOKUP.get(_key(value))
    if code:
        return code
    if len(value) == 2 and value.upper() in ISO_COUNTRY_CODES:
        return value.upper()
    raise ValueError(f"Unknown country “{value}”: use a two-letter ISO code such as DE or US.")


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_AMBIGUOUS_DATE = re.compile(r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?:[ T].*)?")


def parse_datetime(value: str, tz: ZoneInfo, *, now: datetime | None = None) -> datetime | None:
    """An aware datetime for a date/time cell; None for an empty cell.

    Accepted: ISO 8601 dates and date-times, with "T" or a space, with or without
    seconds and fractions, with "Z" or an offset ("+02:00", "+0000"). That covers
    HubSpot's "2024-06-12 14:03" and Salesforce's "2024-06-12T14:03:00.000+0000". A
    value without an offset is wall-clock time in `tz` (a date alone is midnight there);
    one with an offset keeps it. Slashed dates such as "12/06/2024" are refused rather
    than guessed: day/month order differs between locales and the two readings are both
    valid. Dates in the future (after `now`, default the current time) or before 1970
    are refused as mistakes. `now`, if given, must be aware.
    """
    value = (value or "").strip()
    if not value:
        return None
    if _AMBIGUOUS_DATE.fullmatch(value):
        raise ValueError(
            f"Date “{value}” is ambiguous (day and month order): use the form 2024-06-12 or 2024-06-12 14:03."
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"“{value}” is not a date: use the form 2024-06-12 or 2024-06-12 14:03.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    now = now or datetime.now(tz)
    if parsed > now:
        raise ValueError(f"Date “{value}” is in the future.")
    if parsed < _EARLIEST:
        raise ValueError(f"Date “{value}” is before 1970: probably a placeholder, not a create date.")
    return parsed


def split_full_name(value: str) -> tuple[str, str]:
    """(first, last) from a "name" cell.

    "Last, First" (one comma) is turned around; otherwise the first word is the first
    name and the rest the last name ("Ann van der Berg" -> ("Ann", "van der Berg")). A
    single word is a first name. Runs of whitespace collapse to one space.
    """
    value = " ".join((value or "").split())
    if not value:
        return "", ""
    if value.count(",") == 1:
        last, first = (part.strip() for part in value.split(","))
        if first and last:
            return first, last
        value = (first or last).strip()
    first, _, last = value.partition(" ")
    return first, last

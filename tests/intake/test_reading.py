"""The file-reading core of the CSV lead import: no database, files written to tmp_path."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smarketing.intake.reading import FIELD_SIZE_LIMIT, ImportFileError, iter_rows, sniff
from smarketing.intake.values import (
    FIELDS,
    guess_mapping,
    parse_company_size,
    parse_country,
    parse_datetime,
    parse_source,
    parse_stage,
    split_full_name,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def write(tmp_path):
    """Write bytes (or UTF-8 text) to a fresh file and return its path."""
    counter = iter(range(1000))

    def _write(content: bytes | str, name: str | None = None):
        path = tmp_path / (name or f"upload{next(counter)}.csv")
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return _write


def read_all(path):
    return list(iter_rows(path, sniff(path)))


# --- encodings -------------------------------------------------------------------------


def test_utf8(write):
    path = write("email,last_name\nann@example.com,Müller\n")
    fmt = sniff(path)
    assert (fmt.encoding, fmt.delimiter, fmt.headers) == ("utf-8", ",", ["email", "last_name"])
    assert list(iter_rows(path, fmt)) == [(2, {"email": "ann@example.com", "last_name": "Müller"})]


def test_utf8_with_bom_is_not_part_of_the_first_header(write):
    path = write(b"\xef\xbb\xbfEmail;Name\r\nann@example.com;Zo\xc3\xab\r\n")
    fmt = sniff(path)
    assert fmt.encoding == "utf-8-sig"
    assert fmt.headers == ["Email", "Name"]
    assert read_all(path) == [(2, {"Email": "ann@example.com", "Name": "Zoë"})]


def test_latin1_bytes_are_read_as_cp1252(write):
    path = write("email,last_name,note\nann@example.com,Müller,5 €\n".encode("cp1252"))
    fmt = sniff(path)
    assert fmt.encoding == "cp1252"
    assert read_all(path) == [(2, {"email": "ann@example.com", "last_name": "Müller", "note": "5 €"})]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(write):
    path = write(b"email,last_name\nann@example.com,M\xfcller\x81\n")
    fmt = sniff(path)
    assert fmt.encoding == "latin-1"
    assert read_all(path)[0][1]["last_name"] == "Müller\x81"


def test_multibyte_character_cut_by_the_sample_end_is_still_utf8(write):
    # "ü" is two bytes; the sample ends between them.
    head = b"email,last_name\nann@example.com,M"
    path = write(head + "üller\n".encode())
    assert sniff(path, sample_bytes=len(head) + 1).encoding == "utf-8"


def test_encoding_mix_past_the_sample_names_the_row(write):
    rows = "".join(f"u{i}@example.com,Plain\n" for i in range(2, 50))
    path = write(("email,name\n" + rows).encode() + b"late@example.com,M\xfcller\n")
    fmt = sniff(path, sample_bytes=200)
    assert fmt.encoding == "utf-8"
    with pytest.raises(ImportFileError, match=r"^Row 50 is not valid utf-8 text"):
        list(iter_rows(path, fmt))


# --- delimiters ------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(write, delimiter):
    path = write(delimiter.join(["Email", "First Name", "Company"]) + "\n" + delimiter.join("abc") + "\n")
    fmt = sniff(path)
    assert fmt.delimiter == delimiter
    assert read_all(path) == [(2, {"Email": "a", "First Name": "b", "Company": "c"})]


def test_delimiter_is_counted_outside_quotes_in_the_header(write):
    path = write('"Name, full";"Notes, misc";Email\nAnn;x;ann@example.com\n')
    fmt = sniff(path)
    assert fmt.delimiter == ";"
    assert fmt.headers == ["Name, full", "Notes, misc", "Email"]


def test_single_column_file(write):
    fmt = sniff(write("email\nann@example.com\n"))
    assert (fmt.delimiter, fmt.headers, fmt.row_count_estimate) == (",", ["email"], 1)


# --- rows ------------------------------------------------------------------------------


def test_quoted_newlines_do_not_shift_row_numbers(write):
    path = write('email,notes\na@x.io,"line one\nline two\nline three"\nb@x.io,short\n')
    assert read_all(path) == [
        (2, {"email": "a@x.io", "notes": "line one\nline two\nline three"}),
        (3, {"email": "b@x.io", "notes": "short"}),
    ]


def test_blank_rows_are_skipped_but_keep_their_number(write):
    path = write("email,name\na@x.io,A\n\n , \n;;\nb@x.io,B\n")
    # "\n" is an empty record, " , " is all-blank cells; ";;" is a one-cell row that is not blank.
    assert read_all(path) == [
        (2, {"email": "a@x.io", "name": "A"}),
        (5, {"email": ";;", "name": ""}),
        (6, {"email": "b@x.io", "name": "B"}),
    ]


def test_values_stripped_extra_cells_ignored_missing_cells_empty(write):
    path = write("email,name,\n  a@x.io  , Ann ,ignored,too\nb@x.io\n")
    fmt = sniff(path)
    assert fmt.headers == ["email", "name", ""]
    assert list(iter_rows(path, fmt)) == [
        (2, {"email": "a@x.io", "name": "Ann"}),
        (3, {"email": "b@x.io", "name": ""}),
    ]


def test_repeated_headers_get_distinct_names(write):
    path = write("email,notes,notes\na@x.io,one,two\n")
    fmt = sniff(path)
    assert fmt.headers == ["email", "notes", "notes (2)"]
    assert read_all(path) == [(2, {"email": "a@x.io", "notes": "one", "notes (2)": "two"})]


def test_unclosed_quote_becomes_a_file_error_with_the_row(write):
    path = write('email,notes\na@x.io,ok\nb@x.io,"never closed\n' + "filler,row\n" * 120_000)
    with pytest.raises(ImportFileError, match=r"^Row 3 has a cell larger than 1 MiB") as caught:
        read_all(path)
    assert "quote" in caught.value.message


def test_first_data_row_error_names_row_2(write):
    path = write('email,notes\nb@x.io,"never closed\n' + "filler,row\n" * 120_000)
    with pytest.raises(ImportFileError, match=r"^Row 2 has a cell larger"):
        read_all(path)


def test_nul_byte_past_the_sample_is_a_file_error(write):
    path = write(b"email,name\n" + b"a@x.io,A\n" * 20 + b"b@x.io,B\x00\n")
    with pytest.raises(ImportFileError, match="Row 22 contains a NUL byte"):
        list(iter_rows(path, sniff(path, sample_bytes=64)))


def test_row_count_estimate(write):
    small = write("email\n" + "".join(f"u{i}@x.io\n" for i in range(10)) + "\n")
    assert sniff(small).row_count_estimate == 10
    big = write("email,name\n" + "".join(f"user{i:05d}@example.com,Name\n" for i in range(20_000)))
    estimate = sniff(big).row_count_estimate
    assert estimate is not None and abs(estimate - 20_000) < 200


def test_iteration_is_constant_memory(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Email,First Name,Last Name,Company Name,Country/Region\n")
        fh.writelines(
            f"person{i:06d}@example.com,Firstname{i},Lastname{i},Company number {i % 977},Germany\n"
            for i in range(100_000)
        )
    assert path.stat().st_size > 7 * 1024 * 1024  # reading it whole would blow the budget
    fmt = sniff(path)

    tracemalloc.start()
    try:
        count, last = 0, None
        for row in iter_rows(path, fmt):
            count += 1
            last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 100_000
    assert last is not None and last[0] == 100_001 and last[1]["Email"] == "person099999@example.com"
    assert peak < 5 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MB"


# --- whole-file refusals ---------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"   \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n\n"])
def test_empty_file(write, content):
    with pytest.raises(ImportFileError) as caught:
        sniff(write(content))
    assert caught.value.message == "The file is empty."


def test_whitespace_longer_than_the_sample_is_still_empty(write):
    with pytest.raises(ImportFileError, match="The file is empty."):
        sniff(write(b"\n" * 300), sample_bytes=64)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"%PDF-1.7\n%binary", "PDF document"),
        (b"email,name\na@x.io,\x00\x00\x01\x02\n", "binary file"),
    ],
)
def test_binary_files_are_refused(write, content, what):
    with pytest.raises(ImportFileError) as caught:
        sniff(write(content))
    assert caught.value.message.startswith("This is not a CSV file (it looks like")
    assert what in caught.value.message
    assert caught.value.message.endswith("Save it as CSV (comma-separated) and upload that.")


def test_utf16_is_refused_with_advice(write):
    with pytest.raises(ImportFileError, match="UTF-16"):
        sniff(write("email,name\r\n".encode("utf-16")))


@pytest.mark.parametrize(
    "content",
    [
        ",,,\na@x.io,b,c,d\n",  # blank header cells
        " ; ;\n",
        "\nemail,name\na@x.io,A\n",  # row 1 empty, header in row 2
        "ann@example.com,Ann,Acme\nbob@example.com,Bob,Initech\n",  # data in row 1
    ],
)
def test_no_header_row(write, content):
    with pytest.raises(ImportFileError) as caught:
        sniff(write(content))
    assert caught.value.message == "The first row must hold column names."


# --- column mapping --------------------------------------------------------------------

HUBSPOT = {
    "Record ID": "external_id",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "email",
    "Phone Number": "phone",
    "Company Name": "company",
    "Job Title": "job_title",
    "Number of Employees": "company_size",
    "Country/Region": "country",
    "Website URL": "website",
    "Original Source": "source",
    "Lifecycle Stage": "stage",
    "Create Date": "created_at",
}
SALESFORCE = {
    "Id": "external_id",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Company": "company",
    "Title": "job_title",
    "NumberOfEmployees": "company_size",
    "Country": "country",
    "Website": "website",
    "LeadSource": "source",
    "Status": "stage",
    "CreatedDate": "created_at",
}


@pytest.mark.parametrize("export", [HUBSPOT, SALESFORCE], ids=["hubspot", "salesforce"])
def test_export_headers_map_fully(export):
    headers = [*export, "Marketing contact status", "Owner"]
    assert guess_mapping(headers) == export
    assert set(export.values()) <= set(FIELDS)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-mail", "email"),
        ("email_address", "email"),
        ("FIRSTNAME", "first_name"),
        ("given name", "first_name"),
        ("Surname", "last_name"),
        ("family-name", "last_name"),
        ("Name", "full_name"),
        ("Full Name", "full_name"),
        ("Mobile", "phone"),
        ("Telephone", "phone"),
        ("Organisation", "company"),
        ("organization", "company"),
        ("Account Name", "company"),
        ("Position", "job_title"),
        ("Role", "job_title"),
        ("Company size", "company_size"),
        ("Employees", "company_size"),
        ("No. of employees", "company_size"),
        ("URL", "website"),
        ("Source", "source"),
        ("Lead Source", "source"),
        ("Campaign", "campaign"),
        ("Campaign Name", "campaign"),
        ("Stage", "stage"),
        ("Lead Status", "stage"),
        ("Created", "created_at"),
        ("created_date", "created_at"),
        ("Lead ID", "external_id"),
    ],
)
def test_generic_aliases(header, field):
    assert guess_mapping([header]) == {header: field}


def test_each_field_once_first_match_wins_and_unknown_ignored():
    assert guess_mapping(["Email", "Favourite colour", "E-mail address", "Mobile", "Phone"]) == {
        "Email": "email",
        "Mobile": "phone",
    }


# --- normalisers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "list_import"),
        ("ORGANIC_SEARCH", "organic_search"),
        ("Organic Search", "organic_search"),
        ("Paid Search", "paid_search"),
        ("PAID_SOCIAL", "paid_social"),
        ("Social Media", "social"),
        ("Email Marketing", "email"),
        ("Direct Traffic", "website"),
        ("Referrals", "partner"),
        ("Offline Sources", "list_import"),
        ("Other Campaigns", "other"),
        ("Web", "website"),
        ("Phone Inquiry", "other"),
        ("Partner Referral", "partner"),
        ("Purchased List", "list_import"),
        ("Trade Show", "event"),
        ("Seminar", "webinar"),
        ("Webinar", "webinar"),
        ("Employee Referral", "referral"),
        ("Advertisement", "paid_search"),
        ("paid_search", "paid_search"),
        ("Paid search", "paid_search"),
        ("list_import", "list_import"),
        ("  other ", "other"),
    ],
)
def test_parse_source(value, code):
    assert parse_source(value) == code


def test_parse_source_unknown():
    with pytest.raises(
        ValueError, match=r"^Unknown source “Carrier pigeon”: use one of Website, .*, Other\.$"
    ):
        parse_source("Carrier pigeon")


@pytest.mark.parametrize(
    "value",
    ["", "lead", "Lead", "subscriber", "other", "Open - Not Contacted", "Working - Contacted", "New"],
)
def test_parse_stage_open(value):
    assert parse_stage(value) == "lead"


@pytest.mark.parametrize(
    "value",
    [
        "mql",
        "sql",
        "customer",
        "marketingqualifiedlead",
        "Marketing Qualified Lead",
        "salesqualifiedlead",
        "opportunity",
        "evangelist",
        "Closed - Converted",
    ],
)
def test_parse_stage_in_sales_hands_is_refused(value):
    with pytest.raises(
        ValueError, match=r"cannot be imported: imports create leads; hand them off in Smarketing\."
    ):
        parse_stage(value)


def test_parse_stage_messages():
    with pytest.raises(ValueError) as caught:
        parse_stage("customer")
    assert str(caught.value) == (
        "Lifecycle stage “customer” cannot be imported: imports create leads; hand them off in Smarketing."
    )
    with pytest.raises(ValueError, match=r"^Lead status “Closed - Not Converted” .*only bring in open leads"):
        parse_stage("Closed - Not Converted")
    with pytest.raises(ValueError, match=r"^Lifecycle stage “disqualified” .*only bring in open leads"):
        parse_stage("disqualified")
    with pytest.raises(ValueError) as caught:
        parse_stage("Hot")
    assert str(caught.value) == "Unknown stage “Hot”."


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("", None),
        ("250", 250),
        ("1,200", 1200),
        ("1.200", 1200),
        ("1 200", 1200),
        ("2,500,000", 2_500_000),
        ("250.0", 250),
        ("51-200", 51),
        ("51 – 200", 51),
        ("10,000+", 10_000),
        ("0", 0),
    ],
)
def test_parse_company_size(value, size):
    assert parse_company_size(value) == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "cannot be negative"),
        ("lots", "is not a number of employees"),
        ("12.5", "is not a number of employees"),
        ("1,20", "is not a number of employees"),
        ("200-51", "is not a number of employees"),
        ("99999999999", "implausibly large"),
    ],
)
def test_parse_company_size_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_company_size(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", ""),
        ("de", "DE"),
        ("LU", "LU"),
        ("United States", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("US", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("france", "FR"),
        ("The Netherlands", "NL"),
        ("Österreich", "AT"),
        ("Switzerland", "CH"),
        ("New Zealand", "NZ"),
        ("South Africa", "ZA"),
        ("UAE", "AE"),
        ("Israel", "IL"),
        ("Singapore", "SG"),
    ],
)
def test_parse_country(value, code):
    assert parse_country(value) == code


@pytest.mark.parametrize("value", ["Atlantis", "XX", "Europe"])
def test_parse_country_unknown(value):
    with pytest.raises(ValueError, match=f"^Unknown country “{value}”"):
        parse_country(value)


NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-12 14:03", datetime(2024, 6, 12, 14, 3, tzinfo=BERLIN)),  # HubSpot
        ("2024-06-12T14:03:00.000+0000", datetime(2024, 6, 12, 14, 3, tzinfo=UTC)),  # Salesforce
        ("2024-06-12T14:03:00Z", datetime(2024, 6, 12, 14, 3, tzinfo=UTC)),
        ("2024-06-12T14:03:00+02:00", datetime(2024, 6, 12, 12, 3, tzinfo=UTC)),
        ("2024-06-12", datetime(2024, 6, 12, tzinfo=BERLIN)),
    ],
)
def test_parse_datetime(value, expected):
    parsed = parse_datetime(value, BERLIN, now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_parse_datetime_naive_is_wall_clock_in_the_zone():
    parsed = parse_datetime("2024-01-15 09:00", BERLIN, now=NOW)
    assert parsed.utcoffset() == timedelta(hours=1)
    assert parsed.astimezone(UTC).hour == 8


def test_parse_datetime_empty():
    assert parse_datetime("  ", BERLIN) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-01-02", "is in the future"),
        ("2025-01-01T12:00:01Z", "is in the future"),
        ("12/06/2024", "ambiguous"),
        ("06/12/2024 14:03", "ambiguous"),
        ("yesterday", "is not a date"),
        ("2024-13-01", "is not a date"),
        ("1900-01-01", "before 1970"),
    ],
)
def test_parse_datetime_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_datetime(value, BERLIN, now=NOW)


def test_parse_datetime_defaults_to_the_real_now():
    with pytest.raises(ValueError, match="future"):
        parse_datetime((datetime.now(UTC) + timedelta(days=1)).isoformat(), BERLIN)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("", ("", "")),
        ("Ann", ("Ann", "")),
        ("Ann Lee", ("Ann", "Lee")),
        ("  Ann   van der  Berg ", ("Ann", "van der Berg")),
        ("Lee, Ann", ("Ann", "Lee")),
        ("Lee,", ("Lee", "")),
    ],
)
def test_split_full_name(value, names):
    assert split_full_name(value) == names


def test_field_size_limit_is_sane():
    assert 64 * 1024 <= FIELD_SIZE_LIMIT <= 16 * 1024 * 1024

"""Reading a CSV lead import: the column mapping and the value parsers.

Each parser turns one cell into a lead's value or raises ValueError with the reason the
row is refused (shown with its row number). Pure functions: no database."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from leads.models import Consent, LawfulBasis
from smarketing.org.models import Source

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
    # The person's answer on marketing contact (`leads.services.consent_clean`).
    "consent": "Consent to marketing (given, refused, withdrawn; or yes / no)",
    "consent_at": "Consent answered at",
    "consent_wording": "Consent wording (or its version) the person answered",
    "lawful_basis": "Lawful basis (consent, legitimate interest, contract)",
    "opted_out": "Opted out of email (true: consent refused)",
}
# The consent columns among them: a row's answer, checked as one (`plans.row_consent`).
CONSENT_FIELDS = ("consent", "consent_at", "consent_wording", "lawful_basis", "opted_out")


@functools.lru_cache(maxsize=4096)  # a file repeats its stages, statuses and owners
def label_key(text: str) -> str:
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
    # A Smarketing lead export writes "Consent", "Consent at", "Consent wording" and "Lawful
    # basis" (docs/exports.md), so an export re-imports its answers. Its "Consent method" is
    # not read: how an answer came here is the import's (`ConsentMethod.IMPORT`). HubSpot's
    # "Marketing contact status" is not read either: it is HubSpot's billing flag (whom it
    # may email and charges for), not the person's answer.
    "consent": (
        "consent",
        "marketing consent",
        "gdpr consent",
        "consent to marketing",
        "marketing opt-in",
        "opt-in",
    ),
    "consent_at": ("consent at", "consent date", "consent given at", "date of consent", "consent timestamp"),
    "consent_wording": ("consent wording", "consent text", "consent version", "consent statement"),
    # HubSpot's contact property "Legal basis for processing contact's data".
    "lawful_basis": (
        "lawful basis",
        "legal basis",
        "lawful basis for processing",
        "legal basis for processing contact's data",
    ),
    # Salesforce's Lead field HasOptedOutOfEmail ("Email Opt Out" in a report), HubSpot's
    # hs_email_optout ("Unsubscribed from all email"): true when the person opted out.
    "opted_out": ("hasoptedoutofemail", "email opt out", "unsubscribed from all email"),
}
_HEADER_LOOKUP: dict[str, str] = {
    label_key(alias): field for field, aliases in _HEADER_ALIASES.items() for alias in aliases
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
        field = _HEADER_LOOKUP.get(label_key(header))
        if field and field not in taken and header not in mapping:
            mapping[header] = field
            taken.add(field)
    return mapping


# ---------------------------------------------------------------------------------------
# Value normalisers: each returns the cleaned value or raises ValueError for the row.

SOURCE_LABELS: dict[str, str] = dict(Source.choices)  # the one table of sources (smarketing.org)

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
    label_key(alias): code
    for code, aliases in _SOURCE_ALIASES.items()
    for alias in (code, SOURCE_LABELS[code], *aliases)
}


def parse_source(value: str) -> str:
    """Map a source cell to a source code (see `SOURCE_LABELS`). Empty -> "list_import":
    a row without a source came from the list being imported."""
    value = (value or "").strip()
    if not value:
        return "list_import"
    code = _SOURCE_LOOKUP.get(label_key(value))
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
    label_key(name): (verdict, kind)
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
    found = _STAGE_LOOKUP.get(label_key(value))
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
    label_key(name): code for code, names in _COUNTRY_NAMES.items() for name in names
}


def parse_country(value: str) -> str:
    """ISO 3166-1 alpha-2 code, upper-cased; "" for an empty cell.

    Accepts any assigned alpha-2 code in any case, and the names (and some alpha-3
    codes) of about 60 frequent countries; "UK" is GB. Anything else raises ValueError.
    """
    value = (value or "").strip()
    if not value:
        return ""
    code = _COUNTRY_LOOKUP.get(label_key(value))
    if code:
        return code
    if len(value) == 2 and value.upper() in ISO_COUNTRY_CODES:
        return value.upper()
    raise ValueError(f"Unknown country “{value}”: use a two-letter ISO code such as DE or US.")


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_AMBIGUOUS_DATE = re.compile(r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?:[ T].*)?")


def parse_datetime(
    value: str, tz: ZoneInfo, *, now: datetime | None = None, what: str = ""
) -> datetime | None:
    """An aware datetime for a date/time cell; None for an empty cell.

    Accepted: ISO 8601 dates and date-times, with "T" or a space, with or without
    seconds and fractions, with "Z" or an offset ("+02:00", "+0000"). That covers
    HubSpot's "2024-06-12 14:03" and Salesforce's "2024-06-12T14:03:00.000+0000". A
    value without an offset is wall-clock time in `tz` (a date alone is midnight there);
    one with an offset keeps it. Slashed dates such as "12/06/2024" are refused rather
    than guessed: day/month order differs between locales and the two readings are both
    valid. Dates in the future (after `now`, default the current time) or before 1970
    are refused as mistakes. `now`, if given, must be aware. `what` names the date in the
    messages (a create date unless said).
    """
    value = (value or "").strip()
    if not value:
        return None
    date = f"{what.capitalize()} “{value}”" if what else f"Date “{value}”"
    if _AMBIGUOUS_DATE.fullmatch(value):
        raise ValueError(
            f"{date} is ambiguous (day and month order): use the form 2024-06-12 or 2024-06-12 14:03."
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"“{value}” is not a {what or 'date'}: use the form 2024-06-12 or 2024-06-12 14:03."
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    now = now or datetime.now(tz)
    if parsed > now:
        raise ValueError(f"{date} is in the future.")
    if parsed < _EARLIEST:
        raise ValueError(f"{date} is before 1970: probably a placeholder, not a {what or 'create date'}.")
    return parsed


# --- consent cells: turned into what `leads.services.consent_clean` reads, which checks them

_TRUE, _FALSE = ("yes", "y", "true", "1", "on"), ("no", "n", "false", "0", "off")
_CONSENT_WORDS = {
    **{label_key(word): Consent.GIVEN for word in _TRUE},
    **{label_key(word): Consent.REFUSED for word in _FALSE},
}


def consent_answer(value: object) -> str:
    """A consent cell, or a web form's checkbox, as an answer: yes, true, on, 1 (or JSON
    true) is given; no, false, off, 0 (or false) refused; anything else as written, for
    `consent_clean` to read or refuse ("" and None: no answer)."""
    if isinstance(value, bool):
        return str(Consent.GIVEN if value else Consent.REFUSED)
    text = "" if value is None else str(value).strip()
    return str(_CONSENT_WORDS.get(label_key(text), text))


# HubSpot's "Legal basis for processing contact's data" options (its knowledge base,
# "Track lawful basis of processing in HubSpot"); "Not applicable" records none.
_LAWFUL_BASIS_ALIASES: dict[str, tuple[str, ...]] = {
    LawfulBasis.CONSENT: ("Freely given consent from contact",),
    LawfulBasis.LEGITIMATE_INTEREST: (
        "Legitimate interest - prospect/lead",
        "Legitimate interest - existing customer",
        "Legitimate interest - other",
    ),
    LawfulBasis.CONTRACT: ("Performance of a contract",),
    LawfulBasis.NOT_RECORDED: ("Not applicable",),
}
_LAWFUL_BASIS_LOOKUP = {
    label_key(alias): code for code, aliases in _LAWFUL_BASIS_ALIASES.items() for alias in aliases
}


def parse_lawful_basis(value: str) -> str:
    """A lawful-basis cell: HubSpot's options as the basis they name; anything else as
    written, for `consent_clean` to read or refuse. HubSpot separates several with “;”:
    Smarketing keeps one basis for marketing contact, so several different ones are
    refused (the row says which to keep) rather than one guessed."""
    parts = [part.strip() for part in (value or "").split(";") if part.strip()]
    bases = {_LAWFUL_BASIS_LOOKUP.get(label_key(part), part) for part in parts}
    if len(bases) > 1:
        raise ValueError(
            f"Several lawful bases “{value.strip()}”: keep the one for marketing contact "
            "(consent, legitimate interest or contract)."
        )
    return str(bases.pop()) if bases else ""


def parse_opted_out(value: str) -> bool:
    """An opted-out-of-email cell (Salesforce's HasOptedOutOfEmail): true, yes, 1 — the
    person refused marketing email; false, no, 0 or empty — nothing said."""
    key = label_key(value or "")
    if key in {label_key(word) for word in _TRUE}:
        return True
    if not key or key in {label_key(word) for word in _FALSE}:
        return False
    raise ValueError(f"Opted out of email “{value.strip()}” is neither true nor false.")


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


def check_mapping(headers: list[str], mapping: dict[str, str], fields: dict[str, str]) -> dict[str, str]:
    """`{header: field}` as chosen, each header in the file, each field one of `fields` and
    chosen once, a column for Email, and one for the consent wording when one holds consent
    answers; raises ValueError naming every problem."""
    errors: list[str] = []
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if header not in headers:
            errors.append(f"The file has no column “{header}”.")
        elif target not in fields:
            errors.append(f"“{target}” is not a field this import can fill.")
        elif target in used:
            errors.append(f"Both “{used[target]}” and “{header}” are mapped to {fields[target]}: choose one.")
        else:
            used[target] = header
            cleaned[header] = target
    if "email" not in used and not errors:
        errors.append(
            "No column is mapped to Email. Every lead needs an email address: "
            "map the column that holds it (columns: " + ", ".join(f"“{h}”" for h in headers if h) + ")."
        )
    if "consent" in used and "consent_wording" not in used and not errors:
        errors.append(
            f"“{used['consent']}” is mapped to Consent: map the column with the wording (or its "
            "version) the person answered to Consent wording too — an answer counts only with it."
        )
    if errors:
        raise ValueError(" ".join(errors))
    return cleaned

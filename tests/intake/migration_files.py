"""Export files as HubSpot and Salesforce write them, for the migration import's acceptance
test (docs/migration.md): a HubSpot contacts export ("all properties", the columns the spec
reads) and a Salesforce leads report with the converted leads' opportunity ("Details only").

Deterministic: the same `n`, `seed`, `now` and `owners` give the same file, byte for byte.
Every date lies in the ~16 weeks before `now` (on whole days before `now`'s day, so nothing
is in the future when the import runs a moment later), except the bad rows' future dates.

What the files hold, besides plain rows:

- HubSpot's values: Lifecycle Stage labels, Lead Status, Original Source, "Contact owner" as
  a full name or an email (sometimes in another case), dates "2026-09-14 10:32" (wall-clock
  time in the organisation's zone), amounts "12500" or "12500.50".
- Salesforce's: Lead Status, Lead Source, Converted as "true"/"false" or "1"/"0", the
  opportunity's Stage, Created Date "2026-09-14T10:32:00.000+0000" (UTC), and Converted
  Date and Close Date as Salesforce reports date fields: "2026-09-14" (a day, no time).
- Realistic gaps: customers without an MQL or SQL date, SQLs with only an Opportunity date,
  losses without a close date, a contact whose Create Date is empty but not its "Became a
  Lead Date", rows with no date at all, owners of closed deals who have left (inactive),
  owners of leads still with marketing whom nobody here knows (a marketing queue), loss
  reasons that match no agreed reason (labels, codes, free text), times on a Sunday night
  just before a week ends in Berlin (and, in Salesforce's UTC, just after it began).
- With `bad=True`, about 2.5 % bad rows, each with exactly one problem, every kind at least
  once (Salesforce has no lifecycle stage: no `unknown_stage` row there). `Export.bad` says,
  per row number (as a spreadsheet numbers it: the header is row 1), the kind, whether the
  import must refuse ("failed") or skip it ("skipped"), and words one of which the import's
  message must contain (the offending value where there is one).

Rows the spec leaves open are not generated (see the top of tests/intake/migration_oracle.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Europe/Berlin"
WEEKS_BACK = 16

HUBSPOT_HEADER = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Company Name",
    "Job Title",
    "Lifecycle Stage",
    "Lead Status",
    "Contact owner",
    "Create Date",
    "Became a Lead Date",
    "Became a Marketing Qualified Lead Date",
    "Became a Sales Qualified Lead Date",
    "Became an Opportunity Date",
    "Became a Customer Date",
    "Original Source",
    "Original Source Drill-Down 1",
    "Amount",
    "Close Date",
    "Closed Lost Reason",
]

SALESFORCE_HEADER = [
    "Lead ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Company",
    "Title",
    "Lead Status",
    "Lead Source",
    "Lead Owner",
    "Created Date",
    "Converted",
    "Converted Date",
    "Stage",
    "Amount",
    "Close Date",
    "Loss Reason",
]

# --- bad rows ----------------------------------------------------------------------------------

INVALID_EMAIL = "invalid_email"
OUT_OF_ORDER = "dates_out_of_order"
FUTURE_DATE = "future_date"
AMBIGUOUS_DATE = "ambiguous_date"
UNKNOWN_OWNER = "unknown_owner"
INACTIVE_OWNER = "inactive_owner"  # an open MQL/SQL owned by someone who has left
NEGATIVE_AMOUNT = "negative_amount"
DUPLICATE = "duplicate_email"
UNKNOWN_STAGE = "unknown_stage"

HUBSPOT_KINDS = (
    INVALID_EMAIL,
    OUT_OF_ORDER,
    FUTURE_DATE,
    AMBIGUOUS_DATE,
    UNKNOWN_OWNER,
    INACTIVE_OWNER,
    NEGATIVE_AMOUNT,
    DUPLICATE,
    UNKNOWN_STAGE,
)
SALESFORCE_KINDS = tuple(kind for kind in HUBSPOT_KINDS if kind != UNKNOWN_STAGE)
BAD_SHARE = 0.025


@dataclass(frozen=True)
class Person:
    """Someone an export names as owner: a Smarketing user (the test creates them)."""

    first_name: str
    last_name: str
    email: str
    is_active: bool = True
    is_sales_rep: bool = True  # a sales rep in a sales team (an *active sales rep* when active)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class BadRow:
    row: int
    kind: str
    outcome: str  # "failed" or "skipped"
    hints: tuple[str, ...]  # the import's message contains one of these (case-insensitive)


class Export(NamedTuple):
    header: list[str]
    rows: list[list[str]]
    bad: dict[int, BadRow]  # by row number (header = row 1)


def row_number(index: int) -> int:
    """The spreadsheet row number of `rows[index]` (the header is row 1)."""
    return index + 2


# --- what people and companies are called ------------------------------------------------------

FIRST_NAMES = [
    "Anna", "Jonas", "Lena", "Lukas", "Marie", "Felix", "Sophie", "Paul", "Emma", "Ben", "Mia",
    "Noah", "Hannah", "Elias", "Lea", "Zoë", "Jürgen", "Łukasz", "José", "Siobhán", "Chloé",
    "Mehmet", "Aylin", "Priya", "Wei", "Olivia", "James", "Sofia", "Mateo", "Ingrid", "Sven",
]  # fmt: skip
LAST_NAMES = [
    "Schmidt", "Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann",
    "Schulz", "Koch", "Richter", "Klein", "Wolf", "O'Brien", "García", "Nowak", "van der Berg",
    "Dubois", "Rossi", "Yılmaz", "Sharma", "Chen", "Johnson", "Smith", "Jensen", "Novak",
]  # fmt: skip
COMPANIES = [
    ("Bergmann Logistik GmbH", "bergmann-logistik.de"),
    ("Nordwind Energie AG", "nordwind-energie.de"),
    ("Acme Industrial Ltd", "acme-industrial.co.uk"),
    ("Kraft & Söhne KG", "kraft-soehne.de"),
    ("Initech Solutions", "initech.com"),
    ("Globex Corporation", "globex.com"),
    ("Umbrella Health", "umbrella-health.com"),
    ("Stark Maschinenbau", "stark-maschinenbau.de"),
    ("Vandelay Imports", "vandelay.io"),
    ("Hooli Europe B.V.", "hooli.eu"),
    ("Tyrell Robotics", "tyrell-robotics.com"),
    ("Wayne Facilities", "wayne-facilities.com"),
    ("Soylent Foods S.A.", "soylent-foods.fr"),
    ("Pied Piper Data", "piedpiper.io"),
    ("Cyberdyne Systeme", "cyberdyne.de"),
    ("Massive Dynamic", "massivedynamic.com"),
    ("Gringotts Finanz AG", "gringotts-finanz.ch"),
    ("Oceanic Shipping ApS", "oceanic-shipping.dk"),
]
FREE_MAIL = ["gmail.com", "outlook.com", "web.de", "gmx.de", "yahoo.com"]
TITLES = [
    "Head of Operations", "CTO", "IT-Leiter", "Procurement Manager", "VP Sales", "CFO",
    "Office Manager", "Einkaufsleiterin", "Director of Facilities", "Managing Director",
    "Operations Analyst", "Geschäftsführer", "Head of IT", "Plant Manager", "",
]  # fmt: skip

HUBSPOT_SOURCES = {
    # value: (weight, drill-down values)
    "Organic Search": (18, ["google", "bing", "duckduckgo"]),
    "Paid Search": (12, ["google", "Brand - DE", "Competitor keywords"]),
    "Paid Social": (8, ["LinkedIn", "Facebook"]),
    "Social Media": (6, ["LinkedIn", "Twitter", "XING"]),
    "Email Marketing": (10, ["Newsletter", "Nurture - Q3"]),
    "Direct Traffic": (14, [""]),
    "Referrals": (7, ["g2.com", "capterra.com", "partner-portal.example.org"]),
    "Offline Sources": (15, ["IMPORT", "CRM_UI", "INTEGRATION"]),
    "Other Campaigns": (5, ["Webinar September", "Trade fair Hannover"]),
    "": (5, [""]),
}
SALESFORCE_SOURCES = {
    "Web": 25,
    "Phone Inquiry": 8,
    "Partner Referral": 10,
    "Purchased List": 12,
    "Trade Show": 10,
    "Advertisement": 12,
    "Employee Referral": 6,
    "Other": 7,
    "": 5,
}
# Agreed loss reasons (leads/migrations/0002_roles_and_reasons.py): labels, and codes.
LOSS_LABELS = [
    "Price",
    "Chose a competitor",
    "No decision / went dark",
    "Project postponed",
    "Missing feature",
    "Not a fit after discovery",
    "Company closed or acquired",
]
LOSS_CODES = [
    "price",
    "competitor",
    "no-decision",
    "timing",
    "missing-feature",
    "not-a-fit",
    "company-closed",
]
LOSS_UNKNOWN = ["Budget cut", "Lost to incumbent", "Champion left the company", "Too expensive (2nd round)"]

HUBSPOT_LEAD_STATUSES = ["New", "Open", "In Progress", "Attempted to Contact", "Connected", "Bad Timing", ""]
MARKETING_QUEUES = ["Marketing Team", "Inbound Queue", "webmaster@old-agency.example"]
UNKNOWN_OWNERS = ["Jordan Miles", "k.brandt@old-agency.example", "Sales Team DACH", "Inbound Leads Queue"]
UNKNOWN_LIFECYCLES = ["Prospect", "Partner", "Former Customer"]


# --- small helpers -----------------------------------------------------------------------------


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).replace("ł", "l").replace("Ł", "L").replace("ı", "i")
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


def _weighted(rng: random.Random, table: dict) -> str:
    keys = list(table)
    weights = [table[k][0] if isinstance(table[k], tuple) else table[k] for k in keys]
    return rng.choices(keys, weights=weights)[0]


def _amount(rng: random.Random) -> str:
    whole = rng.choice([2500, 4800, 7500, 9900, 12500, 18000, 24000, 36000, 48000, 60000, 125000])
    whole += rng.randrange(0, 40) * 100
    return f"{whole}.{rng.choice(['50', '90', '25'])}" if rng.random() < 0.2 else str(whole)


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return ""
    if rng.random() < 0.7:
        return f"+49 {rng.choice(['30', '40', '89', '221', '711'])} {rng.randrange(1000000, 9999999)}"
    return f"+1 ({rng.randrange(200, 999)}) 555-{rng.randrange(1000, 9999)}"


def _hours(rng: random.Random) -> tuple[int, int]:
    """A time of day (no 02:xx: the hour that happens twice when summer time ends)."""
    if rng.random() < 0.85:
        return rng.randrange(7, 20), rng.randrange(60)
    return rng.choice([0, 1, 20, 21, 22, 23]), rng.randrange(60)


class _Clock:
    """Dates for one file: local days in the ~16 weeks before `now`'s day."""

    def __init__(self, rng: random.Random, now: dt.datetime, tz: ZoneInfo):
        self.rng, self.tz = rng, tz
        self.now = now.astimezone(tz)
        self.last_day = self.now.date() - dt.timedelta(days=1)
        self.first_day = self.now.date() - dt.timedelta(weeks=WEEKS_BACK)

    def days(self, count: int, *, max_gap: int = 21, min_gap: int = 0) -> list[dt.date]:
        """`count` days in order, each `min_gap`..`max_gap` after the one before."""
        gaps = [self.rng.randint(min_gap, max_gap) for _ in range(count - 1)]
        span = (self.last_day - self.first_day).days
        while sum(gaps) > span:
            gaps = [g // 2 for g in gaps]
        start = self.first_day + dt.timedelta(days=self.rng.randint(0, span - sum(gaps)))
        days = [start]
        for gap in gaps:
            days.append(days[-1] + dt.timedelta(days=gap))
        return days

    def moments(self, count: int, **gaps) -> list[dt.datetime]:
        """`count` local moments in order (same-day ones sorted by time)."""
        days = self.days(count, **gaps)
        moments = [dt.datetime.combine(d, dt.time(*_hours(self.rng)), tzinfo=self.tz) for d in days]
        return sorted(moments)

    def sunday_night(self) -> dt.datetime:
        """Sunday 23:10–23:50 local time of a week in the range (the week's last minutes)."""
        day = self.days(1)[0]
        day += dt.timedelta(days=(6 - day.weekday()))
        if day >= self.last_day:  # (late on Sunday in UTC is Monday here: still before now)
            day -= dt.timedelta(weeks=1)
        return dt.datetime.combine(day, dt.time(23, self.rng.randrange(10, 50)), tzinfo=self.tz)

    def future(self) -> dt.datetime:
        day = self.now.date() + dt.timedelta(days=self.rng.randint(3, 20))
        return dt.datetime.combine(day, dt.time(*_hours(self.rng)), tzinfo=self.tz)

    def ambiguous(self) -> str:
        """ "03/04/YYYY": 3 April or 4 March — both in the past."""
        year = self.now.year if self.now.month > 4 else self.now.year - 1
        return f"03/04/{year}"


def _hubspot_time(moment: dt.datetime | None, tz: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _salesforce_time(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _salesforce_day(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


def _bad_plan(rng: random.Random, n: int, kinds: tuple[str, ...], bad: bool) -> dict[int, str]:
    """Which row indexes are bad, and how (index 0 is always good: a duplicate's original)."""
    if not bad:
        return {}
    count = max(len(kinds), round(n * BAD_SHARE))
    if n < count + 10:
        raise ValueError(f"{n} rows are too few for {count} bad rows of {len(kinds)} kinds")
    chosen = list(kinds) + rng.choices(kinds, k=count - len(kinds))
    rng.shuffle(chosen)
    indexes = sorted(rng.sample(range(5, n), count))
    return dict(zip(indexes, chosen, strict=True))


def _forced(rng: random.Random, n: int, taken: set[int], shapes: list[str]) -> dict[int, str]:
    """Give the special good rows (`shapes`, each once) random good indexes."""
    free = [i for i in range(1, n) if i not in taken]
    picked = rng.sample(free, min(len(shapes), len(free)))
    return dict(zip(picked, shapes, strict=False))


# --- people -----------------------------------------------------------------------------------


class _People:
    def __init__(self, rng: random.Random, owners: list[Person]):
        self.rng = rng
        self.reps = [p for p in owners if p.is_active and p.is_sales_rep]
        self.left = [p for p in owners if not p.is_active]
        self.others = [p for p in owners if p.is_active and not p.is_sales_rep]  # managers, marketers
        if not self.reps or not self.left or not self.others:
            raise ValueError("owners needs active sales reps, an inactive user and another active user")

    def cell(self, person: Person) -> str:
        """How an export names the person: mostly the full name, sometimes the email, at
        times in another case (matching ignores case)."""
        roll = self.rng.random()
        if roll < 0.65:
            return person.full_name
        if roll < 0.80:
            return person.email
        if roll < 0.90:
            return person.full_name.lower()
        return person.email.upper()

    def open_owner(self) -> str:
        return self.cell(self.rng.choice(self.reps))

    def closed_owner(self) -> str:
        """A closed deal keeps whoever owned it: mostly a rep, sometimes one who has left,
        sometimes a manager."""
        roll = self.rng.random()
        if roll < 0.12:
            return self.cell(self.rng.choice(self.left))
        if roll < 0.18:
            return self.cell(self.rng.choice(self.others))
        return self.open_owner()

    def marketing_owner(self) -> str:
        """A lead still with marketing: whatever the old CRM said (ignored by the import)."""
        roll = self.rng.random()
        if roll < 0.5:
            return ""
        if roll < 0.7:
            return self.cell(self.rng.choice(self.others))
        if roll < 0.9:
            return self.open_owner()
        return self.rng.choice(MARKETING_QUEUES)


def _contact(rng: random.Random, i: int) -> dict[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company, domain = rng.choice(COMPANIES)
    f, l_ = _ascii(first), _ascii(last)
    if rng.random() < 0.1:
        domain = rng.choice(FREE_MAIL)
    local = rng.choice([f"{f}.{l_}.{i}", f"{f[0]}{l_}{i}", f"{f}{i}", f"{l_}.{f}{i}"])
    email = f"{local}@{domain}"
    roll = rng.random()
    if roll < 0.05:
        email = email.capitalize()
    elif roll < 0.07:
        email = f"{local.title()}@{domain.upper()}"
    return {
        "first": first,
        "last": last,
        "email": email,
        "phone": _phone(rng),
        "company": company,
        "title": rng.choice(TITLES),
    }


def _free_mail(email: str) -> bool:
    return email.rpartition("@")[2].casefold() in FREE_MAIL


def _invalid_email(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    return rng.choice([f"{local}@", f"{local}(at){domain}", f"{local}@@{domain}", f"{local} @{domain}"])


def _duplicate_email(email: str) -> str:
    """The same address as another row, written differently (normalisation makes it equal)."""
    return email.upper() if email != email.upper() else email.lower()


# --- HubSpot -----------------------------------------------------------------------------------

HUBSPOT_SHAPES = {
    "lead": 42,
    "mql": 12,
    "sql": 10,
    "customer": 11,
    "lost": 10,
    "disq_lead": 7,
    "disq_mql": 4,
    "disq_sql": 4,
}
HUBSPOT_SPECIALS = [
    "lead_no_dates",
    "mql_no_dates",
    "lead_created_empty",  # Create Date empty, Became a Lead Date given
    "customer_only_create_and_customer",
    "customer_no_mql",
    "customer_close_only",  # no Customer date: won at the Close Date
    "customer_left_owner",
    "customer_manager_owner",
    "evangelist",
    "sql_opportunity_only",
    "sql_no_sql_date",  # accepted at the MQL date (no later date)
    "mql_no_mql_date",  # handed off when created (no later date)
    "lost_no_close",  # lost at the acceptance date
    "lost_left_owner",
    "lost_recycle_label",
    "lost_disqualify_label",
    "lost_code",
    "lost_unknown_reason",
    "lead_unknown_owner",
    "sunday_night",
]


def hubspot_contacts(
    n: int, *, seed: int, now: dt.datetime, owners: list[Person], bad: bool = True, tz: str = DEFAULT_TZ
) -> Export:
    """A HubSpot contacts export of `n` rows (see the module's docstring)."""
    rng = random.Random(f"hubspot-{seed}")
    zone = ZoneInfo(tz)
    clock, people = _Clock(rng, now, zone), _People(rng, owners)
    plan = _bad_plan(rng, n, HUBSPOT_KINDS, bad)
    specials = _forced(rng, n, set(plan), HUBSPOT_SPECIALS) if n >= 200 else {}
    rows: list[list[str]] = []
    bad_rows: dict[int, BadRow] = {}
    good: list[int] = []
    record = 51_200_000 + rng.randrange(100_000)
    for i in range(n):
        record += rng.randint(1, 90)
        kind = plan.get(i)
        if kind == DUPLICATE:
            original = rng.choice(good)
            cells = dict(zip(HUBSPOT_HEADER, rows[original], strict=True))
            cells["Record ID"] = str(record)
            cells["Email"] = _duplicate_email(cells["Email"])
            cells["Phone Number"] = _phone(rng)
            rows.append([cells[h] for h in HUBSPOT_HEADER])
            first = row_number(original)
            bad_rows[row_number(i)] = BadRow(row_number(i), kind, "skipped", ("duplicate", f"row {first}"))
            continue
        shape = specials.get(i) or _weighted(rng, HUBSPOT_SHAPES)
        shape = _HUBSPOT_SHAPE_FOR_KIND.get(kind, lambda r, s: s)(rng, shape)
        cells = _hubspot_good(rng, i, record, shape, clock, people, zone)
        if kind is not None:
            hints = _hubspot_damage(rng, kind, cells, clock, people, zone)
            bad_rows[row_number(i)] = BadRow(row_number(i), kind, "failed", hints)
        else:
            good.append(i)
        rows.append([cells[h] for h in HUBSPOT_HEADER])
    return Export(list(HUBSPOT_HEADER), rows, bad_rows)


# Which good row a bad one starts from.
_HUBSPOT_SHAPE_FOR_KIND = {
    INVALID_EMAIL: lambda rng, s: rng.choice(["lead", "mql"]),
    OUT_OF_ORDER: lambda rng, s: rng.choice(["sql_full", "customer_full"]),
    FUTURE_DATE: lambda rng, s: "customer_full",
    AMBIGUOUS_DATE: lambda rng, s: "mql_full",
    UNKNOWN_OWNER: lambda rng, s: rng.choice(["mql_full", "sql_full"]),
    INACTIVE_OWNER: lambda rng, s: rng.choice(["mql_full", "sql_full"]),
    NEGATIVE_AMOUNT: lambda rng, s: "customer_full",
    UNKNOWN_STAGE: lambda rng, s: "lead",
}


def _hubspot_good(
    rng: random.Random,
    i: int,
    record: int,
    shape: str,
    clock: _Clock,
    people: _People,
    tz: ZoneInfo,
) -> dict[str, str]:
    person = _contact(rng, i)
    source = _weighted(rng, HUBSPOT_SOURCES)
    cells = dict.fromkeys(HUBSPOT_HEADER, "")
    cells.update(
        {
            "Record ID": str(record),
            "First Name": person["first"],
            "Last Name": person["last"],
            "Email": person["email"],
            "Phone Number": person["phone"],
            "Company Name": "" if _free_mail(person["email"]) and rng.random() < 0.5 else person["company"],
            "Job Title": person["title"],
            "Original Source": source,
            "Original Source Drill-Down 1": rng.choice(HUBSPOT_SOURCES[source][1]),
        }
    )
    dates: dict[str, dt.datetime | None] = {}

    def at(*columns: str, **gaps) -> None:
        for column, moment in zip(columns, clock.moments(len(columns), **gaps), strict=True):
            dates[column] = moment

    create, lead_d, mql, sql, opp, cust, close = (
        "Create Date",
        "Became a Lead Date",
        "Became a Marketing Qualified Lead Date",
        "Became a Sales Qualified Lead Date",
        "Became an Opportunity Date",
        "Became a Customer Date",
        "Close Date",
    )
    base = shape.removesuffix("_full")
    full = shape.endswith("_full")  # every date of its path (a bad row's starting point)

    if base in ("lead", "lead_no_dates", "lead_created_empty", "lead_unknown_owner", "sunday_night"):
        lifecycle = rng.choices(["Lead", "Subscriber", "Other", ""], weights=[60, 28, 7, 5])[0]
        cells["Lifecycle Stage"] = lifecycle
        cells["Lead Status"] = rng.choice(HUBSPOT_LEAD_STATUSES)
        cells["Contact owner"] = people.marketing_owner()
        if base == "lead_unknown_owner":
            cells["Contact owner"] = rng.choice(UNKNOWN_OWNERS)
        if base == "lead_no_dates":
            pass
        elif base == "lead_created_empty":
            cells["Lifecycle Stage"] = "Lead"
            at(lead_d)
        elif base == "sunday_night":
            dates[create] = clock.sunday_night()
        else:
            at(create)
            if lifecycle == "Lead" and rng.random() < 0.8:
                dates[lead_d] = dates[create]
    elif base in ("mql", "mql_no_dates", "mql_no_mql_date"):
        cells["Lifecycle Stage"] = "Marketing Qualified Lead"
        cells["Lead Status"] = rng.choice(["New", "Open", "In Progress", ""])
        cells["Contact owner"] = people.open_owner()
        if base == "mql_no_dates":
            pass
        elif base == "mql_no_mql_date" or (not full and rng.random() < 0.08):
            at(create)
        else:
            at(create, mql)
        if dates.get(create) and rng.random() < 0.7:
            dates[lead_d] = dates[create]
    elif base in ("sql", "sql_opportunity_only", "sql_no_sql_date"):
        opportunity = base == "sql_opportunity_only" or (not full and rng.random() < 0.3)
        cells["Lifecycle Stage"] = "Opportunity" if opportunity else "Sales Qualified Lead"
        cells["Lead Status"] = rng.choice(["Connected", "Open Deal", "In Progress", ""])
        cells["Contact owner"] = people.open_owner()
        if base == "sql_no_sql_date":
            at(create, mql)
        elif base == "sql_opportunity_only":
            at(create, mql, opp)
        elif full:
            at(create, mql, sql)
        else:
            columns = [create]
            if rng.random() < 0.85:
                columns.append(mql)
            columns.append(sql if not opportunity or rng.random() < 0.6 else opp)
            if opportunity and columns[-1] == sql:
                columns.append(opp)
            at(*columns)
        if opportunity and rng.random() < 0.4:
            cells["Amount"] = _amount(rng)
    elif base in (
        "customer",
        "customer_only_create_and_customer",
        "customer_no_mql",
        "customer_close_only",
        "customer_left_owner",
        "customer_manager_owner",
        "evangelist",
    ):
        cells["Lifecycle Stage"] = "Evangelist" if base == "evangelist" or rng.random() < 0.04 else "Customer"
        cells["Lead Status"] = rng.choice(["", "", "Connected"])
        cells["Contact owner"] = people.closed_owner()
        if base == "customer_left_owner":
            cells["Contact owner"] = people.cell(rng.choice(people.left))
        elif base == "customer_manager_owner":
            cells["Contact owner"] = people.cell(rng.choice(people.others))
        elif full:
            cells["Contact owner"] = people.open_owner()
        cells["Amount"] = _amount(rng)
        if base == "customer_only_create_and_customer":
            at(create, cust, max_gap=40)
        elif base == "customer_no_mql":
            at(create, sql, cust, max_gap=30)
        elif base == "customer_close_only":
            at(create, mql, sql, close, max_gap=25)
        elif full:
            at(create, mql, sql, cust, max_gap=25)
        else:
            columns = [create]
            if rng.random() < 0.8:
                columns.append(mql)
            if rng.random() < 0.75:
                columns.append(sql)
            if rng.random() < 0.4:
                columns.append(opp)
            columns.append(cust)
            at(*columns, max_gap=25)
        if dates.get(cust) and rng.random() < 0.6:
            dates[close] = dates[cust]  # the deal closed when the contact became a customer
    elif base.startswith("lost"):
        cells["Lifecycle Stage"] = rng.choice(["Sales Qualified Lead", "Opportunity"])
        cells["Lead Status"] = rng.choice(["Bad Timing", "Open Deal", "Connected", ""])
        cells["Contact owner"] = people.closed_owner()
        if base == "lost_left_owner":
            cells["Contact owner"] = people.cell(rng.choice(people.left))
        accepted_at = sql if cells["Lifecycle Stage"] == "Sales Qualified Lead" else opp
        if base == "lost_no_close":
            at(create, mql, accepted_at, max_gap=25)
        else:
            columns = [create] + ([mql] if rng.random() < 0.85 else []) + [accepted_at, close]
            at(*columns, max_gap=25)
        if rng.random() < 0.5:
            cells["Amount"] = _amount(rng)
        cells["Closed Lost Reason"] = {
            "lost_recycle_label": lambda: rng.choice(LOSS_LABELS[:5]),
            "lost_disqualify_label": lambda: rng.choice(LOSS_LABELS[5:]),
            "lost_code": lambda: rng.choice(LOSS_CODES),
            "lost_unknown_reason": lambda: rng.choice(LOSS_UNKNOWN),
        }.get(base, lambda: _loss_reason(rng))()
    elif base.startswith("disq_"):
        cells["Lead Status"] = "Unqualified"
        if base == "disq_lead":
            cells["Lifecycle Stage"] = rng.choice(["Lead", "Subscriber"])
            cells["Contact owner"] = ""  # never with sales (whether one is needed is left open)
            at(create)
        elif base == "disq_mql":
            cells["Lifecycle Stage"] = "Marketing Qualified Lead"
            cells["Contact owner"] = people.closed_owner()
            at(create, mql)
        else:
            cells["Lifecycle Stage"] = "Sales Qualified Lead"
            cells["Contact owner"] = people.closed_owner()
            at(create, mql, sql)
    else:  # pragma: no cover - a typo in a shape name
        raise ValueError(shape)
    for column, moment in dates.items():
        cells[column] = _hubspot_time(moment, tz)
    return cells


def _loss_reason(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.75:
        return rng.choice(LOSS_LABELS)
    if roll < 0.85:
        return rng.choice(LOSS_CODES)
    return rng.choice(LOSS_UNKNOWN)


def _hubspot_damage(
    rng: random.Random, kind: str, cells: dict[str, str], clock: _Clock, people: _People, tz: ZoneInfo
) -> tuple[str, ...]:
    """Give a good row one problem; return the words its message must contain one of."""
    if kind == INVALID_EMAIL:
        cells["Email"] = _invalid_email(rng, cells["Email"])
        return ("email", cells["Email"].strip())
    if kind == OUT_OF_ORDER:
        mql = dt.datetime.fromisoformat(cells["Became a Marketing Qualified Lead Date"]).replace(tzinfo=tz)
        create = dt.datetime.fromisoformat(cells["Create Date"]).replace(tzinfo=tz)
        earlier = mql - dt.timedelta(days=rng.randint(1, 6), minutes=rng.randint(1, 600))
        cells["Became a Sales Qualified Lead Date"] = _hubspot_time(max(earlier, create), tz)
        if max(earlier, create) >= mql:  # created and qualified the same day: the SQL before both
            cells["Became a Sales Qualified Lead Date"] = _hubspot_time(create - dt.timedelta(hours=5), tz)
        return ("before",)
    if kind == FUTURE_DATE:
        cells["Became a Customer Date"] = _hubspot_time(clock.future(), tz)
        cells["Close Date"] = ""
        return ("future", cells["Became a Customer Date"])
    if kind == AMBIGUOUS_DATE:
        cells["Became a Marketing Qualified Lead Date"] = clock.ambiguous()
        return ("ambiguous", cells["Became a Marketing Qualified Lead Date"])
    if kind == UNKNOWN_OWNER:
        cells["Contact owner"] = rng.choice(UNKNOWN_OWNERS)
        return (cells["Contact owner"], "owner")
    if kind == INACTIVE_OWNER:
        cells["Contact owner"] = people.cell(rng.choice(people.left))
        return (cells["Contact owner"], "active", "owner")
    if kind == NEGATIVE_AMOUNT:
        cells["Amount"] = f"-{cells['Amount']}"
        return ("negative", cells["Amount"])
    if kind == UNKNOWN_STAGE:
        cells["Lifecycle Stage"] = rng.choice(UNKNOWN_LIFECYCLES)
        return (cells["Lifecycle Stage"], "stage")
    raise ValueError(kind)


# --- Salesforce --------------------------------------------------------------------------------

SALESFORCE_SHAPES = {
    "lead": 40,
    "mql": 12,
    "sql_unconverted": 6,
    "disqualified": 8,
    "sql": 10,
    "customer": 12,
    "lost": 12,
}
SALESFORCE_SPECIALS = [
    "lead_no_dates",
    "lead_queue_owner",
    "sunday_night_utc",  # created Sunday late in UTC: Monday in Berlin
    "customer_no_converted_date",  # qualified and accepted at the close date
    "customer_left_owner",
    "customer_manager_owner",
    "lost_no_close",  # lost at the converted date
    "lost_left_owner",
    "lost_disqualify_label",
    "lost_unknown_reason",
    "sql_no_stage",
]
SALESFORCE_ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def salesforce_leads(
    n: int, *, seed: int, now: dt.datetime, owners: list[Person], bad: bool = True, tz: str = DEFAULT_TZ
) -> Export:
    """A Salesforce leads report of `n` rows with the converted leads' opportunity."""
    rng = random.Random(f"salesforce-{seed}")
    zone = ZoneInfo(tz)
    clock, people = _Clock(rng, now, zone), _People(rng, owners)
    plan = _bad_plan(rng, n, SALESFORCE_KINDS, bad)
    specials = _forced(rng, n, set(plan), SALESFORCE_SPECIALS) if n >= 200 else {}
    rows: list[list[str]] = []
    bad_rows: dict[int, BadRow] = {}
    good: list[int] = []
    for i in range(n):
        lead_id = "00Q" + "".join(rng.choice(SALESFORCE_ID_CHARS) for _ in range(15))
        kind = plan.get(i)
        if kind == DUPLICATE:
            original = rng.choice(good)
            cells = dict(zip(SALESFORCE_HEADER, rows[original], strict=True))
            cells["Lead ID"] = lead_id
            cells["Email"] = _duplicate_email(cells["Email"])
            rows.append([cells[h] for h in SALESFORCE_HEADER])
            first = row_number(original)
            bad_rows[row_number(i)] = BadRow(row_number(i), kind, "skipped", ("duplicate", f"row {first}"))
            continue
        shape = specials.get(i) or _weighted(rng, SALESFORCE_SHAPES)
        shape = _SALESFORCE_SHAPE_FOR_KIND.get(kind, lambda r, s: s)(rng, shape)
        cells = _salesforce_good(rng, i, lead_id, shape, clock, people)
        if kind is not None:
            hints = _salesforce_damage(rng, kind, cells, clock, people, zone)
            bad_rows[row_number(i)] = BadRow(row_number(i), kind, "failed", hints)
        else:
            good.append(i)
        rows.append([cells[h] for h in SALESFORCE_HEADER])
    return Export(list(SALESFORCE_HEADER), rows, bad_rows)


_SALESFORCE_SHAPE_FOR_KIND = {
    INVALID_EMAIL: lambda rng, s: rng.choice(["lead", "mql"]),
    OUT_OF_ORDER: lambda rng, s: rng.choice(["sql", "customer"]),
    FUTURE_DATE: lambda rng, s: "customer",
    AMBIGUOUS_DATE: lambda rng, s: "lead",
    UNKNOWN_OWNER: lambda rng, s: rng.choice(["mql", "sql"]),
    INACTIVE_OWNER: lambda rng, s: rng.choice(["mql", "sql", "sql_unconverted"]),
    NEGATIVE_AMOUNT: lambda rng, s: "customer",
}


def _converted(rng: random.Random, value: bool) -> str:
    if rng.random() < 0.75:
        return "true" if value else "false"
    return "1" if value else "0"


def _salesforce_good(
    rng: random.Random, i: int, lead_id: str, shape: str, clock: _Clock, people: _People
) -> dict[str, str]:
    person = _contact(rng, i)
    cells = dict.fromkeys(SALESFORCE_HEADER, "")
    cells.update(
        {
            "Lead ID": lead_id,
            "First Name": person["first"],
            "Last Name": person["last"],
            "Email": person["email"],
            "Phone": person["phone"],
            "Company": person["company"],
            "Title": person["title"],
            "Lead Source": _weighted(rng, SALESFORCE_SOURCES),
        }
    )
    converted = shape in (
        "sql",
        "sql_no_stage",
        "customer",
        "customer_no_converted_date",
        "customer_left_owner",
        "customer_manager_owner",
    ) or shape.startswith("lost")
    cells["Converted"] = _converted(rng, converted)
    if not converted:
        if shape == "sunday_night_utc":
            local_sunday = clock.sunday_night()
            created = dt.datetime.combine(
                local_sunday.date(), dt.time(23, rng.randrange(5, 55)), tzinfo=dt.UTC
            )
        else:
            created = clock.moments(1)[0]
        cells["Created Date"] = "" if shape == "lead_no_dates" else _salesforce_time(created)
        if shape in ("lead", "lead_no_dates", "lead_queue_owner", "sunday_night_utc"):
            cells["Lead Status"] = rng.choice(["New", "New", ""])
            cells["Lead Owner"] = people.marketing_owner()
            if shape == "lead_queue_owner":
                cells["Lead Owner"] = rng.choice(MARKETING_QUEUES)
        elif shape == "mql":
            cells["Lead Status"] = "Open - Not Contacted"
            cells["Lead Owner"] = people.open_owner()
        elif shape == "sql_unconverted":
            cells["Lead Status"] = "Working - Contacted"
            cells["Lead Owner"] = people.open_owner()
        elif shape == "disqualified":
            cells["Lead Status"] = "Closed - Not Converted"
            # Never handed to sales: no owner (whether one would be needed is left open).
            cells["Lead Owner"] = ""
        else:  # pragma: no cover
            raise ValueError(shape)
        return cells
    # Converted: created (a moment), then converted and closed (days, as Salesforce reports
    # date fields). The day after creation at the earliest: a date alone is midnight, and
    # midnight of the creation day would come before the creation.
    cells["Lead Status"] = "Closed - Converted"
    created_day, converted_day, close_day = clock.days(3, min_gap=1, max_gap=25)
    close_day = max(close_day, converted_day)
    created = dt.datetime.combine(created_day, dt.time(*_hours(rng)), tzinfo=clock.tz)
    cells["Created Date"] = _salesforce_time(created)
    cells["Converted Date"] = _salesforce_day(converted_day)
    if shape in ("sql", "sql_no_stage"):
        cells["Stage"] = "" if shape == "sql_no_stage" else rng.choice(["Prospecting", "Negotiation/Review"])
        cells["Lead Owner"] = people.open_owner()
        if cells["Stage"] and rng.random() < 0.6:
            cells["Amount"] = _amount(rng)
        return cells
    if shape.startswith("customer"):
        cells["Stage"] = "Closed Won"
        cells["Lead Owner"] = people.closed_owner()
        if shape == "customer_left_owner":
            cells["Lead Owner"] = people.cell(rng.choice(people.left))
        elif shape == "customer_manager_owner":
            cells["Lead Owner"] = people.cell(rng.choice(people.others))
        if shape == "customer_no_converted_date":
            cells["Converted Date"] = ""
        cells["Amount"] = _amount(rng)
        cells["Close Date"] = _salesforce_day(close_day)
        return cells
    cells["Stage"] = "Closed Lost"
    cells["Lead Owner"] = people.closed_owner()
    if shape == "lost_left_owner":
        cells["Lead Owner"] = people.cell(rng.choice(people.left))
    if rng.random() < 0.5:
        cells["Amount"] = _amount(rng)
    cells["Close Date"] = "" if shape == "lost_no_close" else _salesforce_day(close_day)
    cells["Loss Reason"] = {
        "lost_disqualify_label": lambda: rng.choice(LOSS_LABELS[5:]),
        "lost_unknown_reason": lambda: rng.choice(LOSS_UNKNOWN),
    }.get(shape, lambda: _loss_reason(rng))()
    return cells


def _salesforce_damage(
    rng: random.Random, kind: str, cells: dict[str, str], clock: _Clock, people: _People, tz: ZoneInfo
) -> tuple[str, ...]:
    if kind == INVALID_EMAIL:
        cells["Email"] = _invalid_email(rng, cells["Email"])
        return ("email", cells["Email"].strip())
    if kind == OUT_OF_ORDER:
        created = dt.datetime.fromisoformat(cells["Created Date"]).astimezone(tz)
        cells["Converted Date"] = _salesforce_day(created.date() - dt.timedelta(days=rng.randint(2, 9)))
        return ("before",)
    if kind == FUTURE_DATE:
        cells["Close Date"] = _salesforce_day(clock.future().date())
        return ("future", cells["Close Date"])
    if kind == AMBIGUOUS_DATE:
        cells["Created Date"] = clock.ambiguous()
        return ("ambiguous", cells["Created Date"])
    if kind == UNKNOWN_OWNER:
        cells["Lead Owner"] = rng.choice(UNKNOWN_OWNERS)
        return (cells["Lead Owner"], "owner")
    if kind == INACTIVE_OWNER:
        cells["Lead Owner"] = people.cell(rng.choice(people.left))
        return (cells["Lead Owner"], "active", "owner")
    if kind == NEGATIVE_AMOUNT:
        cells["Amount"] = f"-{cells['Amount']}"
        return ("negative", cells["Amount"])
    raise ValueError(kind)


# --- writing the file --------------------------------------------------------------------------


def csv_bytes(header: list[str], rows: list[list[str]], *, bom: bool = True) -> bytes:
    """The rows as the CRMs download them: UTF-8 with a BOM (HubSpot, Salesforce), CRLF."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def xlsx_bytes(header: list[str], rows: list[list[str]], *, typed: bool = True) -> bytes:
    """The rows as an .xlsx workbook. With `typed`, as Excel holds an export: whole dates
    and date-times as date cells (naive: wall-clock time), numbers (Record ID, amounts) as
    numbers; anything else, an ambiguous "03/04/2026" included, as text."""
    import openpyxl  # only this variant needs it

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Export")
    sheet.append(header)
    for row in rows:
        sheet.append([_typed(value) if typed else value for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _typed(value: str):
    text = value.strip()
    if not text or text != value:
        return value
    for form in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(text, form)
        except ValueError:
            continue
        return parsed if form != "%Y-%m-%d" else parsed.date()
    if text.isdigit() and len(text) < 12:
        return int(text)
    try:
        number = Decimal(text)
    except ArithmeticError:
        return value
    return int(number) if number == number.to_integral_value() else float(number)

"""What the migration import must do with each row of a HubSpot or Salesforce export, and
what the dashboard must then show — from docs/migration.md and DESIGN.md alone.

This is the second opinion the acceptance test (test_migration_replay.py) holds the
implementation against: plain Python over the rows as strings, no Django ORM and nothing
from `smarketing.intake` or `reports` imported or imitated. Where this file and the import
disagree, one of them misreads the spec.

How the spec is read here, where it leaves room (each also in the test's report):

1. A Lifecycle Stage value with no default mapping ("Prospect") and none picked on the
   mapping page gives the row no stage: the row is refused.
2. Salesforce, Converted false, a Lead Status not in the table ("Nurturing"): `lead`, as
   "anything else mapped to lead" reads. (Not generated.)
3. A lost deal whose reason recycles it ends in `lead` *without* an owner, as Smarketing's own
   lose does ("a lead still with marketing has no owner"); the rep stays on the lost event.
   A loss that disqualifies keeps the rep as owner, as Smarketing's lose does.
4. A row disqualified while still with marketing (HubSpot "Unqualified" on a Lead or
   Subscriber; Salesforce "Closed - Not Converted") needs no owner and has none. The files
   leave their owner cell empty, so either reading of "a closed deal keeps any user who
   matches" gives the same lead.
5. A disqualified row's path goes as far as its Lifecycle Stage says or its dates show,
   whichever is further (the files never make these differ), and it is disqualified on the
   latest of all the dates the import reads in the row.
6. The date checks (ambiguous, unreadable, future, before 1970) apply to every date cell the
   import reads; the order check to the dates the steps take from their own columns (a date
   filled in from the next or previous step is in order by construction).
7. A date alone (Salesforce's Converted Date and Close Date are day fields) is midnight in
   the organisation's zone. So a lead converted on the day it was created would be
   "accepted before it was created" and refused: the files convert a day later at the
   earliest. (Real reports have such rows: worth a decision.)
8. Salesforce's Close Date of an *open* opportunity is its expected close date, often in the
   future; the spec refuses any future date. The files leave it empty on open deals.
9. The hand-off gate (profile fields, an engagement) is not applied to a migrated hand-off:
   the spec checks steps against the transition table only (no migrated lead has an
   engagement).
10. The lead's `created_at` is its created step's date: attribution counts the leads created
    in the range by it.
11. A row with no date at all is created (and, along its path, moved) at go-live: during the
    import's run, so in the week the import ran.
12. A repeated email is skipped as a duplicate of the first row when that first row was
    valid (as the everyday import does); the files repeat only valid rows.
13. An *active sales rep* is what `roles.is_active_sales_rep` says: an active user with the
    Sales rep role in a sales team (away or not).
14. Loss reasons match an agreed loss reason's label or code, ignoring case; any other goes
    to the first active loss reason by position ("Price", which recycles). A disqualified
    row takes the first active disqualification reason ("Spam or fake contact").
15. A customer row needs an amount (the win requires one): an empty Amount is refused, a
    negative one too. (Files always give customers an amount.) Its close date is the won
    step's day.
16. Salesforce's Converted: "true"/"false", "1"/"0", "yes"/"no" in any case; empty is false.
17. The weekly table's "entered lead" counts a lead once per week for any event moving it
    into `lead`: creation, and a loss that recycles it (DESIGN: "leads with an event moving
    them into S during W"; reports/metrics/funnel.py counts events with a to_stage other
    than the from_stage, distinct leads per week).
18. Revenue per week (not a column of the weekly table) is the sum of the won amounts of the
    leads won in the week.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from tests.reports import recount  # plain Python: business time, median and p90 as DESIGN.md says

LEAD, MQL, SQL, CUSTOMER, DISQUALIFIED = "lead", "mql", "sql", "customer", "disqualified"
LOST = "lost"  # an end, not a stage: the lead then is in lead or disqualified
STAGES = (LEAD, MQL, SQL, CUSTOMER, DISQUALIFIED)
ORDER = {LEAD: 0, MQL: 1, SQL: 2}

CREATED, FAILED, SKIPPED = "created", "failed", "skipped"

HUBSPOT, SALESFORCE = "hubspot", "salesforce"

# Agreed reasons (leads/migrations/0002_roles_and_reasons.py), in position order.
LOSS_REASONS = [  # (code, label, outcome)
    ("price", "Price", "recycle"),
    ("competitor", "Chose a competitor", "recycle"),
    ("no-decision", "No decision / went dark", "recycle"),
    ("timing", "Project postponed", "recycle"),
    ("missing-feature", "Missing feature", "recycle"),
    ("not-a-fit", "Not a fit after discovery", "disqualify"),
    ("company-closed", "Company closed or acquired", "disqualify"),
]
DEFAULT_DISQUALIFICATION = "spam"  # "Spam or fake contact", the first disqualification reason

# "Source values map as in the everyday import" (the values the files use).
SOURCES = {
    # HubSpot Original Source
    "Organic Search": "organic_search",
    "Paid Search": "paid_search",
    "Paid Social": "paid_social",
    "Social Media": "social",
    "Email Marketing": "email",
    "Direct Traffic": "website",
    "Referrals": "partner",
    "Offline Sources": "list_import",
    "Other Campaigns": "other",
    # Salesforce Lead Source
    "Web": "website",
    "Phone Inquiry": "other",
    "Partner Referral": "partner",
    "Purchased List": "list_import",
    "Trade Show": "event",
    "Advertisement": "paid_search",
    "Employee Referral": "referral",
    "Other": "other",
}
EMPTY_SOURCE = "list_import"

HUBSPOT_LIFECYCLE = {
    "subscriber": LEAD,
    "lead": LEAD,
    "other": LEAD,
    "": LEAD,
    "marketingqualifiedlead": MQL,
    "salesqualifiedlead": SQL,
    "opportunity": SQL,
    "customer": CUSTOMER,
    "evangelist": CUSTOMER,
}
SALESFORCE_UNCONVERTED = {
    "opennotcontacted": MQL,
    "workingcontacted": SQL,
    "closednotconverted": DISQUALIFIED,
}

# Field -> header, per system (headers compared ignoring case, spaces and punctuation).
COLUMNS = {
    HUBSPOT: {
        "email": ["Email"],
        "external_id": ["Record ID"],
        "lifecycle": ["Lifecycle Stage"],
        "status": ["Lead Status"],
        "owner": ["Contact owner"],
        "created": ["Create Date"],
        "became_lead": ["Became a Lead Date"],
        "mql": ["Became a Marketing Qualified Lead Date"],
        "sql": ["Became a Sales Qualified Lead Date"],
        "opportunity": ["Became an Opportunity Date"],
        "customer": ["Became a Customer Date"],
        "amount": ["Amount", "Recent Deal Amount"],
        "close": ["Close Date", "Recent Deal Close Date"],
        "loss_reason": ["Closed Lost Reason"],
        "source": ["Original Source"],
        "source_detail": ["Original Source Drill-Down 1"],
    },
    SALESFORCE: {
        "email": ["Email"],
        "external_id": ["Lead ID"],
        "status": ["Lead Status"],
        "owner": ["Lead Owner"],
        "created": ["Created Date"],
        "converted": ["Converted"],
        "converted_at": ["Converted Date"],
        "deal_stage": ["Stage"],
        "amount": ["Amount"],
        "close": ["Close Date"],
        "loss_reason": ["Loss Reason"],
        "source": ["Lead Source"],
    },
}
DATE_FIELDS = {
    HUBSPOT: ("created", "became_lead", "mql", "sql", "opportunity", "customer", "close"),
    SALESFORCE: ("created", "converted_at", "close"),
}
# Each step's own date: the first of these columns that has one.
STEP_DATES = {
    HUBSPOT: {
        "created": ("created", "became_lead"),
        "qualified": ("mql",),
        "accepted": ("sql", "opportunity"),
        "won": ("customer", "close"),
        "lost": ("close",),
    },
    SALESFORCE: {
        "created": ("created",),
        "qualified": (),
        "accepted": ("converted_at",),
        "won": ("close",),
        "lost": ("close",),
    },
}
TARGET = {"created": LEAD, "qualified": MQL, "accepted": SQL, "won": CUSTOMER}
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
AMBIGUOUS = re.compile(r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?:[ T].*)?")
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}")


def key(text: str) -> str:
    """Case-, accent-, space- and punctuation-insensitive form of a header or value."""
    folded = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(c for c in folded if c.isalnum())


class Refused(Exception):
    def __init__(self, problem: str, detail: str):
        super().__init__(detail)
        self.problem, self.detail = problem, detail


@dataclass(frozen=True)
class Step:
    type: str  # created | qualified | accepted | won | lost | disqualified
    from_stage: str
    to_stage: str
    at: dt.datetime | None  # None: go-live (the row had no date at all)
    reason: str | None = None  # the agreed reason's code (lost, disqualified)


@dataclass
class Expected:
    row: int
    email: str  # normalised
    outcome: str  # created | skipped | failed
    problem: str = ""  # for skipped and failed rows: which rule (the files' kinds)
    detail: str = ""
    stage: str | None = None
    owner: str | None = None  # the owner's email (normalised), or None
    source: str | None = None
    amount: Decimal | None = None
    closed_on: dt.date | None = None
    recycle_count: int = 0
    external_id: str = ""
    source_detail: str = ""
    steps: list[Step] = field(default_factory=list)
    # Speed to lead of its response: the business time from hand-off to acceptance, when the
    # file dates both (docs/migration.md); None otherwise.
    response_seconds: int | None = None

    @property
    def created_at(self) -> dt.datetime | None:
        return self.steps[0].at if self.steps else None


# --- reading one row ---------------------------------------------------------------------------


def _columns(system: str, header: Sequence[str]) -> dict[str, int]:
    """Field -> column index, for the fields this system's export has."""
    by_key = {key(h): i for i, h in reversed(list(enumerate(header)))}
    found = {}
    for name, headers in COLUMNS[system].items():
        for h in headers:
            if key(h) in by_key:
                found[name] = by_key[key(h)]
                break
    return found


def parse_date(value: str, tz: ZoneInfo, now: dt.datetime) -> dt.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    if AMBIGUOUS.fullmatch(value):
        raise Refused("ambiguous_date", f"“{value}” is ambiguous")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Refused("unreadable_date", f"“{value}” is not a date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if parsed > now:
        raise Refused("future_date", f"“{value}” is in the future")
    if parsed < EARLIEST:
        raise Refused("date_before_1970", f"“{value}” is before 1970")
    return parsed


def _truth(value: str) -> bool:
    text = (value or "").strip().casefold()
    if text in ("", "false", "0", "no"):
        return False
    if text in ("true", "1", "yes"):
        return True
    raise Refused("unknown_converted", f"Converted “{value}” is neither true nor false")


def _end(system: str, cells: dict[str, str]) -> tuple[str, str]:
    """(how the row ends: a stage or LOST, the furthest stage its stage columns say it reached)."""
    if system == HUBSPOT:
        lifecycle = cells.get("lifecycle", "")
        if key(lifecycle) not in HUBSPOT_LIFECYCLE:
            raise Refused("unknown_stage", f"Lifecycle Stage “{lifecycle}” maps to no stage")
        reached = HUBSPOT_LIFECYCLE[key(lifecycle)]
        if key(cells.get("status", "")) == "unqualified":
            if reached == CUSTOMER:
                raise Refused("illegal_path", "a customer cannot be disqualified")
            return DISQUALIFIED, reached
        lost = cells.get("loss_reason", "").strip() or key(cells.get("deal_stage", "")) == "closedlost"
        if reached == SQL and lost:
            return LOST, SQL
        return reached, reached
    if _truth(cells.get("converted", "")):
        stage = key(cells.get("deal_stage", ""))
        if stage == "closedwon":
            return CUSTOMER, CUSTOMER
        if stage == "closedlost":
            return LOST, SQL
        return SQL, SQL
    end = SALESFORCE_UNCONVERTED.get(key(cells.get("status", "")), LEAD)
    return end, LEAD if end == DISQUALIFIED else end


def _owner(value: str, people: Iterable) -> object | None:
    wanted = (value or "").strip().casefold()
    if not wanted:
        return None
    for person in people:
        if wanted in (person.email.casefold(), f"{person.first_name} {person.last_name}".casefold()):
            return person
    return None


def _loss_reason(value: str) -> tuple[str, str]:
    wanted = (value or "").strip().casefold()
    for code, label, outcome in LOSS_REASONS:
        if wanted in (code.casefold(), label.casefold()):
            return code, outcome
    code, _, outcome = LOSS_REASONS[0]
    return code, outcome


def _amount(value: str) -> Decimal:
    text = (value or "").strip()
    if not text:
        raise Refused("missing_amount", "a customer needs the deal amount")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise Refused("unreadable_amount", f"Amount “{value}” is not a number") from None
    if amount < 0:
        raise Refused("negative_amount", f"Amount “{value}” is negative")
    return amount.quantize(Decimal("0.01"))


def _plan(system: str, cells: dict[str, str], *, people, tz: ZoneInfo, now: dt.datetime) -> Expected:
    """A valid row's lead and path (`Refused` for a row the import must refuse)."""
    raw = cells.get("email", "")
    email = raw.strip().casefold()
    if not email:
        raise Refused("invalid_email", "no email")
    if not EMAIL.fullmatch(email) or ".." in email:
        raise Refused("invalid_email", f"“{raw}” is not a valid email address")
    dates = {name: parse_date(cells.get(name, ""), tz, now) for name in DATE_FIELDS[system]}
    end, reached = _end(system, cells)
    own = {
        step: next((dates[c] for c in columns if dates.get(c) is not None), None)
        for step, columns in STEP_DATES[system].items()
    }
    if end == DISQUALIFIED:  # as far as its stage or its dates say (reading 5)
        if own["accepted"] is not None:
            reached = SQL
        elif own["qualified"] is not None and ORDER[reached] < ORDER[MQL]:
            reached = MQL
    path = ["created"]
    furthest = {LEAD: LEAD, MQL: MQL, SQL: SQL, CUSTOMER: SQL, LOST: SQL, DISQUALIFIED: reached}[end]
    if ORDER[furthest] >= ORDER[MQL]:
        path.append("qualified")
    if ORDER[furthest] >= ORDER[SQL]:
        path.append("accepted")
    if end in (CUSTOMER, LOST):
        path.append("won" if end == CUSTOMER else "lost")
    if end == DISQUALIFIED:
        path.append("disqualified")
        present = [d for d in dates.values() if d is not None]
        own["disqualified"] = max(present) if present else None
    # In order: a step dated before the one it follows refuses the row.
    previous: tuple[str, dt.datetime] | None = None
    for step in path:
        moment = own.get(step)
        if moment is None:
            continue
        if previous is not None and moment < previous[1]:
            raise Refused(
                "dates_out_of_order",
                f"{step} on {moment:%Y-%m-%d}, before {previous[0]} on {previous[1]:%Y-%m-%d}",
            )
        previous = (step, moment)
    # A missing step takes the next known date, else the previous one; none: go-live.
    at: list[dt.datetime | None] = [own.get(step) for step in path]
    for i in range(len(path)):
        if at[i] is None:
            later = next((d for d in at[i + 1 :] if d is not None), None)
            at[i] = later if later is not None else (at[i - 1] if i else None)
    # Owner (an MQL, SQL, customer or lost deal; a disqualified one handed to sales).
    open_lead = end in (MQL, SQL)
    needs_owner = end in (MQL, SQL, CUSTOMER, LOST) or (end == DISQUALIFIED and ORDER[reached] >= ORDER[MQL])
    owner = None
    if needs_owner:
        person = _owner(cells.get("owner", ""), people)
        if person is None:
            raise Refused("unknown_owner", f"owner “{cells.get('owner', '')}” matches no user")
        if open_lead and not (person.is_active and person.is_sales_rep):
            raise Refused("inactive_owner", f"owner “{cells.get('owner', '')}” is not an active sales rep")
        owner = person.email.casefold()
    amount = _amount(cells.get("amount", "")) if end == CUSTOMER else None
    source_value = (cells.get("source") or "").strip()
    source = SOURCES.get(source_value) if source_value else EMPTY_SOURCE
    if source is None:
        source = next((code for label, code in SOURCES.items() if key(label) == key(source_value)), None)
        if source is None:
            raise Refused("unknown_source", f"source “{source_value}” maps to no source")
    # The steps, from stage to stage.
    expected = Expected(
        row=0,
        email=email,
        outcome=CREATED,
        source=source,
        amount=amount,
        external_id=(cells.get("external_id") or "").strip(),
        source_detail=(cells.get("source_detail") or "").strip(),
    )
    stage = ""
    for step, moment in zip(path, at, strict=True):
        reason = None
        if step in TARGET:
            to = TARGET[step]
        elif step == "lost":
            reason, outcome = _loss_reason(cells.get("loss_reason", ""))
            to = LEAD if outcome == "recycle" else DISQUALIFIED
        else:
            reason, to = DEFAULT_DISQUALIFICATION, DISQUALIFIED
        expected.steps.append(Step(step, stage, to, moment, reason))
        stage = to
    expected.stage = stage
    if end == LOST and stage == LEAD:
        expected.recycle_count = 1
    keeps_owner = stage in (MQL, SQL, CUSTOMER) or (stage == DISQUALIFIED and owner is not None)
    expected.owner = owner if keeps_owner else None
    if end == CUSTOMER and at[-1] is not None:
        expected.closed_on = at[-1].astimezone(tz).date()
    if own.get("qualified") is not None and own.get("accepted") is not None:
        handed = next(step.at for step in expected.steps if step.type == "qualified")
        answered = next(step.at for step in expected.steps if step.type == "accepted")
        expected.response_seconds = recount.business_seconds(handed, max(answered, handed))
    return expected


def expected_import(
    system: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    people: Iterable,
    now: dt.datetime,
    tz: str | ZoneInfo = "Europe/Berlin",
    existing: Iterable[str] = (),
) -> list[Expected]:
    """What the import does with each row, in file order. `people` are the users an owner
    cell may name (objects with first_name, last_name, email, is_active, is_sales_rep);
    `existing` the (normalised) emails already in Smarketing; `now` the moment the import
    reads the file (dates after it are in the future)."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    people = list(people)
    columns = _columns(system, header)
    if "email" not in columns:
        raise ValueError("the file has no Email column")
    known = {e.casefold() for e in existing}
    seen: dict[str, int] = {}
    results = []
    for index, row in enumerate(rows):
        number = index + 2
        cells = {name: (row[i] if i < len(row) else "") for name, i in columns.items()}
        try:
            expected = _plan(system, cells, people=people, tz=zone, now=now)
        except Refused as refused:
            email = (cells.get("email") or "").strip().casefold()
            results.append(Expected(number, email, FAILED, refused.problem, refused.detail))
            continue
        expected.row = number
        if expected.email in known:
            results.append(Expected(number, expected.email, SKIPPED, "existing", "already in Smarketing"))
        elif expected.email in seen:
            first = seen[expected.email]
            results.append(Expected(number, expected.email, SKIPPED, "duplicate_email", f"row {first}"))
        else:
            seen[expected.email] = number
            results.append(expected)
    return results


def counts(results: Iterable[Expected]) -> dict[str, int]:
    tally = {CREATED: 0, SKIPPED: 0, FAILED: 0}
    for result in results:
        tally[result.outcome] += 1
    return tally


def created(results: Iterable[Expected]) -> list[Expected]:
    return [r for r in results if r.outcome == CREATED]


# --- the dashboard's figures ---------------------------------------------------------------------


def monday_of(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    day = moment.astimezone(tz).date()
    return day - dt.timedelta(days=day.weekday())


def last_mondays(now: dt.datetime, tz: str | ZoneInfo = "Europe/Berlin", count: int = 12) -> list[dt.date]:
    """The Mondays of the `count` ISO weeks up to `now`'s, oldest first."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    this = monday_of(now, zone)
    return [this - dt.timedelta(weeks=back) for back in range(count - 1, -1, -1)]


@dataclass
class WeekFigures:
    monday: dt.date
    entered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    accepted: int = 0  # leads accepted in the week
    rejected: int = 0
    won: int = 0
    lost: int = 0
    responses: int = 0  # accept + reject events
    closes: int = 0  # win + loss events
    revenue: Decimal = Decimal("0.00")
    speeds: list[int] = field(default_factory=list)  # business seconds of the measured responses

    def speed_row(self) -> dict:
        """As the speed-to-lead table of the dashboard API gives it."""
        median = recount.median(self.speeds)
        return {
            "week": self.monday.isoformat(),
            "responses": len(self.speeds),
            "median_seconds": None if median is None else round(median, 4),
            "p90_seconds": recount.p90(self.speeds),
        }

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.responses if self.responses else None

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closes if self.closes else None

    def table_row(self) -> dict:
        """As the weekly table of the dashboard API gives it (ratios to 4 places)."""
        return {
            "week": self.monday.isoformat(),
            **self.entered,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "won": self.won,
            "lost": self.lost,
            "responses": self.responses,
            "acceptance_rate": None if self.acceptance_rate is None else round(self.acceptance_rate, 4),
            "closes": self.closes,
            "win_rate": None if self.win_rate is None else round(self.win_rate, 4),
        }


def _when(step: Step, go_live: dt.datetime) -> dt.datetime:
    return step.at if step.at is not None else go_live


def weekly_figures(
    leads: Iterable[Expected],
    mondays: Sequence[dt.date],
    *,
    go_live: dt.datetime,
    tz: str | ZoneInfo = "Europe/Berlin",
) -> dict[dt.date, WeekFigures]:
    """Per week (Monday): leads that entered each stage (each lead once per stage and week),
    the leads accepted, rejected, won and lost, the responses and outcomes behind the rates,
    and the revenue won. `go_live`: when the rows without any date were imported."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    weeks = {monday: WeekFigures(monday) for monday in mondays}
    entered: dict[tuple[dt.date, str], set[str]] = defaultdict(set)
    for lead in leads:
        if lead.outcome != CREATED:
            continue
        for step in lead.steps:
            week = weeks.get(monday_of(_when(step, go_live), zone))
            if week is None:
                continue
            if step.to_stage and step.to_stage != step.from_stage:
                entered[(week.monday, step.to_stage)].add(lead.email)
            if step.type == "accepted":
                week.accepted += 1
                week.responses += 1
                if lead.response_seconds is not None:
                    week.speeds.append(lead.response_seconds)
            elif step.type == "won":
                week.won += 1
                week.closes += 1
                week.revenue += lead.amount or Decimal(0)
            elif step.type == "lost":
                week.lost += 1
                week.closes += 1
    for (monday, stage), emails in entered.items():
        weeks[monday].entered[stage] = len(emails)
    return weeks


@dataclass
class Attribution:
    leads: int = 0
    mqls: int = 0
    sqls: int = 0
    customers: int = 0
    revenue: Decimal = Decimal("0.00")


def attribution_by_source(
    leads: Iterable[Expected],
    first: dt.date,
    last: dt.date,
    *,
    go_live: dt.datetime,
    tz: str | ZoneInfo = "Europe/Berlin",
) -> dict[str, Attribution]:
    """Per first-touch source, the leads created in the weeks `first`..`last` (Mondays) and
    how many of them ever became MQL, SQL and customer, and the revenue their wins brought."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    result: dict[str, Attribution] = {}
    for lead in leads:
        if lead.outcome != CREATED:
            continue
        if not first <= monday_of(_when(lead.steps[0], go_live), zone) <= last:
            continue
        row = result.setdefault(lead.source, Attribution())
        types = {step.type for step in lead.steps}
        row.leads += 1
        row.mqls += "qualified" in types
        row.sqls += "accepted" in types
        if "won" in types:
            row.customers += 1
            row.revenue += lead.amount or Decimal(0)
    return result

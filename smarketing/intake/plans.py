"""What each row of an import does: its cells parsed and checked (`parse_row`), then, a chunk
at a time, its duplicates resolved against the database and the file (`plan_chunk`):
create, update (fill blank fields, record a newer consent answer), skip, or fail with its
row number and reason."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from leads import services
from leads.models import Consent, ConsentMethod, EventType, Lead, LeadEvent, normalize_email
from leads.services.consent import WORDING_MAX
from smarketing.core.errors import ActionError
from smarketing.core.lookups import Values
from smarketing.intake import reading
from smarketing.intake import values as intake_values
from smarketing.intake.models import ImportJob
from smarketing.org.models import Campaign

log = logging.getLogger(__name__)


# --- what one row does -----------------------------------------------------------------------


@dataclass
class RowPlan:
    row_number: int
    outcome: str  # "create", "update", "skip", "fail"
    message: str = ""
    email: str = ""
    lead_id: int | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    campaign: Campaign | None = None
    origin: dict[str, Any] = field(default_factory=dict)
    fill: dict[str, Any] = field(default_factory=dict)
    # The person's answer on marketing contact as `services.consent_clean` made it ({}:
    # none); `consent_dated`: the row said when it was given (else it is as of the import).
    consent: dict[str, Any] = field(default_factory=dict)
    consent_dated: bool = False
    history: Any = None  # a migration's row: the path its lead took (leads.services.History)


class Memo:
    """A pure cell parser, remembered per distinct cell value: a file repeats its
    countries, sources, stages and company sizes thousands of times. A ValueError is
    remembered too (as its message). Bounded, so memory stays flat on any file."""

    LIMIT = 5000

    def __init__(self, parse: Callable[[Any], Any]):
        self.parse = parse
        self.seen: dict[Hashable, tuple[bool, Any]] = {}

    def __call__(self, value: Hashable) -> Any:
        hit = self.seen.get(value)
        if hit is None:
            try:
                hit = (True, self.parse(value))
            except ValueError as exc:
                hit = (False, str(exc))
            if len(self.seen) >= self.LIMIT:
                self.seen.clear()
            self.seen[value] = hit
        ok, result = hit
        if not ok:
            raise ValueError(result)
        return result


class Context:
    """What a run needs besides the row: the job's choices and lookups done once."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.mapping = dict(job.mapping)
        self.columns = [(header, target) for header, target in self.mapping.items() if target]
        self.campaign = job.campaign
        self.origin = {"import_job": job.pk}
        self.tz = ZoneInfo(settings.SMARKETING_TIME_ZONE)
        self.campaigns = {c.name.casefold(): c for c in Campaign.objects.all()}
        self.company_size = Memo(intake_values.parse_company_size)
        self.country = Memo(intake_values.parse_country)
        self.stage = Memo(intake_values.parse_stage)
        self.source = Memo(intake_values.parse_source)
        self.lawful_basis = Memo(intake_values.parse_lawful_basis)
        self.reads_consent = any(target in intake_values.CONSENT_FIELDS for _, target in self.columns)
        # A row's consent cells together (`row_consent`): a file repeats its answers, wordings
        # and dates, and each distinct set is checked once. Its answer's time, when the row
        # does not say it, is when the import first read that set: as of the import.
        self.consent = Memo(
            lambda cells: row_consent(dict(zip(intake_values.CONSENT_FIELDS, cells, strict=True)), self)
        )
        opted_out = next((header for header, target in self.columns if target == "opted_out"), "")
        # What an opt-out answered to, when the row says no more (Salesforce's checkbox).
        self.opt_out_wording = f"Opted out of email (“{opted_out}” in {job.file_name})"[:WORDING_MAX]

    def parse_row(self, row_number: int, cells: dict[str, str]) -> RowPlan:
        return parse_row(row_number, cells, self)

    def plan_chunk(self, rows: list[tuple[int, dict[str, str]]]) -> list[RowPlan]:
        return plan_chunk(rows, self)


def parse_row(row_number: int, cells: dict[str, str], ctx: Context) -> RowPlan:
    """Parse and validate one row without touching leads. Fails with the first problem."""
    job = ctx.job
    values = {target: value for header, target in ctx.columns if (value := cells.get(header))}
    plan = RowPlan(row_number=row_number, outcome="create")
    email = normalize_email(values.get("email", ""))
    plan.email = email
    try:
        if not email:
            raise ValueError("No email address: every lead needs one.")
        if not services.email_valid(email):
            raise ValueError(f"“{values['email']}” is not a valid email address.")
        profile: dict[str, Any] = {}
        if "full_name" in values and not (values.get("first_name") or values.get("last_name")):
            profile["first_name"], profile["last_name"] = intake_values.split_full_name(values["full_name"])
        for name in ("first_name", "last_name", "phone", "company", "job_title"):
            if values.get(name):
                profile[name] = values[name]
        if values.get("company_size"):
            profile["company_size"] = ctx.company_size(values["company_size"])
        if values.get("country"):
            profile["country"] = ctx.country(values["country"])
        if values.get("website"):
            website = values["website"]
            profile["website"] = website if "://" in website else f"https://{website}"
        ctx.stage(values.get("stage", ""))
        plan.source = ctx.source(values["source"]) if values.get("source") else job.default_source
        plan.campaign = ctx.campaign
        if values.get("campaign"):
            plan.campaign = ctx.campaigns.get(values["campaign"].casefold())
            if plan.campaign is None:
                raise ValueError(
                    f"Unknown campaign “{values['campaign']}”: create it first on the Campaigns page "
                    f"({settings.SMARKETING_BASE_URL}/campaigns/new/), or leave the cell empty."
                )
        original = intake_values.parse_datetime(values.get("created_at", ""), ctx.tz)
        if ctx.reads_consent:
            cells = tuple(values.get(name, "") for name in intake_values.CONSENT_FIELDS)
            plan.consent = ctx.consent(cells) if any(cells) else {}
            plan.consent_dated = bool(values.get("consent_at"))
    except ValueError as exc:
        plan.outcome, plan.message = "fail", str(exc)
        return plan
    try:
        cleaned = services.lead_profile_validate({"email": email, **profile})
        plan.profile = {k: v for k, v in cleaned.items() if k != "email" and v not in (None, "")}
    except ActionError as exc:
        plan.outcome, plan.message = "fail", exc.message
        return plan
    plan.origin = {**ctx.origin, "import_row": row_number}
    if original is not None:
        plan.origin["original_created_at"] = original.isoformat()
    if values.get("external_id"):
        plan.origin["external_id"] = values["external_id"][:200]
    return plan


def plan_chunk(rows: list[tuple[int, dict[str, str]]], ctx: Context) -> list[RowPlan]:
    """Plans for a chunk of rows, duplicates resolved against the database and the file:
    one look-up of the chunk's emails, one of the leads this import created among them."""
    plans = getattr(rows, "plans", None) or [ctx.parse_row(n, cells) for n, cells in rows]
    emails = {p.email for p in plans if p.outcome == "create"}
    existing: dict[str, Lead] = {}
    found = ids_of_emails(emails)
    if found:
        for lead in Lead.objects.filter(pk__in=found).select_related("merged_into"):
            existing[lead.email] = lead.merged_into if lead.merged_into_id else lead
    # Leads this import created in an earlier chunk: a duplicate within the file.
    from_this_file = {
        event.lead_id: event.data.get("import_row")
        for event in LeadEvent.objects.filter(
            type=EventType.CREATED,
            lead__in=[lead.pk for lead in existing.values()],
            data__import_job=ctx.job.pk,
        ).only("lead_id", "data")
    }
    seen_in_chunk: dict[str, int] = {}
    for plan in plans:
        if plan.outcome != "create":
            continue
        first_row = seen_in_chunk.get(plan.email)
        if first_row is None and plan.email in existing:
            first_row = from_this_file.get(existing[plan.email].pk)
        if first_row is not None:
            plan.outcome = "skip"
            plan.message = f"Duplicate of row {first_row} in this file."
            continue
        seen_in_chunk[plan.email] = plan.row_number
        lead = existing.get(plan.email)
        if lead is None:
            continue
        plan.lead_id = lead.pk
        plan.fill = {k: v for k, v in plan.profile.items() if getattr(lead, k) in (None, "")}
        if not consent_is_news(plan, lead):
            plan.consent = {}
        if plan.fill or plan.consent:
            plan.outcome = "update"
            plan.message = update_message(lead.pk, plan.fill, plan.consent)
        else:
            plan.outcome = "skip"
            plan.message = f"Already in Smarketing as lead {lead.pk}; nothing new in this row."
    return plans


def row_consent(values: dict[str, str], ctx: Context) -> dict[str, Any]:
    """The row's answer on marketing contact, checked by the one check of an answer
    (`services.consent_clean`, how: the import): {} when the row gives none. A consent
    cell may say yes or no; an opted-out-of-email cell that is true is a refusal (its
    wording the column's, unless the row has one). ValueError says what is wrong."""
    answer = intake_values.consent_answer(values.get("consent", ""))
    wording = values.get("consent_wording", "")
    if intake_values.parse_opted_out(values.get("opted_out", "")):
        if intake_values.label_key(answer) == Consent.GIVEN:
            raise ValueError(
                f"Consent “{values['consent'].strip()}” and opted out of email “{values['opted_out'].strip()}” "
                "contradict each other: keep one."
            )
        answer, wording = answer or Consent.REFUSED, wording or ctx.opt_out_wording
    try:
        return services.consent_clean(
            {
                "consent": answer,
                "consent_at": intake_values.parse_datetime(
                    values.get("consent_at", ""), ctx.tz, what="consent date"
                ),
                "consent_wording": wording,
                "lawful_basis": ctx.lawful_basis(values.get("lawful_basis", "")),
            },
            method=ConsentMethod.IMPORT,
        )
    except ActionError as exc:
        raise ValueError(exc.message) from None


def consent_is_news(plan: RowPlan, lead: Lead) -> bool:
    """Whether a row's answer is recorded on a lead already here: the lead has none, or
    the row's is newer. An answer the row does not date is as of the import: it counts
    only when it says something else than the lead's (so importing a file again records
    nothing twice)."""
    answer = plan.consent
    if not answer.get("consent"):
        return False  # a lawful basis alone is recorded on new leads only
    if lead.consent_at is None:
        return True
    if answer["consent_at"] <= lead.consent_at:
        return False
    return plan.consent_dated or (answer["consent"], answer["consent_wording"]) != (
        lead.consent,
        lead.consent_wording,
    )


def update_message(lead_id: int, filled: Any, consent: dict[str, Any]) -> str:
    """What a row did to a lead already here."""
    done = [f"Filled {', '.join(k.replace('_', ' ') for k in filled)}"] if filled else []
    if consent:
        recorded = f"consent ({Consent(consent['consent']).label.lower()})"
        done.append(f"recorded {recorded}" if done else f"Recorded {recorded}")
    return f"{' and '.join(done)} on lead {lead_id}."


def ids_of_emails(emails: set[str]) -> list[int]:
    """The ids of the leads with these (normalised) emails; a chunk's emails are mostly
    new, so only the few found are then loaded. The emails go as one array parameter
    (smarketing.core.lookups), not as a thousand placeholders.

    On PostgreSQL, one probe of the unique email index per email: for a chunk's two
    thousand emails the planner would otherwise scan the whole table while it holds fewer
    than a few hundred thousand leads (20 ms a chunk at 100,000), however few it finds."""
    if not emails:
        return []
    if connection.vendor != "postgresql":
        return list(Lead.objects.filter(email__any=Values(emails)).values_list("pk", flat=True))
    quote, meta = connection.ops.quote_name, Lead._meta
    table, pk, email = quote(meta.db_table), quote(meta.pk.column), quote(meta.get_field("email").column)
    # OFFSET 0 keeps the subquery a probe per email (not pulled up into a hash join).
    sql = (
        f"SELECT found.id FROM unnest(%s::text[]) AS wanted(email) CROSS JOIN LATERAL "  # noqa: S608
        f"(SELECT {pk} AS id FROM {table} WHERE {email} = wanted.email OFFSET 0) AS found"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Values(emails).literal()])
        return [row[0] for row in cursor.fetchall()]


def chunks(
    rows: Iterable[tuple[int, dict[str, str]]], size: int
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def file_format(job: ImportJob) -> reading.FileFormat:
    return reading.FileFormat(encoding=job.encoding, delimiter=job.delimiter, headers=list(job.headers))

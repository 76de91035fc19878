"""CSV import of leads: upload, map columns, preview, then a background job.

The file is read by `smarketing.intake.reading` (encodings, delimiters, headers, value parsers);
this module decides what each row does against the database and records it:

* a new email → a lead created through `services.lead_create` (source and campaign as
  first touch, the created event saying which import and row it came from);
* an email already in Smarketing → blank profile fields filled from the row through
  `services.lead_update` ("updated"), or nothing to add ("skipped as duplicate"); a
  lead's first touch and non-blank fields are never overwritten;
* a second row with an email seen earlier in the same file → skipped as duplicate;
* anything invalid → failed, with its row number and reason, kept with its cells so the
  failed rows can be downloaded, fixed and imported again.

So importing the same file twice creates nothing new. The job runs in chunks: each chunk's
leads and the job's counters commit together, so a worker killed mid-way resumes after
the last committed row without losing or double-counting anything. Memory stays flat:
rows stream from disk, and duplicate detection asks the database, not a growing set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leads import services
from leads.models import EventType, Lead, LeadEvent, normalize_email
from smarketing.agreement import scoring
from smarketing.core import bulk
from smarketing.core.csvs import csv_lines
from smarketing.core.errors import ActionError
from smarketing.core.lookups import Values
from smarketing.core.queue import on_commit_enqueue
from smarketing.intake import reading, tasks
from smarketing.intake import values as intake_values
from smarketing.intake.models import ImportJob, ImportRow, ImportStatus, RowOutcome
from smarketing.org import roles
from smarketing.org.models import Campaign, Source

log = logging.getLogger(__name__)

# Rows per transaction: a chunk's fixed costs (the job row, look-ups, statements, commit)
# are shared by more rows with 2,000 than with 1,000 (5–10% faster at a million leads).
CHUNK_ROWS = 2000
READ_AHEAD_SWITCH = 0.0005  # seconds (see _read_ahead)
PREVIEW_ROWS = 1000
PROFILE_FIELDS = services.PROFILE_FIELDS


# --- upload and mapping ----------------------------------------------------------------------


def _require_importer(actor) -> None:
    if not roles.can_import(actor):
        raise ActionError("Only marketing can import leads.", code=ActionError.FORBIDDEN)


def import_upload(*, actor, uploaded: Any, file_name: str | None = None) -> ImportJob:
    """Store the file, work out how to read it and propose a column mapping."""
    _require_importer(actor)
    name = file_name or getattr(uploaded, "name", "") or "upload.csv"
    limit = settings.SMARKETING_IMPORT_MAX_MB * 1024 * 1024
    size = getattr(uploaded, "size", None)
    if size is not None and size > limit:
        raise ActionError(
            f"The file is {size / 1024 / 1024:.0f} MB; the limit is {settings.SMARKETING_IMPORT_MAX_MB} MB. "
            "Split it into smaller files.",
            field="file",
        )
    folder = Path(settings.SMARKETING_IMPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    digest = hashlib.sha256()
    written = 0
    chunks = uploaded.chunks() if hasattr(uploaded, "chunks") else iter(lambda: uploaded.read(1 << 16), b"")
    with path.open("wb") as out:
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise ActionError(
                    f"The file is larger than {settings.SMARKETING_IMPORT_MAX_MB} MB. Split it into smaller files.",
                    field="file",
                )
            digest.update(chunk)
            out.write(chunk)
    try:
        fmt = reading.sniff(path)
    except reading.ImportFileError as exc:
        path.unlink(missing_ok=True)
        raise ActionError(exc.message, field="file") from None
    mapping = intake_values.guess_mapping(fmt.headers)
    return ImportJob.objects.create(
        created_by=actor,
        file_name=name[:255],
        stored_path=str(path),
        file_size=written,
        sha256=digest.hexdigest(),
        encoding=fmt.encoding,
        delimiter=fmt.delimiter,
        headers=fmt.headers,
        mapping=mapping,
        rows_estimate=fmt.row_count_estimate,
    )


def _job_for(actor, job_id: int, *, lock: bool = False) -> ImportJob:
    queryset = ImportJob.objects.select_for_update() if lock else ImportJob.objects
    job = queryset.filter(pk=job_id).first()
    if job is None:
        raise ActionError(f"Import {job_id} does not exist.", code=ActionError.NOT_FOUND)
    _require_importer(actor)
    return job


def _check_mapping(headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    errors: list[str] = []
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if header not in headers:
            errors.append(f"The file has no column “{header}”.")
        elif target not in intake_values.FIELDS:
            errors.append(f"“{target}” is not a lead field an import can fill.")
        elif target in used:
            errors.append(
                f"Both “{used[target]}” and “{header}” are mapped to {intake_values.FIELDS[target]}: choose one."
            )
        else:
            used[target] = header
            cleaned[header] = target
    if "email" not in used and not errors:
        errors.append(
            "No column is mapped to Email. Every lead needs an email address: "
            "map the column that holds it (columns: " + ", ".join(f"“{h}”" for h in headers if h) + ")."
        )
    if errors:
        raise ActionError(" ".join(errors), field="mapping")
    return cleaned


@transaction.atomic
def import_configure(
    *,
    actor,
    job_id: int,
    mapping: dict[str, str] | None = None,
    default_source: str | None = None,
    campaign: Campaign | int | None = None,
) -> ImportJob:
    """Change the mapping, the source for rows without one, or the campaign, before the start."""
    job = _job_for(actor, job_id, lock=True)
    if job.status != ImportStatus.MAPPING:
        raise ActionError(
            "This import has started; its mapping can no longer change.", code=ActionError.WRONG_STAGE
        )
    if mapping is not None:
        job.mapping = _check_mapping(job.headers, mapping)
    if default_source is not None:
        if default_source not in Source.values:
            raise ActionError(f"“{default_source}” is not a known source.", field="default_source")
        job.default_source = default_source
    if campaign is not None:
        if isinstance(campaign, Campaign):
            job.campaign = campaign
        else:
            job.campaign = Campaign.objects.filter(pk=campaign).first() if campaign != "" else None
            if campaign != "" and job.campaign is None:
                raise ActionError("That campaign does not exist.", field="campaign")
    job.save()
    return job


@transaction.atomic
def import_start(*, actor, job_id: int) -> ImportJob:
    job = _job_for(actor, job_id, lock=True)
    if job.status != ImportStatus.MAPPING:
        raise ActionError("This import has already started.", code=ActionError.WRONG_STAGE)
    job.mapping = _check_mapping(job.headers, job.mapping)
    job.status = ImportStatus.QUEUED
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["mapping", "status", "heartbeat_at"])
    on_commit_enqueue(tasks.import_run, job.pk)
    return job


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


class _Memo:
    """A pure cell parser, remembered per distinct cell value: a file repeats its
    countries, sources, stages and company sizes thousands of times. A ValueError is
    remembered too (as its message). Bounded, so memory stays flat on any file."""

    LIMIT = 5000

    def __init__(self, parse: Callable[[str], Any]):
        self.parse = parse
        self.seen: dict[str, tuple[bool, Any]] = {}

    def __call__(self, value: str) -> Any:
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


class _Context:
    """What a run needs besides the row: the job's choices and lookups done once."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.mapping = dict(job.mapping)
        self.columns = [(header, target) for header, target in self.mapping.items() if target]
        self.campaign = job.campaign
        self.origin = {"import_job": job.pk}
        self.tz = ZoneInfo(settings.SMARKETING_TIME_ZONE)
        self.campaigns = {c.name.casefold(): c for c in Campaign.objects.all()}
        self.company_size = _Memo(intake_values.parse_company_size)
        self.country = _Memo(intake_values.parse_country)
        self.stage = _Memo(intake_values.parse_stage)
        self.source = _Memo(intake_values.parse_source)


def _parse(row_number: int, cells: dict[str, str], ctx: _Context) -> RowPlan:
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
                    f"Unknown campaign “{values['campaign']}”: create it first, or leave the cell empty."
                )
        original = intake_values.parse_datetime(values.get("created_at", ""), ctx.tz)
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


def _plan_chunk(rows: list[tuple[int, dict[str, str]]], ctx: _Context) -> list[RowPlan]:
    """Plans for a chunk of rows, duplicates resolved against the database and the file:
    one look-up of the chunk's emails, one of the leads this import created among them."""
    plans = getattr(rows, "plans", None) or [_parse(n, cells, ctx) for n, cells in rows]
    emails = {p.email for p in plans if p.outcome == "create"}
    existing: dict[str, Lead] = {}
    found = _ids_of_emails(emails)
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
        if plan.fill:
            plan.outcome = "update"
            plan.message = f"Filled {', '.join(k.replace('_', ' ') for k in plan.fill)} on lead {lead.pk}."
        else:
            plan.outcome = "skip"
            plan.message = f"Already in Smarketing as lead {lead.pk}; nothing new in this row."
    return plans


def _ids_of_emails(emails: set[str]) -> list[int]:
    """The ids of the leads with these (normalised) emails; a chunk's emails are mostly
    new, so only the few found are then loaded. The emails go as one array parameter
    (smarketing.core.lookups), not as a thousand placeholders."""
    if not emails:
        return []
    return list(Lead.objects.filter(email__any=Values(emails)).values_list("pk", flat=True))


def _chunks(
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


def _fmt(job: ImportJob) -> reading.FileFormat:
    return reading.FileFormat(encoding=job.encoding, delimiter=job.delimiter, headers=list(job.headers))


# --- preview ---------------------------------------------------------------------------------


@dataclass
class Preview:
    plans: list[RowPlan]
    counts: dict[str, int]
    truncated: bool
    error: str = ""


def import_preview(job: ImportJob, *, limit: int = PREVIEW_ROWS) -> Preview:
    """What the first `limit` rows would do, checked against the database; writes nothing."""
    plans: list[RowPlan] = []
    counts = {"create": 0, "update": 0, "skip": 0, "fail": 0}
    if "email" not in job.mapping.values():
        return Preview(plans, counts, False, error="Map a column to Email to see the preview.")
    ctx = _Context(job)
    rows: list[tuple[int, dict[str, str]]] = []
    truncated = False
    try:
        for row in reading.iter_rows(job.stored_path, _fmt(job)):
            if len(rows) >= limit:
                truncated = True
                break
            rows.append(row)
    except reading.ImportFileError as exc:
        return Preview(plans, counts, False, error=exc.message)
    except FileNotFoundError:
        return Preview(plans, counts, False, error="The uploaded file is no longer here; upload it again.")
    for chunk in _chunks(rows, CHUNK_ROWS):
        plans += _plan_chunk(chunk, ctx)
    for plan in plans:
        counts[plan.outcome] += 1
    return Preview(plans, counts, truncated)


# --- the background run ----------------------------------------------------------------------


class _Chunk(list):
    """Rows of one chunk, with their plans already parsed and the new leads among them
    prepared (see `_read_ahead`)."""

    plans: list[RowPlan]
    # The plans that would create a lead, and those leads checked, scored and rendered
    # for the database (or the error that refuses them all).
    creating: list[RowPlan]
    new: services.NewLeads | ActionError


def _create_items(plans: list[RowPlan]) -> list[dict[str, Any]]:
    """What `services.leads_prepare` takes for these plans' leads."""
    return [
        {
            "email": p.email,
            "source": p.source,
            "campaign": p.campaign,
            "origin": p.origin,
            "profile": p.profile,
        }
        for p in plans
    ]


def _prepared(chunk: _Chunk, scorer) -> _Chunk:
    """The chunk with its new leads prepared (`services.leads_prepare`): no database, so
    the reader thread does it while the database writes the chunk before."""
    chunk.creating = [p for p in chunk.plans if p.outcome == "create"]
    try:
        chunk.new = services.leads_prepare(_create_items(chunk.creating), via="import", scorer=scorer)
    except ActionError as exc:
        chunk.new = exc
    return chunk


_END = object()


def _read_ahead(
    rows: Iterator[tuple[int, dict[str, str]]], ctx: _Context, size: int, scorer
) -> Iterator[_Chunk]:
    """The chunks of `rows`, each parsed, validated, and its new leads scored and
    rendered for COPY in a thread of its own while the database works on the chunk
    before: that is pure Python (no database), and the main thread mostly waits for the
    database, so the two overlap. At most two chunks wait ahead, so memory stays flat. A
    file error (or any other) reaches the caller in its place in the file, after the
    chunks before it.

    While it runs, the interpreter hands over between threads every READ_AHEAD_SWITCH
    seconds rather than every 5 ms: each time the database answers, the main thread
    waits for the reader to hand over, a dozen times per chunk."""
    ahead: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for rows_of_chunk in _chunks(rows, size):
                chunk = _Chunk(rows_of_chunk)
                chunk.plans = [_parse(n, cells, ctx) for n, cells in chunk]
                if not put(_prepared(chunk, scorer)):
                    return
            put(_END)
        except BaseException as exc:  # handed over, raised by the consumer
            put(exc)
        finally:
            rows.close()

    reader = threading.Thread(target=read, name=f"import-{ctx.job.pk}-reader", daemon=True)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, READ_AHEAD_SWITCH))
    reader.start()
    try:
        while (item := ahead.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
        sys.setswitchinterval(switch)


def import_run(*, job_id: int) -> ImportJob:
    """Import the rows after the last committed one. Safe to run again (a retry, a second
    worker): the job row is locked per chunk and rows already done are not redone."""
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    ).update(status=ImportStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    ctx = _Context(job)
    scorer = scoring.Scorer.load()
    rows = ((n, cells) for n, cells in reading.iter_rows(job.stored_path, _fmt(job)) if n > job.last_row)
    try:
        with closing(_read_ahead(rows, ctx, CHUNK_ROWS, scorer)) as chunks:
            for chunk in chunks:
                if not _run_chunk(job.pk, chunk, ctx, scorer):
                    return ImportJob.objects.get(pk=job_id)  # another run got further
    except reading.ImportFileError as exc:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED, error=exc.message, finished_at=timezone.now()
        )
        return ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.DONE, finished_at=timezone.now(), rows_estimate=F("rows_done")
    )
    Path(job.stored_path).unlink(missing_ok=True)  # the failed rows keep their cells
    return ImportJob.objects.get(pk=job_id)


def imports_resume_stalled(*, now: dt.datetime | None = None) -> list[int]:
    """Queue again the imports a dead worker left behind: queued or running, with no sign
    of life for IMPORT_STALLED_AFTER_SECONDS. The run resumes after the last committed
    row; a run that is in fact alive loses nothing (chunks are locked and not redone)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.IMPORT_STALLED_AFTER_SECONDS)
    stalled = list(
        ImportJob.objects.filter(
            status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING], heartbeat_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for job_id in stalled:
        # Claim the restart (another beat may look at the same moment), then queue it.
        if ImportJob.objects.filter(pk=job_id, heartbeat_at__lt=cutoff).update(heartbeat_at=now):
            on_commit_enqueue(tasks.import_run, job_id)
    return stalled


@transaction.atomic
def _run_chunk(job_id: int, chunk: _Chunk, ctx: _Context, scorer) -> bool:
    # The importer comes with the job (one query less per chunk); only the job row is locked.
    job = ImportJob.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=job_id)
    if job.status != ImportStatus.RUNNING or chunk[0][0] <= job.last_row:
        return False
    actor = job.created_by
    counts = {"create": 0, "update": 0, "skip": 0, "fail": 0}
    cells_by_row = dict(chunk)
    plans = _plan_chunk(chunk, ctx)
    new = chunk.new
    if isinstance(new, services.NewLeads):  # keep the leads still to create after the look-up
        new = new.only([p.outcome == "create" for p in chunk.creating])
    _create_all(actor, [p for p in plans if p.outcome == "create"], scorer, new)
    _fill_all(actor, [p for p in plans if p.outcome == "update"])
    outcomes: list[dict[str, Any]] = []
    for plan in plans:
        counts[plan.outcome] += 1
        if plan.outcome in ("skip", "fail"):
            outcomes.append(
                {
                    "job_id": job.pk,
                    "row_number": plan.row_number,
                    "outcome": RowOutcome.FAILED if plan.outcome == "fail" else RowOutcome.SKIPPED,
                    "message": plan.message[:500],
                    "email": plan.email[:254],
                    "lead_id": plan.lead_id,
                    "values": cells_by_row[plan.row_number],
                }
            )
    bulk.insert_rows(ImportRow, outcomes)
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now(),
        last_row=chunk[-1][0],
        rows_done=F("rows_done") + len(chunk),
        created_count=F("created_count") + counts["create"],
        updated_count=F("updated_count") + counts["update"],
        skipped_count=F("skipped_count") + counts["skip"],
        failed_count=F("failed_count") + counts["fail"],
    )
    return True


def _create_all(actor, plans: list[RowPlan], scorer, new: services.NewLeads | ActionError) -> None:
    """Create the chunk's new leads in one go (`new`: those leads prepared ahead, or the
    error that refused them); if someone created one of the emails meanwhile, go lead by
    lead so that only that row is refused."""
    if not plans:
        return
    try:
        if isinstance(new, ActionError):
            raise new
        with transaction.atomic():
            created = services.leads_create_many(actor=actor, leads=new, via="import", scorer=scorer)
    except IntegrityError:
        created = None
    except ActionError as exc:  # e.g. the importer lost the marketing role meanwhile
        for plan in plans:
            plan.outcome, plan.message = "fail", exc.message
        return
    if created is not None:
        for plan, lead_id in zip(plans, created, strict=True):
            plan.lead_id = lead_id
        return
    for plan in plans:
        try:
            lead = services.lead_create(
                actor=actor,
                email=plan.email,
                source=plan.source,
                campaign=plan.campaign,
                via="import",
                scorer=scorer,
                origin=plan.origin,
                **plan.profile,
            )
            plan.lead_id = lead.pk
        except ActionError as exc:
            plan.outcome, plan.message = "fail", exc.message


def _fill_all(actor, plans: list[RowPlan]) -> None:
    """Fill the blank fields of the chunk's existing leads in one go. What is filled is
    decided again on the locked leads: a field someone filled since the plan was made
    is left alone (the row then says what it did fill, or that it had nothing new)."""
    if not plans:
        return
    results = services.leads_fill_blanks(actor=actor, fills=[(p.lead_id, p.fill) for p in plans])
    for plan, result in zip(plans, results, strict=True):
        if isinstance(result, ActionError):
            plan.outcome, plan.message = "fail", result.message
        elif result:
            plan.message = f"Filled {', '.join(k.replace('_', ' ') for k in result)} on lead {plan.lead_id}."
        else:
            plan.outcome = "skip"
            plan.message = f"Already in Smarketing as lead {plan.lead_id}; nothing new in this row."


# --- the failed rows, to fix and import again --------------------------------------------------


def failed_rows_csv(job: ImportJob) -> Iterator[str]:
    """The failed rows as uploaded (same columns), plus the row number and the reason."""
    headers = [h for h in job.headers if h]

    def rows():
        yield [*headers, "Row", "Error"]
        failed = job.rows.filter(outcome=RowOutcome.FAILED).order_by("row_number")
        for row in failed.iterator(chunk_size=2000):
            yield [*(row.values.get(h, "") for h in headers), row.row_number, row.message]

    return csv_lines(rows(), bom=True)


def failed_rows_filename(job: ImportJob) -> str:
    return f"{job.file_name.rsplit('.', 1)[0]}-failed-rows.csv"

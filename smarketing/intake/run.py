"""The background run of an import: chunks of rows read, parsed, scored and rendered ahead
in a thread of their own while the database writes the chunk before; each chunk's leads
and the job's counters commit together, so a killed worker resumes after the last
committed row without losing or double-counting anything. The uploaded file is read from
where it waits (`files`: a copy on this node's temporary disk when it is in the database,
since the reading thread must not use the database) and removed when the run ends."""

from __future__ import annotations

import functools
import logging
import queue
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from leads import services
from leads.models import ConsentMethod, Lead, LeadEvent
from sla.models import Clock
from smarketing.agreement import scoring
from smarketing.core import bulk
from smarketing.core.errors import ActionError
from smarketing.intake import files, migration, reading
from smarketing.intake.models import ImportJob, ImportRow, ImportStatus, RowOutcome
from smarketing.intake.plans import Context, RowPlan, chunks, file_format, update_message

log = logging.getLogger(__name__)

# Rows per transaction: a chunk's fixed costs (the job row, look-ups, statements, commit)
# are shared by more rows with 2,000 than with 1,000 (5–10% faster at a million leads).
CHUNK_ROWS = 2000
ANALYZE_AFTER_ROWS = 1000  # an import that created this many leads updates the statistics
READ_AHEAD_SWITCH = 0.0005  # seconds (see _read_ahead)


# --- the background run ----------------------------------------------------------------------


class _Chunk(list):
    """Rows of one chunk, with their plans already parsed and the new leads among them
    prepared (see `_read_ahead`)."""

    plans: list[RowPlan]
    # The plans that would create a lead, and those leads checked, scored and rendered
    # for the database (or the error that refuses them all).
    creating: list[RowPlan]
    new: services.NewLeads | services.MigratedLeads | ActionError
    actor_id: int


def _create_items(plans: list[RowPlan]) -> list[dict[str, Any]]:
    """What `services.leads_prepare` takes for these plans' leads."""
    return [
        {
            "email": p.email,
            "source": p.source,
            "campaign": p.campaign,
            "origin": p.origin,
            "profile": p.profile,
            "consent": p.consent,
        }
        for p in plans
    ]


def _prepared(chunk: _Chunk, scorer) -> _Chunk:
    """The chunk with its new leads prepared (`services.leads_prepare`): no database, so
    the reader thread does it while the database writes the chunk before."""
    chunk.creating = [p for p in chunk.plans if p.outcome == "create"]
    # A migration's leads are rendered with their histories (`leads_prepare_migrated`), not
    # as new leads first.
    histories = [p.history for p in chunk.creating if p.history is not None]
    try:
        chunk.new = services.leads_prepare(
            _create_items(chunk.creating), via="import", scorer=scorer, render=not histories
        )
        if histories:
            chunk.new = services.leads_prepare_migrated(chunk.new, histories, actor_id=chunk.actor_id)
    except ActionError as exc:
        chunk.new = exc
    return chunk


_END = object()


def _read_ahead(
    rows: Iterator[tuple[int, dict[str, str]]], ctx: Context, size: int, scorer
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
            for rows_of_chunk in chunks(rows, size):
                chunk = _Chunk(rows_of_chunk)
                chunk.actor_id = ctx.job.created_by_id
                chunk.plans = [ctx.parse_row(n, cells) for n, cells in chunk]
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
    # A resumed run keeps the first start: a migration's clocks start at go-live, the
    # moment its import started, whichever run commits the lead.
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    ).update(
        status=ImportStatus.RUNNING,
        started_at=Coalesce(F("started_at"), Now()),
        heartbeat_at=timezone.now(),
    )
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    ctx = migration.context_for(job)
    scorer = scoring.Scorer.load()
    try:
        stream = files.file_open(job, local=True)
    except FileNotFoundError:
        _finish(
            job, status=ImportStatus.FAILED, error="The uploaded file is no longer here; upload it again."
        )
        return ImportJob.objects.get(pk=job_id)
    with stream:
        rows = ((n, cells) for n, cells in reading.iter_rows(stream, file_format(job)) if n > job.last_row)
        try:
            with closing(_read_ahead(rows, ctx, CHUNK_ROWS, scorer)) as chunks:
                for chunk in chunks:
                    if not _run_chunk(job.pk, chunk, ctx, scorer):
                        return ImportJob.objects.get(pk=job_id)  # another run got further
        except reading.ImportFileError as exc:
            _finish(job, status=ImportStatus.FAILED, error=exc.message)
            return ImportJob.objects.get(pk=job_id)
    _finish(job, status=ImportStatus.DONE, rows_estimate=F("rows_done"))
    done = ImportJob.objects.get(pk=job_id)
    if done.created_count >= ANALYZE_AFTER_ROWS:
        # The reports read the new rows at once: the planner must know they are there.
        bulk.analyze(Lead, LeadEvent, Clock)
    return done


def _finish(job: ImportJob, **changes: Any) -> None:
    """End the run, done or failed, and remove the uploaded file (the failed rows keep
    their cells): in one transaction when the file is in the database. The status of a job
    that another run finished meanwhile stays as that run left it."""
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
            finished_at=timezone.now(), **changes
        )
        files.file_remove(job)


@transaction.atomic
def _run_chunk(job_id: int, chunk: _Chunk, ctx: Context, scorer) -> bool:
    # The importer comes with the job (one query less per chunk); only the job row is locked.
    job = ImportJob.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=job_id)
    if job.status != ImportStatus.RUNNING or chunk[0][0] <= job.last_row:
        return False
    actor = job.created_by
    counts = {"create": 0, "update": 0, "skip": 0, "fail": 0}
    cells_by_row = dict(chunk)
    plans = ctx.plan_chunk(chunk)
    new = chunk.new
    if isinstance(
        new, (services.NewLeads, services.MigratedLeads)
    ):  # those still to create after the look-up
        new = new.only([p.outcome == "create" for p in chunk.creating])
    if isinstance(ctx, migration.MigrationContext):
        _create_migrated(actor, [p for p in plans if p.outcome == "create"], new, ctx)
    else:
        _create_all(actor, [p for p in plans if p.outcome == "create"], scorer, new)
    _update_all(actor, [p for p in plans if p.outcome == "update"])
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
                consent=plan.consent,
                **plan.profile,
            )
            plan.lead_id = lead.pk
        except ActionError as exc:
            plan.outcome, plan.message = "fail", exc.message


def _create_migrated(actor, plans: list[RowPlan], new: services.MigratedLeads | ActionError, ctx) -> None:
    """A migration's new leads with their histories, in one go; if someone created one of
    the emails meanwhile, lead by lead, so that only that row is skipped."""
    if not plans:
        return
    write = functools.partial(
        services.leads_create_migrated, actor=actor, go_live=ctx.go_live, owners=ctx.users
    )
    try:
        if isinstance(new, ActionError):
            raise new
        with transaction.atomic():
            ids = write(leads=new)
    except IntegrityError:
        ids = None
    except ActionError as exc:  # e.g. the manager lost the role meanwhile
        for plan in plans:
            plan.outcome, plan.message = "fail", exc.message
        return
    if ids is not None:
        for plan, lead_id in zip(plans, ids, strict=True):
            plan.lead_id = lead_id
        return
    for i, plan in enumerate(plans):
        try:
            with transaction.atomic():
                one = new.only([j == i for j in range(len(plans))])
                (plan.lead_id,) = write(leads=one)
        except IntegrityError:
            existing = services.lead_find_duplicate(email=plan.email)
            if existing is None:
                raise  # not a duplicate email: a bug, not a row to skip
            plan.outcome = "skip"
            plan.lead_id = existing.pk
            plan.message = "Created in Smarketing meanwhile: a migration does not change leads that are here."
        except ActionError as exc:
            plan.outcome, plan.message = "fail", exc.message


def _update_all(actor, plans: list[RowPlan]) -> None:
    """Fill the blank fields of the chunk's existing leads in one go, then record the newer
    consent answers rows bring (one lead at a time: only rows whose answer is news get
    here, see `plans.consent_is_news`). What is filled is decided again on the locked
    leads: a field someone filled since the plan was made is left alone (the row then says
    what it did, or that it had nothing new)."""
    if not plans:
        return
    filling = [p for p in plans if p.fill]
    results = (
        services.leads_fill_blanks(actor=actor, fills=[(p.lead_id, p.fill) for p in filling])
        if filling
        else []
    )
    filled: dict[int, Any] = {}
    for plan, result in zip(filling, results, strict=True):
        if isinstance(result, ActionError):
            plan.outcome, plan.message = "fail", result.message
        else:
            filled[plan.row_number] = result
    for plan in plans:
        if plan.outcome != "update":
            continue
        if plan.consent:
            try:
                with transaction.atomic():
                    services.lead_consent_record(
                        lead_id=plan.lead_id,
                        actor=actor,
                        method=ConsentMethod.IMPORT,
                        consent=plan.consent["consent"],
                        consent_at=plan.consent["consent_at"],
                        consent_wording=plan.consent["consent_wording"],
                        lawful_basis=plan.consent["lawful_basis"],
                    )
            except ActionError as exc:
                plan.outcome, plan.message = "fail", exc.message
                continue
        done = filled.get(plan.row_number)
        if done or plan.consent:
            plan.message = update_message(plan.lead_id, done, plan.consent)
        else:
            plan.outcome = "skip"
            plan.message = f"Already in Smarketing as lead {plan.lead_id}; nothing new in this row."

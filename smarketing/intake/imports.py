"""CSV import of leads: the job's life — upload, map the columns, preview, start, restart a
stalled one, download the failed rows. Marketing only.

An import runs in three places, each a module of its own:

* `reading` and `values` read the file: encoding, delimiter, headers, one cell at a time
  (no database);
* `plans` decides what each row does: a new email creates a lead (through the funnel's
  one creation path, `leads.services`), an email already here fills its blank fields
  ("updated") or changes nothing ("skipped"), a second row for an email seen earlier in
  the file is skipped, anything invalid fails with its row number and reason;
* `run` is the background job: chunk by chunk, each chunk's leads and the job's counters
  committed together.

The uploaded file waits for the worker where every web and worker node reaches it — in
the database, or an S3-compatible bucket (`files`) — and is removed once the import is
done or has failed.

So importing the same file twice creates nothing new, a killed worker resumes after the
last committed row, and memory stays flat: the file streams in and out in chunks, rows
stream from it, and duplicates are looked up in the database, not in a growing set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from leads import services
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.csvs import csv_download, csv_lines
from smarketing.core.errors import ActionError
from smarketing.core.inputs import id_in
from smarketing.core.queue import on_commit_enqueue
from smarketing.core.sheets import xlsx_download
from smarketing.intake import files, migration, reading, tasks
from smarketing.intake import values as intake_values
from smarketing.intake.models import ImportJob, ImportKind, ImportStatus, MigrationSystem, RowOutcome
from smarketing.intake.plans import RowPlan, chunks, file_format
from smarketing.intake.run import CHUNK_ROWS
from smarketing.org import roles
from smarketing.org.models import Campaign, Source

log = logging.getLogger(__name__)
PREVIEW_ROWS = 1000
PROFILE_FIELDS = services.PROFILE_FIELDS


# --- upload and mapping ----------------------------------------------------------------------


def _require_importer(actor, kind: str = ImportKind.LEADS) -> None:
    if kind == ImportKind.MIGRATION:
        if not roles.can_migrate(actor):
            raise ActionError(
                "Only managers can migrate a team's history from another CRM.", code=ActionError.FORBIDDEN
            )
    elif not roles.can_import(actor):
        raise ActionError("Only marketing can import leads.", code=ActionError.FORBIDDEN)


def may_see(actor, job: ImportJob) -> bool:
    """Who may see and work on an import: marketing its everyday imports, managers migrations."""
    return roles.can_migrate(actor) if job.kind == ImportKind.MIGRATION else roles.can_import(actor)


def import_upload(
    *, actor, uploaded: Any, file_name: str | None = None, kind: str = ImportKind.LEADS
) -> ImportJob:
    """Store the file, work out how to read it and propose a column mapping (a migration:
    also which CRM it came from; docs/migration.md)."""
    if kind not in ImportKind.values:
        raise ActionError(f"“{kind}” is not a kind of import (use leads or migration).", field="kind")
    _require_importer(actor, kind)
    name = file_name or getattr(uploaded, "name", "") or "upload.csv"
    limit = settings.SMARKETING_IMPORT_MAX_MB * 1024 * 1024
    size = getattr(uploaded, "size", None)
    if size is not None and size > limit:
        raise ActionError(
            f"The file is {size / 1024 / 1024:.0f} MB; the limit is {settings.SMARKETING_IMPORT_MAX_MB} MB. "
            "Split it into smaller files.",
            field="file",
        )
    digest = hashlib.sha256()
    written = 0
    chunks = uploaded.chunks() if hasattr(uploaded, "chunks") else iter(lambda: uploaded.read(1 << 16), b"")

    def checked() -> Iterator[bytes]:
        nonlocal written
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                raise ActionError(
                    f"The file is larger than {settings.SMARKETING_IMPORT_MAX_MB} MB. Split it into smaller files.",
                    field="file",
                )
            digest.update(chunk)
            yield chunk

    # The job first, for its file to belong to; a refused file takes both away.
    with transaction.atomic():
        job = ImportJob.objects.create(created_by=actor, file_name=name[:255], kind=kind)
        try:
            files.file_store(job, checked())
            with files.file_open(job) as stream:
                fmt = reading.sniff(stream, size=written)
        except reading.ImportFileError as exc:
            files.file_remove(job)
            raise ActionError(exc.message, field="file") from None
        except BaseException:
            files.file_remove(job)
            raise
        job.file_size = written
        job.sha256 = digest.hexdigest()
        job.encoding, job.delimiter, job.headers = fmt.encoding, fmt.delimiter, fmt.headers
        if kind == ImportKind.MIGRATION:
            job.mapping = migration.guess_mapping(fmt.headers)
            job.system = migration.detect_system(fmt.headers)
        else:
            job.mapping = intake_values.guess_mapping(fmt.headers)
        job.rows_estimate = fmt.row_count_estimate
        job.save()
    return job


def _job_for(actor, job_id: int, *, lock: bool = False) -> ImportJob:
    queryset = ImportJob.objects.select_for_update() if lock else ImportJob.objects
    job = queryset.filter(pk=job_id).first()
    if job is None:
        raise ActionError(f"Import {job_id} does not exist.", code=ActionError.NOT_FOUND)
    _require_importer(actor, job.kind)
    return job


def _check_mapping(job: ImportJob, mapping: dict[str, str]) -> dict[str, str]:
    fields = migration.FIELDS if job.kind == ImportKind.MIGRATION else intake_values.FIELDS
    try:
        return intake_values.check_mapping(job.headers, mapping, fields)
    except ValueError as exc:
        raise ActionError(str(exc), field="mapping") from None


@transaction.atomic
def import_configure(
    *,
    actor,
    job_id: int,
    mapping: dict[str, str] | None = None,
    default_source: str | None = None,
    campaign: Campaign | int | None = None,
    system: str | None = None,
    value_maps: dict | None = None,
    fallback_owner: Any = None,
    disqualification_reason: Any = None,
) -> ImportJob:
    """Change the mapping, the source for rows without one, or the campaign, before the
    start; a migration also its system, value maps, fallback owner and disqualification
    reason (`fallback_owner` / `disqualification_reason` "": none)."""
    job = _job_for(actor, job_id, lock=True)
    if job.status != ImportStatus.MAPPING:
        raise ActionError(
            "This import has started; its mapping can no longer change.", code=ActionError.WRONG_STAGE
        )
    migrating = job.kind == ImportKind.MIGRATION
    if not migrating and any(
        v is not None for v in (system, value_maps, fallback_owner, disqualification_reason)
    ):
        raise ActionError("Only a migration has value maps, a system and a fallback owner.", field="kind")
    if mapping is not None:
        job.mapping = _check_mapping(job, mapping)
    if system is not None:
        if system not in MigrationSystem.values:
            raise ActionError(
                f"“{system}” is not a system a migration reads (hubspot or salesforce).", field="system"
            )
        job.system = system
    if value_maps is not None:
        job.value_maps = migration.check_value_maps(value_maps)
    if fallback_owner is not None:
        job.fallback_owner = _fallback_owner(fallback_owner)
    if disqualification_reason is not None:
        job.disqualification_reason = _disqualification_reason(disqualification_reason)
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


def _fallback_owner(value: Any):
    """The fallback owner of a migration: an active sales rep ("" or 0: none)."""
    if value in ("", 0):
        return None
    pk = id_in(str(getattr(value, "pk", value)), name="fallback_owner", message="That user does not exist.")
    user = get_user_model().objects.filter(pk=pk).first()
    if user is None:
        raise ActionError("That user does not exist.", field="fallback_owner")
    if not roles.is_active_sales_rep(user):
        raise ActionError(
            f"{user} is not an active sales rep: open MQLs and SQLs need one.", field="fallback_owner"
        )
    return user


def _disqualification_reason(value: Any) -> Reason | None:
    if value in ("", 0):
        return None
    refused = "That is not one of the agreed disqualification reasons."
    pk = id_in(str(getattr(value, "pk", value)), name="disqualification_reason", message=refused)
    reason = Reason.objects.filter(pk=pk, kind=ReasonKind.DISQUALIFICATION, is_active=True).first()
    if reason is None:
        raise ActionError(refused, field="disqualification_reason")
    return reason


@transaction.atomic
def import_start(*, actor, job_id: int) -> ImportJob:
    job = _job_for(actor, job_id, lock=True)
    if job.status != ImportStatus.MAPPING:
        raise ActionError("This import has already started.", code=ActionError.WRONG_STAGE)
    job.mapping = _check_mapping(job, job.mapping)
    job.status = ImportStatus.QUEUED
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["mapping", "status", "heartbeat_at"])
    on_commit_enqueue(tasks.import_run, job.pk)
    return job


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
    ctx = migration.context_for(job)
    rows: list[tuple[int, dict[str, str]]] = []
    truncated = False
    try:
        with closing(reading.iter_rows(files.file_open(job), file_format(job))) as stream:
            for row in stream:
                if len(rows) >= limit:
                    truncated = True
                    break
                rows.append(row)
    except reading.ImportFileError as exc:
        return Preview(plans, counts, False, error=exc.message)
    except FileNotFoundError:
        return Preview(plans, counts, False, error="The uploaded file is no longer here; upload it again.")
    for chunk in chunks(rows, CHUNK_ROWS):
        plans += ctx.plan_chunk(chunk)
    for plan in plans:
        counts[plan.outcome] += 1
    return Preview(plans, counts, truncated)


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


# --- the failed rows, to fix and import again --------------------------------------------------


def failed_rows(job: ImportJob) -> Iterator[list]:
    """The failed rows as uploaded (same columns, as text), plus the row number and the
    reason: header first, streamed. Fixed and uploaded again — as CSV or as `.xlsx` — they
    import like the original: the extra columns are not mapped, and a value an export
    guarded with an apostrophe is read back without it."""
    headers = [h for h in job.headers if h]
    yield [*headers, "Row", "Error"]
    failed = job.rows.filter(outcome=RowOutcome.FAILED).order_by("row_number")
    for row in failed.iterator(chunk_size=2000):
        yield [*(row.values.get(h, "") for h in headers), row.row_number, row.message]


def failed_rows_csv(job: ImportJob) -> Iterator[str]:
    return csv_lines(failed_rows(job), bom=True)


def failed_rows_download(job: ImportJob, fmt: str):
    """The failed rows as a CSV (streamed) or `.xlsx` download (page and API)."""
    name = failed_rows_filename(job).removesuffix(".csv")
    if fmt == "xlsx":
        return xlsx_download(failed_rows(job), f"{name}.xlsx", title="Failed rows")
    return csv_download(failed_rows_csv(job), f"{name}.csv")


def failed_rows_filename(job: ImportJob) -> str:
    return f"{job.file_name.rsplit('.', 1)[0]}-failed-rows.csv"

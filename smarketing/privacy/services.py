"""A person's rights: their data on request, and erasure that keeps the counts.

`person_export` gathers everything held about one person (the lead and every lead merged
with it: one person) into one zip of JSON and CSV. `person_erase` removes every personal
value wherever it was stored — the funnel's tables (`leads.services.erasure`), import rows
and files still waiting, referrals, notifications and emails, stored API answers, the
admin's history — while the leads and their events stay as anonymous records, so every
report figure stays as it was. Both are audited (`PrivacyAudit`) without personal values.
The retention job (`smarketing.privacy.retention`) erases the same way. docs/privacy.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import zipfile
from typing import Any

import openpyxl
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leads.models import ConsentRecord, Engagement, Lead, LeadEvent, Touch
from leads.services.erasure import leads_anonymise, leads_pattern, person_lead_ids, person_words
from smarketing.core.errors import ActionError
from smarketing.core.models import DeferredTask
from smarketing.core.scrub import ERASED, MIN_WORD, scrub_json, scrub_text, words_pattern
from smarketing.intake import files, reading
from smarketing.intake.models import IdempotencyRecord, ImportJob, ImportRow, ImportStatus, Referral
from smarketing.notifications.models import Notification
from smarketing.org.roles import may_manage_privacy
from smarketing.privacy.models import PrivacyAction, PrivacyAudit

log = logging.getLogger(__name__)

REFERENCE_MAX = PrivacyAudit._meta.get_field("reference").max_length


def privacy_allowed(actor, what: str) -> None:
    if actor is not None and not may_manage_privacy(actor):
        raise ActionError(f"Only a manager can {what}.", code=ActionError.FORBIDDEN)


def _reference(reference: str | None, *, required: bool, words: set[str]) -> str:
    reference = (reference or "").strip()
    if required and not reference:
        raise ActionError(
            "Give the request's reference (e.g. your ticket number): the audit keeps it.", field="reference"
        )
    if len(reference) > REFERENCE_MAX:
        raise ActionError(f"The reference is longer than {REFERENCE_MAX} characters.", field="reference")
    lowered = reference.casefold()
    if any(word and word.casefold() in lowered for word in words):
        raise ActionError(
            "The reference names the person: the audit must not. Use the request's number instead.",
            field="reference",
        )
    return reference


def _person(lead_id: int) -> list[int]:
    ids = person_lead_ids(lead_id)
    if not ids:
        raise ActionError(f"Lead {lead_id} does not exist.", code=ActionError.NOT_FOUND)
    return ids


# --- erasure ---------------------------------------------------------------------------------


@transaction.atomic
def person_erase(*, lead_id: int, actor, reference: str) -> PrivacyAudit:
    """Erase the person of lead `lead_id` (with every lead merged with it). Cannot be
    undone. Raises ActionError when the actor may not, the reference is missing or names
    the person, or the person was erased already."""
    privacy_allowed(actor, "erase a person")
    ids = _person(lead_id)
    locked = list(
        Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", "erased_at")
    )
    if all(erased for _, erased in locked):
        raise ActionError(
            f"This person was erased already, on {timezone.localtime(locked[0][1]):%Y-%m-%d %H:%M}.",
            code=ActionError.WRONG_STAGE,
        )
    words, phones = person_words(ids, own=True)
    reference = _reference(reference, required=actor is not None, words=words | phones)
    counts = people_erase(ids, now=timezone.now())
    return PrivacyAudit.objects.create(
        action=PrivacyAction.ERASURE,
        actor=actor if actor is not None and actor.is_authenticated else None,
        lead_id=ids[0],
        reference=reference,
        detail={"lead_ids": ids, **counts},
    )


def people_erase(lead_ids: list[int], *, now: dt.datetime) -> dict[str, int]:
    """Remove every personal value of the people of `lead_ids` (each person with all of
    their merged leads among them), in the caller's transaction with the leads locked.
    Returns how many rows of each kind changed.

    Two sets of words: in the person's own rows (their leads' events, notifications about
    their leads) any profile value is theirs; in everyone else's (a digest, a stored API
    answer, another job's file) only what names them alone: email, full name, phone."""
    own = leads_pattern(lead_ids, own=True)
    words, phones = person_words(lead_ids)
    naming = words_pattern(words, phones)
    needles = sorted(w for w in words | phones if len(w) >= MIN_WORD)
    emails = {w for w in words if "@" in w}
    counts = leads_anonymise(lead_ids, now=now, pattern=own)
    counts |= _import_rows_erase(lead_ids, emails, own)
    counts["import_files"] = _import_files_erase(naming)
    counts["referrals"] = Referral.objects.filter(Q(lead_id__in=lead_ids) | Q(email__in=emails)).update(
        email="", first_name="", last_name="", company="", phone="", job_title="", context=""
    )
    counts["notifications"] = _notifications_erase(lead_ids, own, naming, needles)
    counts["stored_answers"] = _json_rows_erase(IdempotencyRecord, "body", naming, needles)
    counts["queued_tasks"] = _json_rows_erase(DeferredTask, "args", naming, needles)
    counts["admin_history"] = _admin_history_erase(lead_ids, own)
    return counts


def _import_rows_erase(lead_ids: list[int], emails: set[str], pattern) -> dict[str, int]:
    """The rows of import jobs that carried the person (as uploaded, kept for the failed
    rows file): their cells go; the row number and outcome stay, so a job's counts do."""
    rows = ImportRow.objects.filter(Q(lead_id__in=lead_ids) | Q(email__in=emails))
    changed = 0
    for pk, message in rows.values_list("pk", "message"):
        changed += ImportRow.objects.filter(pk=pk).update(
            email="", values={}, message=scrub_text(message, pattern)[:500]
        )
    return {"import_rows": changed}


def _import_files_erase(pattern) -> int:
    """Uploaded files still waiting to be imported (mapping or queued) that name the
    person are written again without the cells that do (as CSV). A finished import keeps
    no file (`smarketing.intake.run`)."""
    if pattern is None:
        return 0
    changed = 0
    waiting = ImportJob.objects.filter(status__in=[ImportStatus.MAPPING, ImportStatus.QUEUED])
    for job in waiting.select_for_update():
        try:
            with files.file_open(job) as stream:
                raw = stream.read()
        except FileNotFoundError:
            continue
        cleaned = _file_without(raw, job, pattern)
        if cleaned is None:
            continue
        files.file_remove(job)
        files.file_store(job, [cleaned])
        job.encoding, job.delimiter = "utf-8", ","
        job.file_size = len(cleaned)
        job.save(update_fields=["encoding", "delimiter", "file_size"])
        changed += 1
    return changed


def _file_without(raw: bytes, job: ImportJob, pattern) -> bytes | None:
    """`raw` (the job's file) as CSV with every cell that names the person blanked, or
    None when no cell does."""
    if job.encoding == reading.XLSX:
        header, rows = _xlsx_rows(raw)
    else:
        text = raw.decode(job.encoding or "utf-8", errors="replace").lstrip("\ufeff")
        table = list(csv.reader(io.StringIO(text), delimiter=job.delimiter or ","))
        header, rows = (table[0] if table else []), table[1:]
    found = False
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        cleaned = [scrub_text(cell, pattern) for cell in row]
        if cleaned != row:
            found = True
            cleaned = ["" for _ in row]
        writer.writerow(cleaned)
    return out.getvalue().encode("utf-8") if found else None


def _xlsx_rows(raw: bytes) -> tuple[list[str], list[list[str]]]:
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        rows = [[reading.cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    return (rows[0] if rows else []), rows[1:]


def _notifications_erase(lead_ids: list[int], own, naming, needles: list[str]) -> int:
    """Messages about the person (their leads', and any other text naming them, such as
    a digest): the words that name them go, from the inbox and from every email not yet
    sent. An email already delivered is in its recipient's mailbox, out of our reach."""
    changed = 0
    rows = [(own, Notification.objects.filter(lead_id__in=lead_ids))]
    if needles:
        others = Notification.objects.filter(_contains_any(("subject", "body"), needles))
        rows.append((naming, others.exclude(lead_id__in=lead_ids)))
    for pattern, queryset in rows:
        for pk, subject, body in queryset.values_list("pk", "subject", "body"):
            new_subject, new_body = scrub_text(subject, pattern), scrub_text(body, pattern)
            if (new_subject, new_body) != (subject, body):
                changed += Notification.objects.filter(pk=pk).update(subject=new_subject[:200], body=new_body)
    return changed


def _contains_any(fields: tuple[str, ...], needles: list[str]) -> Q:
    """Rows whose text in `fields` contains one of `needles` as written (a phone written
    otherwise in a row found anyway is taken out by the pattern)."""
    condition = Q()
    for word in needles:
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
    return condition


def _json_rows_erase(model, field: str, pattern, needles: list[str]) -> int:
    """Rows of `model` whose JSON `field` names the person: the words go."""
    if not needles:
        return 0
    changed = 0
    for pk, value in model.objects.filter(_contains_any((field,), needles)).values_list("pk", field):
        cleaned = scrub_json(value, pattern)
        if cleaned != value:
            changed += model.objects.filter(pk=pk).update(**{field: cleaned})
    return changed


def _admin_history_erase(lead_ids: list[int], pattern) -> int:
    """The admin's history of the person's leads names them (`str(lead)`)."""
    lead_type = ContentType.objects.get_for_model(Lead)
    changed = 0
    entries = LogEntry.objects.filter(content_type=lead_type, object_id__in=[str(pk) for pk in lead_ids])
    for pk, object_id, message in entries.values_list("pk", "object_id", "change_message"):
        changed += LogEntry.objects.filter(pk=pk).update(
            object_repr=f"Erased person (lead {object_id})", change_message=scrub_text(message, pattern)
        )
    return changed


# --- the person's data ---------------------------------------------------------------------


def person_export(*, lead_id: int, actor, reference: str = "") -> tuple[str, bytes]:
    """(file name, zip) of everything held about the person of lead `lead_id`: one JSON
    file with every section, and one CSV per section. Audited."""
    privacy_allowed(actor, "export a person's data")
    ids = _person(lead_id)
    words, phones = person_words(ids, own=True)
    reference = _reference(reference, required=False, words=words | phones)
    sections = person_data(ids)
    PrivacyAudit.objects.create(
        action=PrivacyAction.EXPORT,
        actor=actor if actor is not None and actor.is_authenticated else None,
        lead_id=ids[0],
        reference=reference,
        detail={"lead_ids": ids, **{name: len(rows) for name, rows in sections.items()}},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        document = {
            "exported_at": timezone.now().isoformat(),
            "leads": ids,
            "reference": reference,
            **sections,
        }
        archive.writestr("person.json", json.dumps(document, indent=2, ensure_ascii=False, default=str))
        for name, rows in sections.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    return f"person-lead-{ids[0]}-{stamp}.zip", buffer.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    writer = csv.DictWriter(out, fieldnames=columns or ["none"])
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    return "\ufeff" + out.getvalue()


def person_data(ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Every section of a person's data: what each table holds about them."""
    words, phones = person_words(ids)
    pattern_rows = Notification.objects.filter(lead_id__in=ids)
    emails = [w for w in words if "@" in w]
    return {
        "profile": list(
            Lead.objects.filter(pk__in=ids).values(
                "id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "company",
                "job_title",
                "company_size",
                "country",
                "website",
                "source",
                "campaign__name",
                "stage",
                "stage_entered_at",
                "owner__username",
                "score",
                "deal_amount",
                "closed_on",
                "merged_into_id",
                "consent",
                "consent_at",
                "consent_method",
                "consent_wording",
                "lawful_basis",
                "created_at",
                "updated_at",
                "erased_at",
            )
        ),
        "consent": list(
            ConsentRecord.objects.filter(lead_id__in=ids).values(
                "lead_id", "consent", "given_at", "method", "wording", "lawful_basis", "recorded_at"
            )
        ),
        "events": list(
            LeadEvent.objects.filter(lead_id__in=ids).values(
                "lead_id",
                "type",
                "from_stage",
                "to_stage",
                "occurred_at",
                "actor__username",
                "reason__label",
                "note",
                "data",
            )
        ),
        "engagements": list(
            Engagement.objects.filter(lead_id__in=ids).values(
                "lead_id", "type", "occurred_at", "title", "url", "points", "origin", "external_id"
            )
        ),
        "touches": list(
            Touch.objects.filter(lead_id__in=ids).values(
                "lead_id", "kind", "outcome", "occurred_at", "by__username", "note"
            )
        ),
        "notifications": list(
            pattern_rows.values(
                "lead_id", "kind", "recipient__username", "subject", "body", "created_at", "emailed_at"
            )
        ),
        "import_rows": list(
            ImportRow.objects.filter(Q(lead_id__in=ids) | Q(email__in=emails)).values(
                "job_id", "job__file_name", "row_number", "outcome", "message", "email", "values"
            )
        ),
        "referrals": list(
            Referral.objects.filter(Q(lead_id__in=ids) | Q(email__in=emails)).values(
                "lead_id",
                "referrer__username",
                "created_at",
                "context",
                "email",
                "first_name",
                "last_name",
                "company",
                "phone",
                "job_title",
                "outcome",
            )
        ),
    }


__all__ = ["ERASED", "may_manage_privacy", "people_erase", "person_data", "person_erase", "person_export"]

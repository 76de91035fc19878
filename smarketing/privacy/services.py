"""A person's rights: their data on request, and erasure that keeps the counts.

`person_export` gathers everything held about one person (the lead and every lead merged
with it: one person) into one zip of JSON and CSV. `person_erase` removes every personal
value wherever it was stored — the funnel's tables (`leads.services.erasure`), import rows
and files still waiting (in the database or the import storage), referrals, every other
row that points at their leads (notifications and the emails not yet sent, consent
answers), the admin's history, and any free-text column of any table that names them by
email, full name or phone (a note on someone else's lead, a stored API answer, a queued
task) — while the leads and their events stay as anonymous records, so every report
figure stays as it was. Both are audited (`PrivacyAudit`) without personal values. The
retention job (`smarketing.privacy.retention`) erases the same way. docs/privacy.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import openpyxl
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import CharField, JSONField, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from leads.models import ConsentRecord, Engagement, Lead, LeadEvent, Touch
from leads.services.erasure import leads_anonymise, leads_pattern, person_lead_ids, person_words
from smarketing.core.errors import ActionError
from smarketing.core.scrub import (
    ERASED,
    MIN_PHONE_DIGITS,
    MIN_WORD,
    scrub_json,
    scrub_text,
    sql_pattern,
    words_pattern,
)
from smarketing.intake import files, reading
from smarketing.intake.models import ImportJob, ImportRow, ImportStatus, Referral
from smarketing.notifications.models import Notification
from smarketing.org.roles import may_manage_privacy
from smarketing.privacy.models import PrivacyAction, PrivacyAudit

log = logging.getLogger(__name__)

MENTIONS_MAX = 1000  # rows of one column that name the person, in an export
REFERENCE_MAX = PrivacyAudit._meta.get_field("reference").max_length


def privacy_allowed(actor, what: str) -> None:
    if actor is not None and not may_manage_privacy(actor):
        raise ActionError(f"Only a manager can {what}.", code=ActionError.FORBIDDEN)


def _reference(
    reference: str | None, *, required: bool, words: set[str], phones: set[str] = frozenset()
) -> str:
    reference = (reference or "").strip()
    if required and not reference:
        raise ActionError(
            "Give the request's reference (e.g. your ticket number): the audit keeps it.", field="reference"
        )
    if len(reference) > REFERENCE_MAX:
        raise ActionError(f"The reference is longer than {REFERENCE_MAX} characters.", field="reference")
    lowered = reference.casefold()
    numbers = {_digits(phone) for phone in phones}
    if any(len(word) >= MIN_WORD and word.casefold() in lowered for word in words) or any(
        len(number) >= MIN_PHONE_DIGITS and number in _digits(reference) for number in numbers
    ):
        raise ActionError(
            "The reference names the person: the audit must not. Use the request's number instead.",
            field="reference",
        )
    return reference


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


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
    reference = _reference(reference, required=actor is not None, words=words, phones=phones)
    counts = people_erase(ids, now=timezone.now())
    return PrivacyAudit.objects.create(
        action=PrivacyAction.ERASURE,
        actor=actor if actor is not None and actor.is_authenticated else None,
        lead_id=ids[0],
        reference=reference,
        detail={"lead_ids": ids, **counts},
    )


@dataclass
class _Identity:
    """What names the people being erased, read before anything is blanked."""

    words: set[str]  # emails and full names: they name the person alone, in anyone's rows
    phones: set[str]
    names: set[tuple[str, str]]  # (first, last), folded: together they name the person
    own: re.Pattern[str] | None  # any of their values, for their own rows

    @cached_property
    def naming(self) -> re.Pattern[str] | None:
        return words_pattern(self.words, self.phones)

    @cached_property
    def emails(self) -> set[str]:
        return {word.casefold() for word in self.words if "@" in word}

    @classmethod
    def of(cls, lead_ids: list[int]) -> _Identity:
        words, phones = person_words(lead_ids)
        more_words, more_phones = _referred_words(lead_ids)
        words, phones = words | more_words, phones | more_phones
        own = _joined(leads_pattern(lead_ids, own=True), words_pattern(words, phones))
        return cls(words=words, phones=phones, names=_name_pairs(lead_ids), own=own)


def people_erase(lead_ids: list[int], *, now: dt.datetime) -> dict[str, int]:
    """Remove every personal value of the people of `lead_ids` (each person with all of
    their merged leads among them), in the caller's transaction with the leads locked.
    Returns how many rows of each kind changed.

    Two sets of words: in the person's own rows (every row that points at one of their
    leads) any profile value is theirs; in everyone else's (a digest, a note on another
    lead, a stored API answer, another job's file) only what names them alone: email,
    full name, phone. The first is applied table by table, the second to every free-text
    column of every table (`_sweep`), so a table added later is covered without a word
    here."""
    person = _Identity.of(lead_ids)
    counts = leads_anonymise(lead_ids, now=now, pattern=person.own)
    counts["import_rows"] = _import_rows_erase(lead_ids, person)
    counts["import_files"] = _import_files_erase(person)
    counts["referrals"] = _referrals_erase(lead_ids, person.emails)
    counts["own_rows"] = _own_rows_erase(lead_ids, person.own)
    counts["admin_history"] = _admin_history_erase(lead_ids, person.own)
    counts["other_rows"] = _sweep(person)
    return counts


def _joined(first, second):
    """One pattern for what either pattern finds."""
    if first is None or second is None:
        return first or second
    return re.compile(f"{first.pattern}|{second.pattern}", re.IGNORECASE)


def _referred_words(lead_ids: list[int]) -> tuple[set[str], set[str]]:
    """What colleagues wrote about the person when they referred them (an address or a
    phone spelled otherwise than on the lead)."""
    words: set[str] = set()
    phones: set[str] = set()
    for email, first, last, phone in Referral.objects.filter(lead_id__in=lead_ids).values_list(
        "email", "first_name", "last_name", "phone"
    ):
        words |= {email, f"{first} {last}" if first and last else ""}
        phones.add(phone)
    return {w for w in words if w}, {p for p in phones if p}


def _name_pairs(lead_ids: list[int]) -> set[tuple[str, str]]:
    """(first, last) names of the person, folded: a row of a file that has both in its
    cells names them even when its address is mistyped."""
    pairs = set(Lead.objects.filter(pk__in=lead_ids).values_list("first_name", "last_name"))
    pairs |= set(Referral.objects.filter(lead_id__in=lead_ids).values_list("first_name", "last_name"))
    return {(f.strip().casefold(), n.strip().casefold()) for f, n in pairs if f.strip() and n.strip()}


def _names_in(cells, person: _Identity) -> bool:
    """Whether a row (its cells) names the person: a cell with their email, full name or
    phone, or their first and last names in cells of their own."""
    texts = [str(cell) for cell in cells if cell not in (None, "")]
    naming = person.naming
    if naming is not None and any(naming.search(text) for text in texts):
        return True
    folded = {text.strip().casefold() for text in texts}
    return any(first in folded and last in folded for first, last in person.names)


def _import_rows_erase(lead_ids: list[int], person: _Identity) -> int:
    """The rows of import jobs that carried the person (as uploaded, kept for the failed
    rows file): their cells go; the row number and outcome stay, so a job's counts do."""
    rows = ImportRow.objects.filter(pk__in=_import_rows_of(lead_ids, person))
    return rows.update(email="", values={}, message=ERASED)


def _import_rows_of(lead_ids: list[int], person: _Identity) -> list[int]:
    """The import rows that carried the person: those of their leads or addresses, and any
    other whose cells name them (a row that failed for a mistyped address)."""
    found = set(
        ImportRow.objects.filter(Q(lead_id__in=lead_ids) | Q(email__in=person.emails)).values_list(
            "pk", flat=True
        )
    )
    # Candidates in SQL (any of their words), then each row's cells looked at here.
    pattern = sql_pattern(person.words | {name for pair in person.names for name in pair}, person.phones)
    if pattern is not None:
        rows = ImportRow.objects.exclude(pk__in=found).annotate(_text=Cast("values", TextField()))
        for pk, values in rows.filter(_text__iregex=pattern).values_list("pk", "values").iterator():
            cells = values.values() if isinstance(values, dict) else [values]
            if _names_in(cells, person):
                found.add(pk)
    return sorted(found)


def _import_files_erase(person: _Identity) -> int:
    """Uploaded files still waiting to be imported (mapping or queued) that name the
    person are written again without the rows that do (as CSV: each such row's cells
    blank, so row numbers stay). A finished import keeps no file (`smarketing.intake.run`)."""
    if person.naming is None and not person.names:
        return 0
    changed = 0
    waiting = ImportJob.objects.filter(status__in=[ImportStatus.MAPPING, ImportStatus.QUEUED])
    for job in waiting.select_for_update():
        try:
            with files.file_open(job) as stream:
                raw = stream.read()
        except FileNotFoundError:
            continue
        cleaned = _file_without(raw, job, person)
        if cleaned is None:
            continue
        files.file_remove(job)
        files.file_store(job, [cleaned])
        job.encoding, job.delimiter = "utf-8", ","
        job.file_size = len(cleaned)
        job.sha256 = hashlib.sha256(cleaned).hexdigest()
        job.save(update_fields=["encoding", "delimiter", "file_size", "sha256"])
        changed += 1
    return changed


def _file_without(raw: bytes, job: ImportJob, person: _Identity) -> bytes | None:
    """`raw` (the job's file) as CSV with every row that names the person blanked, or
    None when no row does."""
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
        if _names_in(row, person):
            found = True
            row = ["" for _ in row]
        writer.writerow(row)
    return out.getvalue().encode("utf-8") if found else None


def _xlsx_rows(raw: bytes) -> tuple[list[str], list[list[str]]]:
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    try:
        rows = [[reading.cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    return (rows[0] if rows else []), rows[1:]


def _referrals_erase(lead_ids: list[int], emails: set[str]) -> int:
    """The colleagues' referrals of the person: the contact they typed and what they said.
    Who referred, when, and what it became stay (the referrer's credit is a figure)."""
    referrals = Referral.objects.filter(Q(lead_id__in=lead_ids) | Q(email__in=emails))
    # A referral always says why (`referral_context_given`): the erased text says so.
    return referrals.update(
        email="", first_name="", last_name="", company="", phone="", job_title="", context=ERASED
    )


# Tables of the person's own rows that the erasure treats row by row elsewhere: the funnel's
# (`leads_anonymise`), import rows and referrals (their cells go whole), the audit itself.
_OWN_ELSEWHERE = {
    "leads.Lead",
    "leads.LeadEvent",
    "leads.Engagement",
    "leads.Touch",
    "intake.ImportRow",
    "intake.Referral",
    "privacy.PrivacyAudit",
}
# Tables swept for the person's words in nobody's rows: people's accounts and logins (the
# employees' own data, not the person's), Django's bookkeeping, the privacy audit (it
# never holds a personal value), the leads' profiles (the funnel's, handled above; another
# lead's profile is that person's own values), and the reports' kept counts (keys only).
_NOT_SWEPT_APPS = {"auth", "contenttypes", "sessions", "authtoken", "axes"}
_NOT_SWEPT = {
    "privacy.PrivacyAudit",
    "leads.Lead",
    "reports.FunnelFact",
    "reports.FunnelRollup",
    "reports.FunnelValue",
}


# Text columns that hold the program's codes, not words: a notification's key (changed, the
# same message could be made twice), a file's hash, place and format.
_CODES = {
    "notifications.Notification.dedupe_key",
    "intake.ImportJob.sha256",
    "intake.ImportJob.stored_path",
    "intake.ImportJob.encoding",
    "intake.ImportJob.delimiter",
    "intake.IdempotencyRecord.request_hash",
}


def _free_text(model) -> list:
    """The columns of `model` that hold words people wrote or a program copied: text and
    JSON, not codes (choices, `_CODES`), keys (unique) nor bytes."""
    return [
        column
        for column in model._meta.concrete_fields
        if isinstance(column, CharField | TextField | JSONField)
        and not column.choices
        and not column.unique
        and not column.primary_key
        and f"{model._meta.label}.{column.name}" not in _CODES
    ]


def _scrub_rows(rows, columns: list, pattern) -> int:
    """Take `pattern` out of `columns` of `rows` (a queryset); returns the rows changed."""
    if pattern is None or not columns:
        return 0
    model = rows.model
    changed = 0
    names = [column.attname for column in columns]
    for pk, *values in rows.values_list("pk", *names).iterator(chunk_size=2000):
        new = {}
        for column, value in zip(columns, values, strict=True):
            if isinstance(column, JSONField):
                cleaned = scrub_json(value, pattern)
            else:
                cleaned = scrub_text(value, pattern)
                if cleaned != value and column.max_length:
                    cleaned = cleaned[: column.max_length]
            if cleaned != value:
                new[column.attname] = cleaned
        if new:
            changed += _row_update(model, pk, new)
    return changed


def _row_update(model, pk, values: dict) -> int:
    """UPDATE one row as the erasure may (an event is immutable to every other writer); a
    text that now equals another row's under a unique constraint gets the row's id."""
    rows = model._base_manager.filter(pk=pk)
    try:
        with transaction.atomic():
            return models.QuerySet.update(rows, **values)
    except IntegrityError:
        return models.QuerySet.update(
            rows, **{key: _told_apart(model, key, value, pk) for key, value in values.items()}
        )


def _told_apart(model, attname: str, value, pk) -> Any:
    if not isinstance(value, str):
        return value
    suffix = f" ({pk})"
    room = model._meta.get_field(attname).max_length
    return (value[: room - len(suffix)] if room else value) + suffix


def _lead_links(model) -> list:
    """`model`'s foreign keys to a lead (hidden ones too)."""
    return [
        column
        for column in model._meta.concrete_fields
        if column.is_relation and column.related_model is Lead
    ]


def _own_rows_erase(lead_ids: list[int], pattern) -> int:
    """Every other row that points at one of the person's leads (notifications about them,
    their consent answers, a table added later): any of their values goes from its text."""
    changed = 0
    for model in apps.get_models():
        if model._meta.label in _OWN_ELSEWHERE or model._meta.proxy or not model._meta.managed:
            continue
        for link in _lead_links(model):
            rows = model._base_manager.filter(**{f"{link.attname}__in": lead_ids})
            changed += _scrub_rows(rows, _free_text(model), pattern)
    return changed


def _naming_rows(person: _Identity):
    """(column, rows) of every free-text column of every table but the ones not swept:
    the rows whose text names the person (email, full name, phone in any spelling),
    found in SQL."""
    pattern = sql_pattern(person.words, person.phones)
    if person.naming is None or pattern is None:
        return
    for model in apps.get_models():
        label = model._meta.label
        if model._meta.app_label in _NOT_SWEPT_APPS or label in _NOT_SWEPT:
            continue
        if model._meta.proxy or not model._meta.managed:
            continue
        for column in _free_text(model):
            rows = model._base_manager.order_by()
            if isinstance(column, JSONField):
                rows = rows.annotate(_text=Cast(column.attname, TextField())).filter(_text__iregex=pattern)
            else:
                rows = rows.filter(**{f"{column.attname}__iregex": pattern})
            yield column, rows


def _sweep(person: _Identity) -> int:
    """Every free-text column of every other table: the words that name the person go."""
    return sum(_scrub_rows(rows, [column], person.naming) for column, rows in _naming_rows(person))


def _mentions(ids: list[int], person: _Identity) -> list[dict[str, Any]]:
    """For the export: the rows outside the person's own that name them (a note on a
    colleague's lead, a digest, a stored form answer) — what the erasure's sweep would
    change, read only."""
    found = []
    for column, rows in _naming_rows(person):
        model = rows.model
        for link in _lead_links(model):  # the person's own rows are in their sections
            rows = rows.exclude(**{f"{link.attname}__in": ids})
        if model is Lead:
            continue
        for pk, value in rows.values_list("pk", column.attname)[:MENTIONS_MAX]:
            found.append({"table": model._meta.label, "column": column.name, "id": pk, "text": value})
    return found


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
    reference = _reference(reference, required=False, words=words, phones=phones)
    sections = person_data(ids)
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
    content = buffer.getvalue()
    # Recorded once the file is made: an export that failed is no export.
    PrivacyAudit.objects.create(
        action=PrivacyAction.EXPORT,
        actor=actor if actor is not None and actor.is_authenticated else None,
        lead_id=ids[0],
        reference=reference,
        detail={"lead_ids": ids, **{name: len(rows) for name, rows in sections.items()}},
    )
    return f"person-lead-{ids[0]}-{stamp}.zip", content


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


def person_data(ids: list[int], *, mentions: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every section of a person's data: what each table holds about them. `mentions`:
    also the rows elsewhere that name them, which reads every free-text column of every
    table (the export does; the person's page, shown often, does not)."""
    person = _Identity.of(ids)
    pattern_rows = Notification.objects.filter(lead_id__in=ids)
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
            ImportRow.objects.filter(pk__in=_import_rows_of(ids, person))
            .order_by("job_id", "row_number")
            .values("job_id", "job__file_name", "row_number", "outcome", "message", "email", "values")
        ),
        "referrals": list(
            Referral.objects.filter(Q(lead_id__in=ids) | Q(email__in=person.emails)).values(
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
        **({"mentions": _mentions(ids, person)} if mentions else {}),
    }


__all__ = ["ERASED", "may_manage_privacy", "people_erase", "person_data", "person_erase", "person_export"]

"""The privacy tests' shared parts: one person with a full history made through the real
paths, a scan of every text column of every table for what names them, and every report
figure read the ways users read them (docs/privacy.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.db.models.functions import Cast
from django.http import QueryDict
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from leads import selectors, services
from leads.filters import LeadFilter, Segment
from leads.models import Engagement, Lead, LeadEvent, Stage, TouchKind, TouchOutcome
from reports import dashboard
from reports.models import WeekSnapshot
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.intake import imports, inbound
from smarketing.intake import run as intake_run
from smarketing.intake.models import ImportJob, ImportStatus, StoredIn
from smarketing.intake.referrals import referral_submit
from smarketing.org.models import Campaign, EngagementType, Team

# The person: every value distinctive, so that a scan finds only them.
FIRST, LAST = "Zebulon", "Quaxworth"
EMAIL = "zebulon.q@quax.example"
OTHER_EMAIL = "z.quaxworth@old-quax.example"  # their duplicate lead's address
PHONE = "+49 30 99887766"
PHONE_WRITTEN = "+49-30-998 877 66"  # the same phone as a colleague typed it in a note
COMPANY = "Quaxworth Consulting"
# As a marketer typed it when the person said yes on the phone.
CONSENT_WORDING = f"Newsletter v4, agreed by {FIRST} {LAST} on the phone"
PERSON_WORDS = (FIRST, LAST, EMAIL, OTHER_EMAIL)
PERSON_PHONES = (PHONE,)

IMPORT_CSV = (
    "First Name,Last Name,Email,Phone,Company,Job Title,Country,Number of Employees,Consent,Consent wording\n"
    "Olga,Ostrova,olga.o@example.org,,Ostrova AG,CTO,DE,40,,\n"
    f"{FIRST},{LAST},{EMAIL},{PHONE},{COMPANY},Partner,DE,120,given,Newsletter v3\n"
    # The same person again with a mistyped address: fails in every import of the file.
    f"{FIRST},{LAST},zebulon.q(at)quax.example,{PHONE},{COMPANY},,DE,,,\n"
)


# --- the scan -----------------------------------------------------------------------------------

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, memoryview | bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass
class Hit:
    where: str
    pk: object
    found: str
    text: str

    def __repr__(self) -> str:
        return f"{self.where}#{self.pk} has {self.found!r}: {self.text[:160]!r}"


def text_columns() -> Iterator[tuple[type[models.Model], models.Field]]:
    """Every concrete text column of every table: CharField (Email, URL, Slug…), TextField,
    JSONField and BinaryField."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for column in model._meta.concrete_fields:
            if isinstance(column, TEXT_FIELDS):
                yield model, column


def scan(words=PERSON_WORDS, phones=PERSON_PHONES, *, files: Path | None = None) -> list[Hit]:
    """Every row of every table (and every file under `files`) whose text contains one of
    `words` (case-insensitive) or the digits of one of `phones` (digits of the text)."""
    lowered = [w.casefold() for w in words]
    numbers = [digits(p) for p in phones]

    def found(text: str) -> str | None:
        folded = text.casefold()
        for word in lowered:
            if word in folded:
                return word
        text_digits = digits(text)
        return next((n for n in numbers if n in text_digits), None)

    hits: list[Hit] = []
    for model, column in text_columns():
        rows = model._base_manager.order_by()
        if isinstance(column, models.JSONField):
            # As the database writes it as text, and as the program reads it (SQLite keeps
            # JSON with "ü" as "\\u00fc").
            rows = rows.annotate(_as_text=Cast(column.attname, models.TextField())).values_list(
                "pk", "_as_text", column.attname
            )
        else:
            rows = rows.values_list("pk", column.attname)
        for pk, value, *decoded in rows.iterator():
            text = _text(value)
            if decoded:
                text += " " + json.dumps(decoded[0], ensure_ascii=False)
            if text.strip() and (what := found(text)):
                hits.append(Hit(f"{model._meta.label}.{column.name}", pk, what, text))
    if files is not None:
        for path in files.rglob("*"):
            if path.is_file():
                text = path.read_bytes().decode("utf-8", errors="replace")
                if what := found(text):
                    hits.append(Hit(f"file {path.name}", None, what, text))
    return hits


# --- the person's history ------------------------------------------------------------------------


@dataclass
class Crew:
    """Who acts: a marketer, a marketing and a sales manager, an employee who refers people."""

    marketer: object
    marketing_manager: object
    sales_manager: object
    employee: object
    admin: object


@dataclass
class Person:
    lead: Lead
    duplicate: Lead
    jobs: dict[str, ImportJob] = field(default_factory=dict)
    other: Lead | None = None  # Olga, imported in the same file

    @property
    def ids(self) -> list[int]:
        return [self.lead.pk, self.duplicate.pk]


def _upload(actor, name: str = "contacts.csv") -> ImportJob:
    return imports.import_upload(actor=actor, uploaded=SimpleUploadedFile(name, IMPORT_CSV.encode()))


def _import(actor, commit) -> ImportJob:
    job = _upload(actor)
    with commit(execute=False):
        imports.import_start(actor=actor, job_id=job.pk)
    return intake_run.import_run(job_id=job.pk)


def reason(kind: str, **extra) -> Reason:
    return Reason.objects.active().of_kind(kind).filter(**extra).order_by("position").first()


def build_person(cast: Crew, start: dt.datetime, commit, *, storage_dir: Path | None = None) -> Person:
    """One person's full history through the real paths, each step an hour or a day after
    `start`: imported (and imported again, a row failing), a file still waiting for its
    mapping, engagements and an inbound form, notes, a profile edit, handed off, rejected,
    recycled, handed off again, accepted, touches, a referral, won, merged with their
    duplicate, an admin's change. `commit` is pytest-django's
    `django_capture_on_commit_callbacks` (notifications are made after commit)."""

    def at(hours: float) -> time_machine.travel:
        return time_machine.travel(start + dt.timedelta(hours=hours), tick=False)

    jobs: dict[str, ImportJob] = {}
    with at(0), commit(execute=True):
        jobs["first"] = _import(cast.marketer, commit)
    assert (jobs["first"].created_count, jobs["first"].failed_count) == (2, 1), jobs["first"]
    lead = Lead.objects.get(email=EMAIL)
    other = Lead.objects.get(email="olga.o@example.org")
    with at(0.5), commit(execute=True):
        jobs["again"] = _import(cast.marketer, commit)
    assert (jobs["again"].skipped_count, jobs["again"].failed_count) == (2, 1)
    with at(0.6):
        jobs["waiting"] = _upload(cast.marketer, "contacts-again.csv")
    if storage_dir is not None:
        # A file waiting in the import storage (S3 in production), outside the database.
        with at(0.7), override_settings(SMARKETING_IMPORT_STORAGE="s3"):
            jobs["waiting_storage"] = _upload(cast.marketer, "contacts-bucket.csv")
        assert jobs["waiting_storage"].stored_in == StoredIn.STORAGE
        assert any(storage_dir.iterdir())
    with at(1), commit(execute=True):
        services.engagement_log(
            lead_id=lead.pk,
            actor=cast.marketer,
            type=EngagementType.PAGE_VIEW,
            title=f"{FIRST} {LAST} read the pricing page",
            url=f"https://quax.example/{FIRST.lower()}-{LAST.lower()}",
            points=2,
        )
        services.engagement_log(
            lead_id=lead.pk,
            actor=cast.marketer,
            type=EngagementType.WEBINAR_ATTENDED,
            title=f"Webinar with {EMAIL}",
            points=5,
        )
    with at(1.5), commit(execute=True):
        services.lead_note_add(
            lead_id=lead.pk,
            actor=cast.marketer,
            text=f"Spoke to {FIRST} {LAST} ({EMAIL}, {PHONE_WRITTEN}); @{cast.marketing_manager.username} FYI.",
        )
        services.lead_update(lead_id=lead.pk, actor=cast.marketer, job_title=f"Managing Partner at {LAST}")
        services.lead_consent_record(
            lead_id=lead.pk, actor=cast.marketer, consent="given", consent_wording=CONSENT_WORDING
        )
    with at(2), commit(execute=True):
        lead = services.lead_qualify(lead_id=lead.pk, actor=cast.marketer, note=f"{FIRST} wants a demo")
    rep = lead.owner
    assert rep is not None
    with at(20), commit(execute=True):
        services.lead_reject(
            lead_id=lead.pk,
            actor=rep,
            reason=reason(ReasonKind.REJECTION),
            note=f"{FIRST} {LAST} is a student, call {PHONE} to check",
        )
    with at(22), commit(execute=True):
        services.lead_qualify(
            lead_id=lead.pk, actor=cast.marketer, note=f"{LAST} runs the firm now, see {EMAIL}"
        )
    lead.refresh_from_db()
    rep = lead.owner
    with at(24), commit(execute=True):
        services.lead_accept(lead_id=lead.pk, actor=rep, note=f"Calling {FIRST} tomorrow")
    with at(25), commit(execute=True):
        for kind, outcome in (
            (TouchKind.CALL, TouchOutcome.NO_ANSWER),
            (TouchKind.CALL, TouchOutcome.CONNECTED),
        ):
            services.touch_log(
                lead_id=lead.pk,
                actor=rep,
                kind=kind,
                outcome=outcome,
                note=f"Rang {FIRST} on {PHONE_WRITTEN}",
            )
        referral_submit(
            referrer=cast.employee,
            email=EMAIL.upper(),
            context=f"{FIRST} {LAST} asked me about pricing at the fair",
            first_name=FIRST,
            last_name=LAST,
            phone=PHONE,
            company=COMPANY,
        )
        source, _key = inbound.inbound_source_create(actor=cast.marketing_manager, name="Contact form")
        inbound.inbound_submit(
            inbound=source,
            payload={"email": EMAIL, "form": f"Contact form ({FIRST} {LAST})", "first_name": FIRST},
            idempotency_key=f"{EMAIL}-contact-1",
        )
    with at(26), commit(execute=True):
        duplicate = services.lead_create(
            actor=cast.marketer,
            email=OTHER_EMAIL,
            first_name=FIRST,
            last_name=LAST,
            phone=PHONE,
            company=COMPANY,
            country="DE",
            source="event",
        )
        services.lead_merge(
            survivor_id=lead.pk,
            other_id=duplicate.pk,
            actor=cast.sales_manager,
            note=f"Same {FIRST}, old address",
        )
    with at(27), commit(execute=True):
        lead = services.lead_win(
            lead_id=lead.pk, actor=rep, amount="12345.67", closed_on=start.date(), note=f"{LAST} signed"
        )
    with at(27.5):
        LogEntry.objects.log_actions(
            cast.admin.pk,
            [Lead.objects.get(pk=lead.pk)],
            CHANGE,
            change_message=f"Fixed the phone of {FIRST} {LAST} to {PHONE}",
            single_object=True,
        )
    lead.refresh_from_db()
    duplicate.refresh_from_db()
    assert lead.stage == Stage.CUSTOMER and duplicate.merged_into_id == lead.pk
    assert lead.recycle_count == 1 and lead.referrer_id == cast.employee.pk
    return Person(lead=lead, duplicate=duplicate, jobs=jobs, other=other)


# --- every report figure ------------------------------------------------------------------------


def drill_ids(url: str) -> list[int]:
    """The leads a drill-down URL lists: the lead list's own filters on its parameters."""
    data = QueryDict(mutable=True)
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        data.appendlist(key, value)
    filters = LeadFilter(data, queryset=selectors.lead_list())
    assert filters.is_valid(), (url, filters.errors)
    return sorted(filters.qs.values_list("pk", flat=True))


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def report_figures(
    manager, first: dt.date, last: dt.date, scopes: list[dict], *, drill: bool = True, as_of_every: int = 3
) -> dict:
    """Every figure a user reads, keyed by where it is read: each dashboard table by API
    (whole dashboard, for each scope), its CSV export, the funnel as of days, marketing's
    commitments, each campaign's funnel, the goal calculator, the frozen weeks, and the
    leads behind every linked count of the unscoped dashboard."""
    api = APIClient()
    api.force_authenticate(manager)
    browser = Client()
    browser.force_login(manager)
    span = {"week": first.isoformat(), "week_to": last.isoformat()}
    figures: dict[str, object] = {}
    listed: dict[str, list[int]] = {}
    for scope in scopes:
        response = api.get("/api/reports/dashboard/", {**span, **scope})
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        figures[f"api dashboard {sorted(scope.items())}"] = body
        if drill and not scope:
            for table in body["tables"]:
                for number, links in enumerate(table["links"]):
                    for key, url in links.items():
                        if url not in listed:  # many figures share a drill-down
                            listed[url] = drill_ids(url)
                        figures[f"drill {table['slug']}[{number}].{key}"] = listed[url]
    for slug in [*dashboard.TABLES, "late-data"]:
        figures[f"csv {slug}"] = _csv(browser.get(f"/reports/export/{slug}.csv", span))
    day, today = first, timezone.localdate()
    while day <= today:
        response = api.get("/api/reports/funnel-as-of/", {"as_of": day.isoformat()})
        assert response.status_code == 200, response.content[:300]
        figures[f"as of {day}"] = response.json()
        day += dt.timedelta(days=as_of_every)
    figures["as of csv"] = _csv(browser.get("/reports/funnel/export.csv", {"as_of": today.isoformat()}))
    figures["commitments"] = api.get("/api/sla/commitments/").json()
    for campaign in Campaign.objects.order_by("pk"):
        figures[f"campaign {campaign.pk}"] = api.get(f"/api/campaigns/{campaign.pk}/funnel/").json()
    goal = api.get("/api/agreement/goal/", {"target": "100000", "weeks": "8", "window": "4"})
    figures["goal"] = (goal.status_code, goal.json())
    figures["snapshots"] = list(
        WeekSnapshot.objects.order_by("week_start").values_list("week_start", "figures")
    )
    return figures


def scopes_of(lead: Lead) -> list[dict]:
    """The dashboard unscoped and scoped to each of the lead's own filter values."""
    lead.refresh_from_db()
    team = Team.objects.filter(memberships__user=lead.owner).first() if lead.owner_id else None
    size = lead.company_size
    if size is None:
        segment = Segment.UNKNOWN
    else:
        segment = Segment.SMALL if size < 50 else (Segment.MID if size < 1000 else Segment.ENTERPRISE)
    scopes = [{}, {"source": lead.source}, {"segment": segment}]
    if lead.owner_id:
        scopes.append({"owner": str(lead.owner_id)})
    if team is not None:
        scopes.append({"team": str(team.pk)})
    if lead.campaign_id:
        scopes.append({"campaign": str(lead.campaign_id)})
    return scopes


def funnel_rows() -> dict[str, list]:
    """Every lead and event as the reports see them (no personal value)."""
    return {
        "leads": list(
            Lead.objects.order_by("pk").values_list(
                "pk",
                "stage",
                "stage_entered_at",
                "created_at",
                "owner_id",
                "source",
                "campaign_id",
                "referrer_id",
                "qualified_by_id",
                "qualified_at",
                "recycle_count",
                "deal_amount",
                "closed_on",
                "merged_into_id",
                "country",
                "company_size",
                "score",
            )
        ),
        "events": list(
            LeadEvent.objects.order_by("pk").values_list(
                "pk", "lead_id", "type", "from_stage", "to_stage", "occurred_at", "actor_id", "reason_id"
            )
        ),
        "engagements": list(
            Engagement.objects.order_by("pk").values_list("pk", "lead_id", "type", "occurred_at", "points")
        ),
    }


def differences(before, after, path: str = "", found: list | None = None) -> list[str]:
    """Where `after` differs from `before`: each differing value's path and both values
    (the first 30)."""
    found = [] if found is None else found
    if len(found) >= 30:
        return found
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before.keys() | after.keys():
            differences(before.get(key), after.get(key), f"{path}/{key}", found)
    elif isinstance(before, list | tuple) and isinstance(after, list | tuple) and len(before) == len(after):
        for number, (one, other) in enumerate(zip(before, after, strict=True)):
            differences(one, other, f"{path}[{number}]", found)
    elif before != after:
        found.append(f"{path}: {before!r} -> {after!r}")
    return found


@pytest.fixture
def person_cast(org) -> Crew:
    return Crew(
        marketer=org.marketer,
        marketing_manager=org.marketing_manager,
        sales_manager=org.sales_manager,
        employee=org.employee,
        admin=org.admin,
    )


def waiting_jobs() -> list[ImportJob]:
    return list(ImportJob.objects.filter(status=ImportStatus.MAPPING).order_by("pk"))


@pytest.fixture
def import_bucket(settings, tmp_path) -> Path:
    """The import storage (an S3 bucket in production) as a folder: files waiting there
    are outside the database."""
    folder = tmp_path / "imports"
    folder.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "imports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder

"""Erasure that keeps the counts (issue 28, docs/privacy.md): a person with a full history
is erased; every report figure stays as it was, and no text column of any table (nor a
file waiting in the import storage) holds their name, email or phone any more."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from leads import services
from leads.models import Engagement, Lead, LeadEvent, Touch, TouchKind, TouchOutcome
from reports.commitments import commitments_close_weeks
from reports.snapshots import freeze_finished_weeks
from smarketing.core.errors import ActionError
from smarketing.core.scrub import ERASED
from smarketing.core.weeks import monday_of
from smarketing.intake import files, imports, inbound
from smarketing.intake import run as intake_run
from smarketing.intake.models import IdempotencyRecord
from smarketing.notifications.models import Notification
from smarketing.org.models import EngagementType
from smarketing.privacy.models import PrivacyAction, PrivacyAudit
from smarketing.privacy.services import person_erase
from tests.privacy.conftest import (
    EMAIL,
    FIRST,
    LAST,
    OTHER_EMAIL,
    PHONE,
    Crew,
    build_person,
    differences,
    funnel_rows,
    report_figures,
    scan,
    scopes_of,
)

pytestmark = pytest.mark.django_db

SEEDED_AT = dt.datetime.fromisoformat("2026-11-11T15:30:00+01:00")  # a Wednesday
WEEKS = 4
PERSON_FROM = dt.datetime.fromisoformat("2026-11-11T16:00:00+01:00")
FROZEN_AT = dt.datetime.fromisoformat("2026-11-24T09:00:00+01:00")  # weeks 46 and 47 done
ERASED_AT = dt.datetime.fromisoformat("2026-11-24T10:00:00+01:00")
REFERENCE = "REQ-2026-0042"


def demo_cast() -> Crew:
    users = {u.username: u for u in get_user_model().objects.all()}
    return Crew(
        marketer=users["marketer"],
        marketing_manager=users["manager.marketing"],
        sales_manager=users["manager.sales"],
        employee=users["technician"],
        admin=users["admin"],
    )


def test_erasing_a_person_keeps_every_figure_and_leaves_nothing_that_names_them(
    django_capture_on_commit_callbacks, import_bucket
):
    with time_machine.travel(SEEDED_AT + dt.timedelta(minutes=2), tick=False):
        call_command(
            "seed_demo",
            *("--leads", "50", "--weeks", str(WEEKS), "--seed", "7", "--now", SEEDED_AT.isoformat()),
            "--no-logins",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert scan(files=import_bucket) == [], "the demo has nobody like them"
    cast = demo_cast()
    person = build_person(cast, PERSON_FROM, django_capture_on_commit_callbacks, storage_dir=import_bucket)
    with time_machine.travel(FROZEN_AT, tick=False):
        assert freeze_finished_weeks() >= 2  # the person's weeks are frozen too
        commitments_close_weeks()

    # The scan sees the person everywhere their history put them.
    where = {hit.where for hit in scan(files=import_bucket)}
    assert {
        "leads.Lead.first_name",
        "leads.Lead.email",
        "leads.Lead.phone",
        "leads.Lead.consent_wording",
        "leads.ConsentRecord.wording",
        "leads.LeadEvent.note",
        "leads.LeadEvent.data",
        "leads.Engagement.title",
        "leads.Touch.note",
        "notifications.Notification.subject",
        "notifications.Notification.body",
        "intake.ImportRow.values",
        "intake.ImportFileChunk.data",
        "intake.Referral.context",
        "intake.IdempotencyRecord.key",
        "admin.LogEntry.object_repr",
        "admin.LogEntry.change_message",
    } <= where, where
    assert any(w.startswith("file ") for w in where)
    kinds = set(Notification.objects.filter(lead=person.lead).values_list("kind", flat=True))
    assert {"mql_assigned", "mql_rejected", "lead_won", "mentioned", "referral_converted"} <= kinds

    first_week = monday_of(SEEDED_AT.date()) - dt.timedelta(weeks=WEEKS)
    last_week = monday_of(ERASED_AT.date())
    scopes = scopes_of(person.lead)
    manager = cast.sales_manager
    with time_machine.travel(ERASED_AT, tick=False):
        before = report_figures(manager, first_week, last_week, scopes)
        rows = funnel_rows()
        with django_capture_on_commit_callbacks(execute=True):
            audit = person_erase(
                lead_id=person.duplicate.pk, actor=cast.marketing_manager, reference=REFERENCE
            )
        after = report_figures(manager, first_week, last_week, scopes)

    # (a) Every figure as it was, to the cent and the second.
    assert sum(1 for key in before if key.startswith("drill ")) > 100
    assert differences(before, after) == []
    # (b) Nothing names them: no table, no waiting file.
    assert scan(files=import_bucket) == []
    # (c) The leads and their events stay, anonymous, as the reports count them.
    assert funnel_rows() == rows
    for lead in Lead.objects.filter(pk__in=person.ids):
        assert lead.erased_at == ERASED_AT
        assert (lead.first_name, lead.last_name, lead.phone, lead.company) == ("", "", "", "")
        assert lead.email == f"erased-{lead.pk}@erased.invalid"
        assert str(lead) == f"Erased person (lead {lead.pk})"
    assert LeadEvent.objects.filter(lead_id__in=person.ids).exclude(note="").count() == 0
    # Olga, imported from the same file, keeps everything.
    person.other.refresh_from_db()
    assert (person.other.first_name, person.other.email, person.other.erased_at) == (
        "Olga",
        "olga.o@example.org",
        None,
    )
    # The files still waiting for their mapping, in the database and in the import storage:
    # the same rows, Olga's intact, the person's blank.
    for job in (person.jobs["waiting"], person.jobs["waiting_storage"]):
        job.refresh_from_db()
        with files.file_open(job) as stream:
            lines = stream.read().decode("utf-8").splitlines()
        assert len(lines) == 4 and lines[1].startswith("Olga,Ostrova,olga.o@example.org,")
        assert lines[2] == lines[3] == "," * 9
    # The failed rows of the imports that carried them: the row is there, its cells not.
    failed = list(imports.failed_rows(person.jobs["again"]))
    assert len(failed) == 2 and failed[1][-2] == 4
    assert not any(FIRST in str(cell) or PHONE in str(cell) for cell in failed[1])
    # (d) The audit: who, when, the request's reference, how much; nothing that was erased.
    assert PrivacyAudit.objects.filter(action=PrivacyAction.ERASURE).count() == 1
    assert (audit.actor, audit.at, audit.reference, audit.lead_id) == (
        cast.marketing_manager,
        ERASED_AT,
        REFERENCE,
        person.lead.pk,
    )
    assert sorted(audit.detail["lead_ids"]) == sorted(person.ids)
    assert audit.detail["leads"] == 2 and audit.detail["events"] > 5
    recorded = f"{audit.reference} {audit.detail}".casefold()
    assert not any(word.casefold() in recorded for word in (FIRST, LAST, EMAIL, "99887766"))


# --- who may, and what is refused ----------------------------------------------------------------


@pytest.fixture
def zebulon(org, make_lead, django_capture_on_commit_callbacks):
    """The person as a plain lead with a note naming them (no seeded organisation)."""
    lead = make_lead(
        first_name=FIRST, last_name=LAST, email=EMAIL, phone=PHONE, company="Quaxworth Consulting"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_note_add(lead_id=lead.pk, actor=org.marketer, text=f"{FIRST} {LAST} asked for a call")
    lead.refresh_from_db()
    return lead


def profile(lead_id: int) -> tuple:
    return Lead.objects.values_list("first_name", "last_name", "email", "phone", "erased_at", "version").get(
        pk=lead_id
    )


@pytest.mark.parametrize("who", ["rep", "marketer", "marketer2", "employee", "rep2"])
def test_only_managers_may_erase(org, zebulon, who):
    before = profile(zebulon.pk)
    with pytest.raises(ActionError) as refused:
        person_erase(lead_id=zebulon.pk, actor=getattr(org, who), reference=REFERENCE)
    assert refused.value.code == ActionError.FORBIDDEN
    assert profile(zebulon.pk) == before
    assert not PrivacyAudit.objects.exists()


@pytest.mark.parametrize(
    "reference",
    ["", "   ", None, f"{LAST} asked", f"ticket from {EMAIL.upper()}", "call +49 (30) 998-877-66", "x" * 101],
)
def test_a_missing_reference_or_one_that_names_the_person_is_refused(org, zebulon, reference):
    before = profile(zebulon.pk)
    notes = list(LeadEvent.objects.filter(lead=zebulon).values_list("note", flat=True))
    with pytest.raises(ActionError) as refused:
        person_erase(lead_id=zebulon.pk, actor=org.marketing_manager, reference=reference)
    assert set(refused.value.fields) == {"reference"}
    assert profile(zebulon.pk) == before
    assert list(LeadEvent.objects.filter(lead=zebulon).values_list("note", flat=True)) == notes
    assert not PrivacyAudit.objects.exists()


def test_managers_and_admins_may_erase_and_a_second_erasure_is_refused(org, zebulon):
    audit = person_erase(lead_id=zebulon.pk, actor=org.sales_manager, reference="T-1")
    assert (audit.action, audit.actor, audit.lead_id) == (
        PrivacyAction.ERASURE,
        org.sales_manager,
        zebulon.pk,
    )
    erased = profile(zebulon.pk)
    assert erased[:4] == ("", "", f"erased-{zebulon.pk}@erased.invalid", "")
    with pytest.raises(ActionError) as refused:
        person_erase(lead_id=zebulon.pk, actor=org.admin, reference="T-2")
    assert refused.value.code == ActionError.WRONG_STAGE and "erased already" in refused.value.message
    assert profile(zebulon.pk) == erased
    assert PrivacyAudit.objects.filter(action=PrivacyAction.ERASURE).count() == 1
    with pytest.raises(ActionError) as missing:
        person_erase(lead_id=zebulon.pk + 1000, actor=org.admin, reference="T-3")
    assert missing.value.code == ActionError.NOT_FOUND


@pytest.mark.parametrize("through", ["survivor", "merged"])
def test_erasing_any_lead_of_a_merge_erases_the_whole_person(org, zebulon, make_lead, through):
    first = make_lead(first_name=FIRST, last_name=LAST, email=OTHER_EMAIL, phone="+49 30 5550001")
    older = make_lead(first_name=FIRST, last_name=LAST, email="zq@third.example")
    # A chain: the oldest lead went into `first`, which later went into the survivor.
    services.lead_merge(survivor_id=first.pk, other_id=older.pk, actor=org.marketer)
    services.lead_merge(survivor_id=zebulon.pk, other_id=first.pk, actor=org.marketer)
    start = zebulon.pk if through == "survivor" else older.pk
    audit = person_erase(lead_id=start, actor=org.marketing_manager, reference="T-9")
    group = [zebulon.pk, first.pk, older.pk]
    assert sorted(audit.detail["lead_ids"]) == sorted(group)
    assert all(profile(pk)[4] is not None for pk in group)
    assert (
        scan(words=(FIRST, LAST, EMAIL, OTHER_EMAIL, "zq@third.example"), phones=(PHONE, "+49 30 5550001"))
        == []
    )


def test_an_erased_lead_takes_no_new_personal_value(
    org, zebulon, make_lead, django_capture_on_commit_callbacks
):
    person_erase(lead_id=zebulon.pk, actor=org.marketing_manager, reference="T-4")
    before = profile(zebulon.pk)
    events = LeadEvent.objects.filter(lead=zebulon).count()
    other = make_lead(first_name="Ola", last_name="Other", email="ola@example.org")
    attempts = {
        "profile": lambda: services.lead_update(lead_id=zebulon.pk, actor=org.marketer, first_name=FIRST),
        "email": lambda: services.lead_update(lead_id=zebulon.pk, actor=org.marketer, email=EMAIL),
        "note": lambda: services.lead_note_add(
            lead_id=zebulon.pk, actor=org.marketer, text=f"{FIRST} is back"
        ),
        "engagement": lambda: services.engagement_log(
            lead_id=zebulon.pk, actor=org.marketer, type=EngagementType.PAGE_VIEW, title="Pricing"
        ),
        "consent": lambda: services.lead_consent_record(
            lead_id=zebulon.pk, actor=org.marketer, consent="given", consent_wording="Newsletter v4"
        ),
        "merge into it": lambda: services.lead_merge(
            survivor_id=zebulon.pk, other_id=other.pk, actor=org.marketer
        ),
        "merge it away": lambda: services.lead_merge(
            survivor_id=other.pk, other_id=zebulon.pk, actor=org.marketer
        ),
    }
    for what, attempt in attempts.items():
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ActionError) as refused:
            attempt()
        assert refused.value.code == ActionError.WRONG_STAGE, what
        assert "erased" in refused.value.message, what
    assert profile(zebulon.pk) == before
    assert LeadEvent.objects.filter(lead=zebulon).count() == events
    assert not Engagement.objects.filter(lead=zebulon).exclude(title="").exists()
    assert Lead.objects.get(pk=other.pk).merged_into_id is None
    assert scan() == []
    # A new lead for the same address is a new person: the erased record does not hold it.
    again = services.lead_create(actor=org.marketer, email=EMAIL, first_name=FIRST, last_name=LAST)
    assert again.pk != zebulon.pk and Lead.objects.get(pk=zebulon.pk).erased_at is not None


def test_other_people_keep_what_only_resembles_the_person(
    org, zebulon, make_lead, django_capture_on_commit_callbacks
):
    """Another Zebulon keeps his first name everywhere; a note on his lead that names the
    erased person by full name, email or phone (in another spelling) loses those words only."""
    namesake = make_lead(first_name=FIRST, last_name="Smith", email="zebulon.smith@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_note_add(
            lead_id=namesake.pk,
            actor=org.marketer,
            text=f"{FIRST} Smith knows {FIRST} {LAST} ({EMAIL.upper()}, 0049 30 99-88-77-66). @rep",
        )
        services.lead_qualify(lead_id=namesake.pk, actor=org.marketer)
    person_erase(lead_id=zebulon.pk, actor=org.marketing_manager, reference="T-5")

    namesake.refresh_from_db()
    assert (namesake.first_name, namesake.last_name, namesake.email) == (
        FIRST,
        "Smith",
        "zebulon.smith@example.org",
    )
    note = LeadEvent.objects.get(lead=namesake, type="noted").note
    assert note == f"{FIRST} Smith knows {ERASED} ({ERASED}, {ERASED}). @rep"
    mention = Notification.objects.get(lead=namesake, kind="mentioned")
    assert f"{FIRST} Smith knows {ERASED}" in mention.body and LAST not in mention.body
    assigned = Notification.objects.get(lead=namesake, kind="mql_assigned")
    assert f"{FIRST} Smith" in assigned.subject
    # The namesake is all that is left of the first name, and nothing of the person.
    assert {hit.pk for hit in scan(words=(FIRST,), phones=())} >= {namesake.pk}
    assert scan(words=(LAST, EMAIL), phones=(PHONE,)) == []


def test_a_name_with_umlauts_is_found_in_text_and_json_on_every_database(
    org, make_lead, django_capture_on_commit_callbacks
):
    """SQLite keeps JSON with "ü" escaped; PostgreSQL folds "Ü" its own way: the failed row
    of an import (JSON) and a note on someone else's lead in capitals both lose the name."""
    lead = make_lead(first_name="Jürgen", last_name="Müller", email="juergen@mueller.example")
    other = make_lead(first_name="Ada", last_name="Other", email="ada@example.org")
    upload = (
        "First Name,Last Name,Email,Company\n"
        "Jürgen,Müller,juergen(at)mueller.example,Müller & Söhne\n"
        "Ada,Other,ada(at)example.org,Other Ltd\n"
    )
    job = imports.import_upload(
        actor=org.marketer, uploaded=SimpleUploadedFile("people.csv", upload.encode("utf-8"))
    )
    with django_capture_on_commit_callbacks(execute=False):
        imports.import_start(actor=org.marketer, job_id=job.pk)
    job = intake_run.import_run(job_id=job.pk)
    assert job.failed_count == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_note_add(lead_id=other.pk, actor=org.marketer, text="Met JÜRGEN MÜLLER at the fair")
    assert {hit.where for hit in scan(words=("Jürgen", "Müller"), phones=())} >= {
        "intake.ImportRow.values",
        "leads.LeadEvent.note",
    }

    person_erase(lead_id=lead.pk, actor=org.marketing_manager, reference="T-6")
    assert scan(words=("Jürgen", "Müller", "juergen"), phones=()) == []
    assert LeadEvent.objects.get(lead=other, type="noted").note == f"Met {ERASED} at the fair"
    # Ada's failed row keeps its cells.
    assert [row[0] for row in list(imports.failed_rows(job))[1:]] == ["", "Ada"]


def test_codes_in_the_event_log_survive_a_person_whose_name_they_contain(org, make_lead, reasons):
    """A person called Man, working at Recycle: "via": "manual" and the loss outcome
    "recycle" in their events are the program's codes, not their name."""
    lead = make_lead(first_name="Ada", last_name="Man", company="Recycle", email="ada.man@example.org")
    lead = services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    services.lead_accept(lead_id=lead.pk, actor=lead.owner)
    services.lead_lose(lead_id=lead.pk, actor=lead.owner, reason=reasons.loss_recycle)
    before = {
        event.pk: event.data
        for event in LeadEvent.objects.filter(lead=lead)
        if event.data.get("via") == "manual" or event.data.get("outcome") == "recycle"
    }
    assert len(before) == 2
    person_erase(lead_id=lead.pk, actor=org.marketing_manager, reference="T-7")
    after = dict(LeadEvent.objects.filter(pk__in=before).values_list("pk", "data"))
    assert after == before


def test_sales_still_works_an_erased_sql_without_writing_about_the_person(org, make_sql):
    """The follow-up clock still wants touches: a touch is logged, its note is refused."""
    lead = make_sql(first_name=FIRST, last_name=LAST, email=EMAIL)
    person_erase(lead_id=lead.pk, actor=org.sales_manager, reference="T-8")
    with pytest.raises(ActionError) as refused:
        services.touch_log(
            lead_id=lead.pk, actor=lead.owner, kind=TouchKind.CALL, outcome=TouchOutcome.CONNECTED, note=FIRST
        )
    assert refused.value.code == ActionError.WRONG_STAGE
    touch = services.touch_log(
        lead_id=lead.pk, actor=lead.owner, kind=TouchKind.CALL, outcome=TouchOutcome.CONNECTED
    )
    assert (touch.lead_id, touch.note) == (lead.pk, "")
    assert Touch.objects.filter(lead=lead).count() == 1


def test_stored_answers_that_would_become_equal_are_told_apart(org, zebulon):
    """Two retries of an inbound form keyed by the address, in two spellings: erased, both
    keys would read "[erased]-1" under the one-key-per-source rule."""
    source, _ = inbound.inbound_source_create(actor=org.marketing_manager, name="Contact form")
    for key in (f"{EMAIL}-1", f"{EMAIL.upper()}-1"):
        inbound.inbound_submit(inbound=source, payload={"email": EMAIL}, idempotency_key=key)
    person_erase(lead_id=zebulon.pk, actor=org.marketing_manager, reference="T-10")
    keys = dict(IdempotencyRecord.objects.values_list("pk", "key"))
    assert len(keys) == 2
    assert sorted(keys.values()) in ([f"{ERASED}-1", f"{ERASED}-1 ({pk})"] for pk in keys), keys
    assert scan() == []

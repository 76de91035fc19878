"""A person's data on request (docs/privacy.md): one zip, JSON and a CSV per section, with
everything held about the person across every lead merged into one; audited; managers only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import pytest

from leads import services
from leads.models import Lead
from smarketing.core.errors import ActionError
from smarketing.privacy.models import PrivacyAction, PrivacyAudit
from smarketing.privacy.services import person_erase, person_export
from tests.privacy.conftest import (
    CONSENT_WORDING,
    EMAIL,
    FIRST,
    LAST,
    OTHER_EMAIL,
    PHONE,
    build_person,
    digits,
)

pytestmark = pytest.mark.django_db

START = dt.datetime.fromisoformat("2026-11-09T09:00:00+01:00")
SECTIONS = {
    "profile",
    "consent",
    "events",
    "engagements",
    "touches",
    "notifications",
    "import_rows",
    "referrals",
    "mentions",
}


@pytest.fixture
def person(person_cast, django_capture_on_commit_callbacks):
    return build_person(person_cast, START, django_capture_on_commit_callbacks)


def unzip(content: bytes) -> tuple[dict, dict[str, list[dict]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        assert names == {"person.json", *(f"{section}.csv" for section in SECTIONS)}, names
        document = json.loads(archive.read("person.json"))
        tables = {
            name.removesuffix(".csv"): list(
                csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig")))
            )
            for name in names
            if name.endswith(".csv")
        }
    return document, tables


def test_the_zip_holds_everything_about_the_person_in_json_and_csv(org, person):
    name, content = person_export(lead_id=person.lead.pk, actor=org.marketing_manager, reference="REQ-7")
    assert name.startswith(f"person-lead-{person.lead.pk}-") and name.endswith(".zip")
    document, tables = unzip(content)
    assert sorted(document["leads"]) == sorted(person.ids) and document["reference"] == "REQ-7"
    for section in SECTIONS:
        # The CSV carries the JSON's rows, one for one.
        assert len(tables[section]) == len(document[section]), section

    profiles = {row["email"]: row for row in document["profile"]}
    assert set(profiles) == {EMAIL, OTHER_EMAIL}  # the survivor and the merged lead
    assert profiles[EMAIL]["first_name"] == FIRST and profiles[EMAIL]["phone"] == PHONE
    assert (
        profiles[EMAIL]["stage"] == "customer" and profiles[OTHER_EMAIL]["merged_into_id"] == person.lead.pk
    )
    assert profiles[EMAIL]["consent"] == "given" and profiles[EMAIL]["consent_wording"] == CONSENT_WORDING
    assert {row["wording"] for row in document["consent"]} == {"Newsletter v3", CONSENT_WORDING}

    notes = [row["note"] for row in document["events"] if row["note"]]
    assert f"Spoke to {FIRST} {LAST} ({EMAIL}, +49-30-998 877 66); @mmanager FYI." in notes
    assert f"{FIRST} {LAST} is a student, call {PHONE} to check" in notes
    assert {row["lead_id"] for row in document["events"]} == set(person.ids)
    types = [row["type"] for row in document["events"] if row["lead_id"] == person.lead.pk]
    assert {"created", "qualified", "rejected", "accepted", "won", "merged", "noted"} <= set(types)
    assert f"{FIRST} {LAST} read the pricing page" in {row["title"] for row in document["engagements"]}
    assert [row["note"] for row in document["touches"]] == [f"Rang {FIRST} on +49-30-998 877 66"] * 2
    kinds = {row["kind"] for row in document["notifications"]}
    assert {"mql_assigned", "mql_rejected", "lead_won", "mentioned"} <= kinds
    assert any(f"{FIRST} {LAST}" in row["subject"] for row in document["notifications"])
    rows = document["import_rows"]
    # Skipped in the second import (by lead) and failed in both (a mistyped address).
    assert sorted((row["outcome"], row["values"]["Email"]) for row in rows) == [
        ("failed", "zebulon.q(at)quax.example"),
        ("failed", "zebulon.q(at)quax.example"),
        ("skipped", EMAIL),
    ]
    assert [row["context"] for row in document["referrals"]] == [
        f"{FIRST} {LAST} asked me about pricing at the fair"
    ]
    assert document["referrals"][0]["referrer__username"] == "technician"
    # Elsewhere: the inbound form's stored answer names them by email; nothing of their own
    # leads' rows is repeated there, and every row listed does name them.
    mentioned = {row["table"] for row in document["mentions"]}
    assert "intake.IdempotencyRecord" in mentioned, mentioned
    assert not mentioned & {"leads.Lead", "leads.LeadEvent", "notifications.Notification"}, mentioned
    for row in document["mentions"]:
        text = json.dumps(row["text"]).casefold()
        assert EMAIL in text or f"{FIRST} {LAST}".casefold() in text or "99887766" in digits(text), row
    # The CSV has the same values: a note and an import row's cells.
    assert any(
        row["note"] == f"{FIRST} {LAST} is a student, call {PHONE} to check" for row in tables["events"]
    )
    assert any(json.loads(row["values"]).get("Phone") == PHONE for row in tables["import_rows"])
    assert {row["email"] for row in tables["profile"]} == {EMAIL, OTHER_EMAIL}
    # Olga, imported from the same file, is not in it.
    everything = json.dumps(document) + json.dumps(tables)
    assert "olga" not in everything.casefold() and "ostrova" not in everything.casefold()

    audit = PrivacyAudit.objects.get()
    assert (audit.action, audit.actor, audit.lead_id, audit.reference) == (
        PrivacyAction.EXPORT,
        org.marketing_manager,
        person.lead.pk,
        "REQ-7",
    )
    assert audit.detail["import_rows"] == 3 and sorted(audit.detail["lead_ids"]) == sorted(person.ids)
    assert FIRST not in json.dumps(audit.detail) and "quax" not in json.dumps(audit.detail)


def test_the_same_person_from_any_of_their_leads(org, person):
    _, from_survivor = person_export(lead_id=person.lead.pk, actor=org.admin)
    _, from_merged = person_export(lead_id=person.duplicate.pk, actor=org.admin)
    one, two = unzip(from_survivor)[0], unzip(from_merged)[0]
    one.pop("exported_at"), two.pop("exported_at")
    assert one == two
    assert PrivacyAudit.objects.filter(action=PrivacyAction.EXPORT).count() == 2


@pytest.mark.parametrize("who", ["rep", "marketer", "employee"])
def test_only_managers_may_export(org, person, who):
    with pytest.raises(ActionError) as refused:
        person_export(lead_id=person.lead.pk, actor=getattr(org, who))
    assert refused.value.code == ActionError.FORBIDDEN
    assert not PrivacyAudit.objects.exists()


def test_a_reference_naming_the_person_is_refused_and_nothing_is_recorded(org, person):
    with pytest.raises(ActionError) as refused:
        person_export(lead_id=person.lead.pk, actor=org.sales_manager, reference=f"{FIRST} asked")
    assert set(refused.value.fields) == {"reference"}
    assert not PrivacyAudit.objects.exists()


def test_an_erased_person_exports_as_the_anonymous_record_it_is(org, person):
    person_erase(lead_id=person.lead.pk, actor=org.sales_manager, reference="REQ-8")
    _, content = person_export(lead_id=person.lead.pk, actor=org.sales_manager, reference="REQ-9")
    document, tables = unzip(content)
    text = json.dumps(document).casefold()
    assert not any(word.casefold() in text for word in (FIRST, LAST, EMAIL, OTHER_EMAIL, "99887766"))
    # The anonymous record is still there: its stages and events, without the person.
    assert {row["stage"] for row in document["profile"]} == {"customer", "lead"}
    assert len(document["events"]) == Lead.objects.get(pk=person.lead.pk).events.count() + len(
        [row for row in document["events"] if row["lead_id"] == person.duplicate.pk]
    )
    assert all(row["erased_at"] for row in tables["profile"])


def test_a_note_on_a_colleagues_lead_that_names_the_person_is_in_their_export(org, person, make_lead):
    """The export lists what the erasure's sweep would change: here a note on another lead."""
    other = make_lead(first_name="Olaf", last_name="Other", email="olaf@other.example")
    services.lead_note_add(
        lead_id=other.pk, actor=org.marketer, text=f"Olaf knows {FIRST} {LAST} from school."
    )
    _, content = person_export(lead_id=person.lead.pk, actor=org.admin)
    document = unzip(content)[0]
    notes = [
        row for row in document["mentions"] if row["table"] == "leads.LeadEvent" and row["column"] == "note"
    ]
    assert [row["text"] for row in notes] == [f"Olaf knows {FIRST} {LAST} from school."]
    assert "olaf@other.example" not in json.dumps(document["profile"])

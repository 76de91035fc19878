"""The privacy pages: the audit trail, the retention policy with its preview, Run now and
its runs; a person's page with their data as a zip and erasure. Managers (and admins)
only; a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import zipfile

import pytest
from django.utils import timezone

from leads import services
from leads.models import Lead
from smarketing.privacy.models import PrivacyAction, PrivacyAudit, RetentionPolicy, RetentionRun, RunStatus
from smarketing.privacy.retention import retention_policy_set, retention_run

pytestmark = pytest.mark.django_db


def page_of(response) -> str:
    return html.unescape(response.content.decode())


def field_errors(content: str, field_id: str) -> str:
    """The error list shown right after the field with this id."""
    match = re.search(rf'id="{field_id}_error">(.*?)</ul>', content, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def manager(client, org):
    client.force_login(org.marketing_manager)
    return client


@pytest.fixture
def old_disqualified(org, make_lead, reasons):
    """A lead disqualified two years ago: what a 12-month policy anonymises."""
    lead = make_lead(first_name="Olga", last_name="Oldcase", email="olga.oldcase@example.com")
    services.lead_disqualify(lead_id=lead.pk, actor=org.marketer, reason=reasons.disqualification)
    Lead.objects.filter(pk=lead.pk).update(stage_entered_at=timezone.now() - dt.timedelta(days=730))
    return lead


# --- who may ---------------------------------------------------------------------------------------


def test_the_menu_offers_privacy_to_managers_and_admins_only(client, org):
    for user, offered in (
        (org.marketing_manager, True),
        (org.sales_manager, True),
        (org.admin, True),
        (org.marketer, False),
        (org.rep, False),
        (org.employee, False),
    ):
        client.force_login(user)
        content = page_of(client.get("/inbox/"))
        assert ('href="/privacy/"' in content) is offered, user.username


@pytest.mark.parametrize("who", ["rep", "marketer", "employee"])
def test_others_are_refused_every_page_and_action_and_nothing_changes(client, org, make_lead, who):
    lead = make_lead(first_name="Rita", email="rita@example.com")
    client.force_login(getattr(org, who))
    for path in ("/privacy/", f"/privacy/people/{lead.pk}/", "/privacy/retention/run/"):
        response = client.get(path)
        assert response.status_code == 403 and "Only managers handle people's data" in page_of(response)
    posts = {
        "/privacy/": {"enabled": "on", "disqualified_months": "12"},
        "/privacy/retention/run/": {},
        f"/privacy/people/{lead.pk}/export/": {"reference": "REQ-1"},
        f"/privacy/people/{lead.pk}/erase/": {"reference": "REQ-1", "confirm": "ERASE"},
    }
    for path, body in posts.items():
        assert client.post(path, body).status_code == 403, path
    lead.refresh_from_db()
    assert lead.first_name == "Rita" and lead.erased_at is None
    assert not PrivacyAudit.objects.exists() and not RetentionRun.objects.exists()
    assert not RetentionPolicy.objects.exists()


def test_anonymous_is_sent_to_log_in(client, make_lead):
    lead = make_lead()
    for path in ("/privacy/", f"/privacy/people/{lead.pk}/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


# --- the privacy page -------------------------------------------------------------------------------


def test_an_empty_page_says_what_to_do_next(manager):
    content = page_of(manager.get("/privacy/"))
    assert "No policy yet" in content
    assert "No period is set, so the policy would anonymise no one" in content
    assert "No run yet" in content
    assert "Nothing recorded yet" in content


def test_the_policy_is_saved_and_audited(manager, org):
    response = manager.post(
        "/privacy/", {"enabled": "on", "inactive_months": "24", "disqualified_months": ""}
    )
    assert response.status_code == 302 and response["Location"] == "/privacy/"
    policy = RetentionPolicy.current()
    assert (policy.enabled, policy.inactive_months, policy.disqualified_months) == (True, 24, None)
    assert policy.updated_by == org.marketing_manager
    audit = PrivacyAudit.objects.get(action=PrivacyAction.RETENTION_POLICY)
    assert audit.actor == org.marketing_manager
    assert audit.detail["after"] == {"enabled": True, "inactive_months": 24, "disqualified_months": None}
    content = page_of(manager.get("/privacy/"))
    assert (
        "The retention policy is saved: on; inactive leads after 24 months; disqualified leads never."
        in content
    )
    assert "was: off; inactive leads never; disqualified leads never" in content
    assert 'value="24"' in content and "<strong>On</strong>" in content


def test_policy_errors_show_next_to_their_fields_and_keep_what_was_typed(manager):
    response = manager.post("/privacy/", {"inactive_months": "999", "disqualified_months": "soon"})
    content = page_of(response)
    assert response.status_code == 400
    assert "Give a whole number of months from 1 to 240" in field_errors(content, "id_inactive_months")
    assert 'value="999"' in content
    assert not RetentionPolicy.objects.exists() and not PrivacyAudit.objects.exists()

    response = manager.post("/privacy/", {"inactive_months": "12", "disqualified_months": "soon"})
    assert "“soon” is not a number of months." in field_errors(page_of(response), "id_disqualified_months")

    response = manager.post("/privacy/", {"enabled": "on"})
    assert response.status_code == 400
    assert "Set at least one period" in field_errors(page_of(response), "id_enabled")
    assert not RetentionPolicy.objects.exists()


def test_the_preview_counts_by_rule_and_links_the_first_leads(manager, org, old_disqualified, make_lead):
    recent = make_lead(first_name="Nina", last_name="New")
    retention_policy_set(actor=org.marketing_manager, enabled=False, disqualified_months=12)
    content = page_of(manager.get("/privacy/"))
    assert '<span class="n">1</span> lead in all' in content
    assert f'href="/leads/{old_disqualified.pk}/">Olga Oldcase</a>' in content
    assert f"/leads/{recent.pk}/" not in content
    assert 'href="/privacy/retention/run/"' in content


def test_run_now_asks_first_then_queues_the_run(
    manager, org, old_disqualified, django_capture_on_commit_callbacks
):
    retention_policy_set(actor=org.marketing_manager, enabled=False, disqualified_months=12)
    confirm = page_of(manager.get("/privacy/retention/run/"))
    assert "This cannot be undone" in confirm and "Yes, anonymise 1 lead now" in confirm
    assert not RetentionRun.objects.exists()  # asking is not running

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = manager.post("/privacy/retention/run/")
    assert response.status_code == 302 and response["Location"] == "/privacy/"
    assert len(queued) == 1
    run = RetentionRun.objects.get()
    assert run.started_by == org.marketing_manager and run.status == RunStatus.DONE
    assert (run.people, run.leads) == (1, 1)
    old_disqualified.refresh_from_db()
    assert old_disqualified.erased_at is not None and old_disqualified.first_name == ""
    content = page_of(manager.get("/privacy/"))
    assert "The retention run is queued" in content
    runs = content.split('id="runs-h"')[1].split("</section>")[0]
    assert "Done" in runs and org.marketing_manager.get_full_name() in runs
    assert "Olga" not in content and "oldcase" not in content.lower()


def test_run_now_without_a_period_is_refused_and_queues_nothing(manager, django_capture_on_commit_callbacks):
    assert "No period is set, so a run would anonymise no one" in page_of(
        manager.get("/privacy/retention/run/")
    )
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = manager.post("/privacy/retention/run/", follow=True)
    assert queued == []
    assert "Set a period in the retention policy" in page_of(response)
    assert not RetentionRun.objects.exists()


def test_run_now_with_no_one_due_offers_no_button(manager, org, make_lead):
    make_lead()
    retention_policy_set(actor=org.marketing_manager, enabled=True, disqualified_months=120)
    content = page_of(manager.get("/privacy/retention/run/"))
    assert "No one to anonymise now" in content and "Yes, anonymise" not in content
    assert "No one to anonymise now" in page_of(manager.get("/privacy/"))


def test_the_audit_trail_is_newest_first_paged_and_names_no_one(
    manager, org, make_lead, django_assert_max_num_queries
):
    lead = make_lead(first_name="Petra", last_name="Private", email="petra.private@example.com")
    for n in range(30):
        PrivacyAudit.objects.create(
            action=PrivacyAction.EXPORT,
            actor=org.sales_manager,
            lead=lead,
            reference=f"REQ-{n}",
            at=timezone.now() - dt.timedelta(minutes=60 - n),
            detail={"lead_ids": [lead.pk], "events": 2, "profile": 1},
        )
    with django_assert_max_num_queries(16):
        content = page_of(manager.get("/privacy/"))
    assert content.index("REQ-29") < content.index("REQ-28")
    assert "REQ-4<" not in content and "Page 1 of 2" in content
    assert "events 2 · profile 1" in content
    assert f'href="/privacy/people/{lead.pk}/">lead\xa0{lead.pk}</a>' in content
    assert "Petra" not in content and "petra.private" not in content
    older = page_of(manager.get("/privacy/?page=2"))
    assert "REQ-4<" in older and "REQ-29" not in older


# --- a person's page ------------------------------------------------------------------------------


def test_the_person_page_counts_what_is_held_for_the_whole_merge_group(manager, org, make_lead):
    first = make_lead(first_name="Mara", last_name="Merged", email="mara@example.com")
    second = make_lead(first_name="Mara", last_name="Merged", email="mara.m@example.org")
    services.lead_merge(survivor_id=first.pk, other_id=second.pk, actor=org.marketer)
    content = page_of(manager.get(f"/privacy/people/{second.pk}/"))
    assert "Mara Merged: what we hold" in content
    assert f'href="/leads/{first.pk}/"' in content and f'href="/leads/{second.pk}/"' in content
    assert "These leads were merged" in content
    held = content.split('id="held-h"')[1].split("</section>")[0]
    assert re.search(r"Profile \(one per lead\)</th><td class=\"num\">2<", held)
    assert re.search(r"Engagements</th><td class=\"num\">2<", held)
    assert "Nothing yet: no export or erasure" in content
    assert manager.get("/privacy/people/999999/").status_code == 404


def test_export_downloads_the_zip_and_audits_it(manager, org, make_lead):
    lead = make_lead(first_name="Erik", last_name="Export", email="erik.export@example.com")
    response = manager.post(f"/privacy/people/{lead.pk}/export/", {"reference": "DSAR-7"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(f'attachment; filename="person-lead-{lead.pk}-')
    assert "no-store" in response["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    person = json.loads(archive.read("person.json"))
    assert person["profile"][0]["email"] == "erik.export@example.com"
    assert person["reference"] == "DSAR-7" and "events.csv" in archive.namelist()
    audit = PrivacyAudit.objects.get(action=PrivacyAction.EXPORT)
    assert (audit.actor, audit.lead_id, audit.reference) == (org.marketing_manager, lead.pk, "DSAR-7")
    assert "erik" not in json.dumps(audit.detail).lower()
    history = page_of(manager.get(f"/privacy/people/{lead.pk}/")).split('id="history-h"')[1]
    assert "Person's data exported" in history and "DSAR-7" in history


def test_an_export_whose_reference_names_the_person_is_refused(manager, make_lead):
    lead = make_lead(first_name="Erik", last_name="Export", email="erik.export@example.com")
    response = manager.post(
        f"/privacy/people/{lead.pk}/export/", {"reference": "mail from erik.export@example.com"}
    )
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "The reference names the person" in field_errors(page_of(response), "export-reference")
    assert not PrivacyAudit.objects.exists()


def test_erasure_needs_the_reference_and_the_word_then_shows_its_audit_line(manager, org, make_lead):
    lead = make_lead(
        first_name="Ella", last_name="Erase", email="ella.erase@example.com", phone="+49 30 1234567"
    )
    url = f"/privacy/people/{lead.pk}/erase/"
    page = page_of(manager.get(f"/privacy/people/{lead.pk}/"))
    assert "It cannot be undone." in page and "Type ERASE to confirm" in page

    for body, field, message in (
        ({"reference": "REQ-9", "confirm": "erase"}, "erase-confirm", "Type ERASE in capitals"),
        ({"reference": "REQ-9"}, "erase-confirm", "Type ERASE to confirm"),
        ({"confirm": "ERASE"}, "erase-reference", "Give the request's reference"),
        (
            {"reference": "Ella Erase asked", "confirm": "ERASE"},
            "erase-reference",
            "The reference names the person",
        ),
    ):
        response = manager.post(url, body)
        assert response.status_code == 400, body
        assert message in field_errors(page_of(response), field), body
    lead.refresh_from_db()
    assert lead.first_name == "Ella" and lead.erased_at is None and not PrivacyAudit.objects.exists()

    response = manager.post(url, {"reference": "REQ-9", "confirm": "ERASE"})
    assert response.status_code == 302 and response["Location"] == f"/privacy/people/{lead.pk}/"
    lead.refresh_from_db()
    assert lead.erased_at is not None
    assert (lead.first_name, lead.last_name, lead.phone) == ("", "", "")
    assert "ella" not in lead.email
    audit = PrivacyAudit.objects.get(action=PrivacyAction.ERASURE)
    assert (audit.actor, audit.lead_id, audit.reference) == (org.marketing_manager, lead.pk, "REQ-9")

    content = page_of(manager.get(f"/privacy/people/{lead.pk}/"))
    assert "The person is erased (1 lead)" in content
    erase = content.split('id="erase-h"')[1].split("</section>")[0]
    assert "<strong>Erased</strong>" in erase and "<code>REQ-9</code>" in erase
    assert org.marketing_manager.get_full_name() in erase
    assert "<form" not in erase
    assert "Ella" not in content and "ella.erase" not in content

    again = manager.post(url, {"reference": "REQ-10", "confirm": "ERASE"})
    assert again.status_code == 409 and "This person was erased already" in page_of(again)
    assert PrivacyAudit.objects.filter(action=PrivacyAction.ERASURE).count() == 1


def test_a_person_erased_by_the_retention_policy_says_so(manager, org, old_disqualified):
    retention_policy_set(actor=org.admin, enabled=True, disqualified_months=12)
    retention_run(actor=org.admin)
    content = page_of(manager.get(f"/privacy/people/{old_disqualified.pk}/"))
    assert "An erased person: what we hold" in content
    assert "by the retention policy" in content and '<form method="post" action="/privacy/people/' in content
    assert f'action="/privacy/people/{old_disqualified.pk}/erase/"' not in content


# --- the admin ---------------------------------------------------------------------------------------


def test_the_admin_shows_the_audit_read_only(client, org, make_lead):
    org.admin.is_staff = org.admin.is_superuser = True
    org.admin.save()
    client.force_login(org.admin)
    lead = make_lead(first_name="Ada", last_name="Admin")
    audit = PrivacyAudit.objects.create(
        action=PrivacyAction.EXPORT, actor=org.admin, lead=lead, reference="R-1"
    )
    listing = page_of(client.get("/admin/privacy/privacyaudit/"))
    assert "R-1" in listing and "Ada Admin" not in listing
    detail = client.get(f"/admin/privacy/privacyaudit/{audit.pk}/change/")
    assert detail.status_code == 200 and "Ada Admin" not in page_of(detail)
    assert client.get("/admin/privacy/privacyaudit/add/").status_code == 403
    assert client.post(f"/admin/privacy/privacyaudit/{audit.pk}/delete/", {"post": "yes"}).status_code == 403
    assert (
        client.post(f"/admin/privacy/privacyaudit/{audit.pk}/change/", {"reference": "X"}).status_code == 403
    )
    assert PrivacyAudit.objects.get().reference == "R-1"
    for model in ("retentionpolicy", "retentionrun"):
        assert client.get(f"/admin/privacy/{model}/").status_code == 200
        assert client.get(f"/admin/privacy/{model}/add/").status_code == 403

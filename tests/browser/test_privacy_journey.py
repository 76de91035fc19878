"""A person's rights in a real browser, on the demo organisation (docs/privacy.md): a
marketer records a new lead's consent on the new-lead form; a person who asked is found by
a manager, who downloads everything held about them and erases them; the dashboard shows
the same figures afterwards, and nothing about them is left on their lead's page."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile

import pytest
from django.core.management import call_command
from django.db.models import Count, Exists, OuterRef

from leads.models import Consent, ConsentMethod, ConsentRecord, EventType, Lead, LeadEvent
from smarketing.privacy.models import PrivacyAction, PrivacyAudit
from tests.browser.conftest import log_in
from tests.browser.test_sales_journey import ARTIFACTS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "smarketing-demo"  # noqa: S105 - the demo organisation's published password
WORDING = "Webinar sign-up: product news by email (v5)"


def dashboard_figures(page, server) -> dict[str, str]:
    """Every figure of the dashboard's tables, by table, row and column."""
    page.goto(f"{server.url}/reports/")
    page.locator("table[data-table]").first.wait_for()
    return page.evaluate(
        """() => {
            const out = {};
            document.querySelectorAll("table[data-table]").forEach((table) => {
                table.querySelectorAll("tr").forEach((row, r) => {
                    row.querySelectorAll("td[data-key]").forEach((cell) => {
                        const key = `${table.dataset.table}/${r}/${cell.dataset.key}`;
                        out[key] = cell.dataset.value ?? cell.innerText.trim();
                    });
                });
            });
            return out;
        }"""
    )


def test_consent_export_and_erasure_leave_the_dashboard_as_it_was(
    browser, server, product_setup, default_rules
):
    call_command(
        "seed_demo", "--leads", "300", "--weeks", "6", "--seed", "3", "--no-logins", stdout=io.StringIO()
    )
    ARTIFACTS.mkdir(exist_ok=True)

    # A marketer types in a lead met at a webinar, with the consent they gave there.
    marketer = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    log_in(marketer, server, "marketer", password=DEMO_PASSWORD)
    marketer.goto(f"{server.url}/leads/new/")
    marketer.get_by_label("Email").fill("wilma.webinar@wendt.example")
    marketer.get_by_label("First name").fill("Wilma")
    marketer.get_by_label("Last name").fill("Wendt")
    marketer.get_by_label("Company", exact=True).fill("Wendt Maschinenbau")
    marketer.get_by_label("Consent to marketing contact").select_option(Consent.GIVEN)
    # The wording is required with an answer: the page says so and creates nothing.
    marketer.get_by_role("button", name=re.compile("^Create")).click()
    wording_error = marketer.locator("#id_consent_wording_error")
    wording_error.wait_for()
    assert "Say what the person answered to" in wording_error.inner_text()
    assert not Lead.objects.filter(email="wilma.webinar@wendt.example").exists()
    marketer.get_by_label(re.compile("The wording, or its version")).fill(WORDING)
    marketer.screenshot(path=str(ARTIFACTS / "privacy-consent-form.png"), full_page=True)
    marketer.get_by_role("button", name=re.compile("^Create")).click()
    marketer.wait_for_url(re.compile(r"/leads/\d+/$"))
    wilma = Lead.objects.get(email="wilma.webinar@wendt.example")
    assert (wilma.consent, wilma.consent_method, wilma.consent_wording) == (
        Consent.GIVEN,
        ConsentMethod.BY_HAND,
        WORDING,
    )
    record = ConsentRecord.objects.get(lead=wilma)
    assert (record.consent, record.method, record.wording, record.recorded_by.username) == (
        Consent.GIVEN,
        ConsentMethod.BY_HAND,
        WORDING,
        "marketer",
    )
    consent_card = marketer.locator("section", has=marketer.get_by_role("heading", name="Consent")).first
    assert WORDING in consent_card.inner_text()
    marketer.close()

    # The person who asks: the lead with the longest history (the demo is seeded at the
    # wall clock's hour, so which leads went how far varies), handed off at least once.
    person = (
        Lead.objects.live()
        .filter(
            Exists(LeadEvent.objects.filter(lead=OuterRef("pk"), type=EventType.QUALIFIED)),
            erased_at__isnull=True,
        )
        .exclude(first_name="")
        .exclude(last_name="")
        .annotate(steps=Count("events"))
        .order_by("-steps", "pk")
        .first()
    )
    name, email, phone = person.full_name, person.email, person.phone
    stage = person.stage
    events = list(LeadEvent.objects.filter(lead=person).values_list("type", "occurred_at", "to_stage"))

    manager = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True).new_page()
    log_in(manager, server, "manager.marketing", landing="/reports/", password=DEMO_PASSWORD)
    before = dashboard_figures(manager, server)
    assert len(before) > 100 and any(value not in ("0", "") for value in before.values())

    # From the lead list to the lead, and its Privacy page.
    manager.goto(f"{server.url}/leads/?q={email}")
    manager.get_by_role("link", name=name).first.click()
    manager.wait_for_url(f"{server.url}/leads/{person.pk}/")
    manager.get_by_role("link", name="Privacy: export or erase").click()
    manager.wait_for_url(f"{server.url}/privacy/people/{person.pk}/")
    held = manager.locator("section", has=manager.get_by_role("heading", name="What is held about them"))
    assert re.search(r"\d", held.inner_text())

    # Their data, as one zip.
    with manager.expect_download() as download:
        manager.get_by_role("button", name="Download the zip").click()
    path = download.value.path()
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("person.json"))
        assert {"person.json", "profile.csv", "events.csv"} <= set(archive.namelist())
    assert [row["email"] for row in document["profile"]] == [email]
    assert {row["type"] for row in document["events"]} >= {"created", "qualified"}
    assert len(document["events"]) == len(events)

    # Erase: the reference must not name them, and the word must be typed.
    manager.get_by_label("The request's reference", exact=True).fill(f"Mail from {email}")
    manager.get_by_label("Type ERASE to confirm").fill("ERASE")
    manager.get_by_role("button", name="Erase this person").click()
    manager.get_by_text("The reference names the person").wait_for()
    assert Lead.objects.get(pk=person.pk).erased_at is None
    manager.get_by_label("The request's reference", exact=True).fill("DSR-2026-031")
    manager.get_by_label("Type ERASE to confirm").fill("ERASE")
    manager.screenshot(path=str(ARTIFACTS / "privacy-erase.png"), full_page=True)
    manager.get_by_role("button", name="Erase this person").click()
    manager.get_by_text(re.compile("The person is erased")).wait_for()
    page_text = manager.locator("main").inner_text()
    assert "DSR-2026-031" in page_text and email not in page_text and name not in page_text
    manager.screenshot(path=str(ARTIFACTS / "privacy-erased.png"), full_page=True)

    # The lead stays, anonymous, with its history; the audit has the request, not the person.
    erased = Lead.objects.get(pk=person.pk)
    assert (erased.stage, erased.first_name, erased.last_name, erased.phone) == (stage, "", "", "")
    assert erased.email == f"erased-{person.pk}@erased.invalid"
    assert (
        list(LeadEvent.objects.filter(lead=person).values_list("type", "occurred_at", "to_stage")) == events
    )
    audit = PrivacyAudit.objects.get(action=PrivacyAction.ERASURE)
    assert (audit.reference, audit.actor.username, audit.lead_id) == (
        "DSR-2026-031",
        "manager.marketing",
        person.pk,
    )
    assert email not in json.dumps(audit.detail) and person.last_name not in json.dumps(audit.detail)
    assert PrivacyAudit.objects.filter(action=PrivacyAction.EXPORT, lead=person).count() == 1

    manager.goto(f"{server.url}/leads/{person.pk}/")
    lead_page = manager.locator("main").inner_text()
    assert "This person was erased" in lead_page
    for value in (email, name, phone, person.company):
        assert not value or value not in lead_page, value

    # The dashboard: every figure as it was.
    after = dashboard_figures(manager, server)
    assert after == before
    manager.screenshot(path=str(ARTIFACTS / "privacy-dashboard-after.png"), full_page=False)

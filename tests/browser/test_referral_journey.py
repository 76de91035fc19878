"""Any employee refers a lead in a real browser: a service technician (no role at all)
fills in /refer/ with what the customer needs, sees what became of it, marketing is told
(with the note) and sees the lead with the referrer and the note; referring people
marketing already knows adds the note to their lead — credited where nobody was, not
where a colleague was — and when sales wins the referral the technician is told and
credited."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.intake import referrals
from smarketing.intake.models import Referral, ReferralOutcome
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.org.models import EngagementType, Source
from tests.browser.conftest import open_as as login
from tests.browser.test_sales_journey import ARTIFACTS
from tests.factories import LeadFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


NEED = "Their boiler is 20 years old; they asked about a maintenance contract."


def referred_section(page):
    return page.locator("section", has=page.get_by_role("heading", name="Leads you referred"))


def your_referrals(page):
    return page.locator("section", has=page.get_by_role("heading", name="Your referrals"))


def refer(page, first, last, email, need):
    page.get_by_role("link", name="Refer a lead").first.click()
    page.get_by_role("heading", name="Refer a lead").wait_for()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Email").fill(email)
    page.get_by_label("What do they need?").fill(need)
    page.get_by_role("button", name="Refer").click()


def test_employee_refers_a_lead_marketing_sees_the_referrer_and_the_win_credits_them(
    browser, server, org, default_rules, reasons
):
    tech = org.employee
    tech.first_name, tech.last_name = "Tomas", "Technik"
    tech.save()
    ARTIFACTS.mkdir(exist_ok=True)

    # The technician has nothing referred yet, and the form is one click away.
    page = login(browser, server, "technician")
    assert referred_section(page).get_by_text("You have not referred anyone yet.").is_visible()
    page.get_by_role("link", name="Refer a lead").first.click()
    page.get_by_role("heading", name="Refer a lead").wait_for()
    page.get_by_label("First name").fill("Greta")
    page.get_by_label("Last name").fill("Geiger")
    page.get_by_label("Email").fill("  Greta.Geiger@Boilerworks.example ")
    page.get_by_label("Company").fill("Boilerworks GmbH")
    page.get_by_label("Phone").fill("+49 30 1234567")
    page.get_by_label("Job title").fill("Head of Facilities")
    # What they need is asked for, with a hint (the server refuses it missing too).
    need = page.get_by_label("What do they need?")
    assert need.get_attribute("required") is not None
    assert page.get_by_text("A sentence or two for marketing").is_visible()
    page.get_by_label("What do they need?").fill(NEED)
    page.screenshot(path=str(ARTIFACTS / "referral.png"), full_page=True)
    page.get_by_role("button", name="Refer").click()

    # Back on the page: thanked, and the referral listed with what became of it.
    page.wait_for_url(f"{server.url}/refer/")
    page.get_by_text(
        "Thank you! Greta Geiger was referred to marketing with your note; "
        "you are credited if they become a customer."
    ).wait_for()
    row = your_referrals(page).get_by_role("row", name=re.compile("Greta Geiger"))
    assert "Boilerworks GmbH" in row.inner_text() and "New lead" in row.inner_text()
    assert "Lead" in row.inner_text() and "maintenance contract" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "referral-confirmation.png"), full_page=True)
    page.get_by_role("link", name="Home").click()
    row = referred_section(page).get_by_role("row", name=re.compile("Greta Geiger"))
    assert "Boilerworks GmbH" in row.inner_text() and "Lead" in row.inner_text()
    greta = Lead.objects.get(email="greta.geiger@boilerworks.example")
    assert (greta.stage, greta.source, greta.referrer, greta.created_by) == (
        Stage.LEAD,
        Source.REFERRAL,
        tech,
        tech,
    )
    created = LeadEvent.objects.get(lead=greta, type=EventType.CREATED)
    assert created.actor == tech and created.data.get("source") == Source.REFERRAL
    first = Referral.objects.get(lead=greta)
    assert (first.referrer, first.outcome, first.credited, first.context) == (
        tech,
        ReferralOutcome.CREATED,
        True,
        NEED,
    )

    # Referring the same person again creates nothing and keeps the new note.
    refer(
        page,
        "Greta",
        "Geiger",
        "greta.geiger@boilerworks.example",
        "Now also wants a quote for a second site.",
    )
    page.get_by_text("you had already referred Greta Geiger; your new note was added").wait_for()
    assert Lead.objects.filter(email="greta.geiger@boilerworks.example").count() == 1
    assert Referral.objects.filter(lead=greta).count() == 2

    # Someone marketing already knows, credited to nobody: the note is added, the credit given.
    hans = LeadFactory(
        email="hans@stadtwerke.example", first_name="Hans", last_name="Known", source=Source.WEBSITE
    )
    refer(page, "Hans", "Known", "Hans@Stadtwerke.example", "Wants the heating serviced before winter.")
    page.get_by_text(
        "Thanks — Hans Known is already known to marketing; your note was added to their record "
        "and you are credited if they become a customer."
    ).wait_for()
    row = your_referrals(page).get_by_role("row", name=re.compile("Hans Known"))
    assert "Already known: note added" in row.inner_text() and "you are credited" in row.inner_text()
    hans.refresh_from_db()
    assert (hans.referrer, hans.source, Lead.objects.count()) == (tech, Source.WEBSITE, 2)
    credit_event = LeadEvent.objects.get(lead=hans, type=EventType.UPDATED)
    assert credit_event.actor == tech and credit_event.data["changes"] == {"referrer": [None, tech.pk]}

    # Someone a colleague referred first: the note is added, the colleague keeps the credit.
    colleague = UserFactory(username="colleague", first_name="Clara", last_name="Colleague")
    referrals.referral_submit(
        referrer=colleague,
        email="ida@bakery.example",
        first_name="Ida",
        last_name="Baker",
        context="Opening a second bakery in spring.",
    )
    refer(page, "Ida", "Baker", "ida@bakery.example", "Needs ovens serviced too.")
    page.get_by_text(
        "Thanks — Ida Baker is already known to marketing and credited to another colleague; "
        "marketing has your note."
    ).wait_for()
    ida = Lead.objects.get(email="ida@bakery.example")
    assert ida.referrer == colleague and Lead.objects.count() == 3
    row = your_referrals(page).get_by_role("row", name=re.compile("Ida Baker"))
    assert "credited to another colleague" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "referral-attached.png"), full_page=True)

    # Marketing was told of each referral, once, with the note.
    marketer = login(browser, server, "marketer")
    assert (
        Notification.objects.filter(recipient=org.marketer, kind=NotificationKind.REFERRAL_RECEIVED).count()
        == 5
    )
    marketer.get_by_role("link", name=re.compile("Inbox")).click()
    row = marketer.get_by_role(
        "row", name=re.compile(r"Referral from Tomas Technik: Greta Geiger \(new lead\)")
    )
    assert "A colleague referred someone to marketing" in row.inner_text()
    row.get_by_text("Read", exact=True).click()
    assert row.get_by_text("What they need: " + NEED).is_visible()
    marketer.screenshot(path=str(ARTIFACTS / "referral-marketing-inbox.png"), full_page=True)

    # Both of Ida's referrals are on her page, each with its note and what became of it.
    marketer.goto(f"{server.url}/leads/{ida.pk}/")
    notes = marketer.locator("section", has=marketer.get_by_role("heading", name="Referrals")).inner_text()
    assert "Clara Colleague" in notes and "Opening a second bakery in spring." in notes
    assert "Tomas Technik" in notes and "Needs ovens serviced too." in notes
    assert "already known: added to this lead" in notes
    # With notes and referrals listed, the pages still fit a phone.
    for who, path in ((marketer, f"/leads/{ida.pk}/"), (page, "/refer/")):
        who.set_viewport_size({"width": 390, "height": 900})
        who.goto(f"{server.url}{path}")
        assert who.evaluate("document.documentElement.scrollWidth") <= 390, path
        who.set_viewport_size({"width": 1280, "height": 900})
    marketer.goto(f"{server.url}/")

    # Marketing finds Greta among the referrals, with the referrer and the notes on her page.
    marketer.get_by_role("link", name="Leads").click()
    marketer.get_by_text("Any source").click()
    marketer.get_by_label("Employee referral", exact=True).check()
    marketer.get_by_role("button", name="Find").click()
    marketer.get_by_text("2 leads match").wait_for()  # Greta, and Ida (Clara's referral)
    marketer.get_by_role("link", name="Greta Geiger").click()
    funnel = marketer.locator(
        "section", has=marketer.get_by_role("heading", name="In the funnel")
    ).inner_text()
    assert re.search(r"Referred by\s+Tomas Technik", funnel)
    assert re.search(r"Source\s+Employee referral", funnel)
    assert "source: Employee referral" in marketer.locator("ol.timeline").inner_text()
    notes = marketer.locator("section", has=marketer.get_by_role("heading", name="Referrals")).inner_text()
    assert NEED in notes and "Now also wants a quote for a second site." in notes
    marketer.screenshot(path=str(ARTIFACTS / "referral-lead-marketing.png"), full_page=True)

    # Marketing qualifies it, sales accepts and wins it (through the services).
    services.engagement_log(
        lead_id=greta.pk, actor=org.marketer, type=EngagementType.DEMO_REQUEST, title="Asked Tomas for a demo"
    )
    services.lead_qualify(lead_id=greta.pk, actor=org.marketer, note="Referred by our technician.")
    services.lead_accept(lead_id=greta.pk, actor=org.rep)
    closed_on = timezone.localdate() - dt.timedelta(days=1)
    services.lead_win(lead_id=greta.pk, actor=org.rep, amount="8400.00", closed_on=closed_on)
    greta.refresh_from_db()
    assert (greta.stage, greta.deal_amount, greta.referrer) == (Stage.CUSTOMER, Decimal("8400.00"), tech)

    # The technician is told, and sees the referral became a customer.
    credit = Notification.objects.get(recipient=tech, kind=NotificationKind.REFERRAL_CONVERTED)
    assert credit.lead == greta and "€8,400" in credit.body
    page.get_by_role("link", name="Home").click()
    assert (
        "Customer" in referred_section(page).get_by_role("row", name=re.compile("Greta Geiger")).inner_text()
    )
    inbox = page.get_by_role("link", name=re.compile("Inbox"))
    assert inbox.get_by_label("1 unread").is_visible()
    inbox.click()
    row = page.get_by_role("row", name=re.compile("Your referral Greta Geiger became a customer"))
    assert "A lead you referred converted" in row.inner_text()
    row.get_by_text("Read", exact=True).click()
    assert row.get_by_text("became a customer worth €8,400. Thank you!").is_visible()
    page.screenshot(path=str(ARTIFACTS / "referral-credited.png"), full_page=True)

    # Credited in the closed loop too: the marketing manager's dashboard, by referrer.
    manager = login(browser, server, "mmanager", landing="/reports/")
    by_referrer = manager.locator("table[data-table='attribution-referrer']")
    technician = by_referrer.get_by_role("row", name=re.compile("technician"))
    assert technician.locator("td[data-key='customers']").get_attribute("data-value") == "1"
    assert Decimal(technician.locator("td[data-key='revenue']").get_attribute("data-value")) == Decimal(
        "8400"
    )
    technician.scroll_into_view_if_needed()
    manager.screenshot(path=str(ARTIFACTS / "referral-dashboard-credit.png"), full_page=False)

"""Any employee refers a lead in a real browser: a service technician (no role at all)
fills in /refer/, sees the referral on their home page, marketing sees the lead with the
referrer set, and when sales wins it the technician is told and credited."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.org.models import EngagementType, Source
from tests.browser.conftest import open_as as login
from tests.browser.test_sales_journey import ARTIFACTS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def referred_section(page):
    return page.locator("section", has=page.get_by_role("heading", name="Leads you referred"))


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
    page.screenshot(path=str(ARTIFACTS / "referral.png"), full_page=True)
    page.get_by_role("button", name="Refer").click()

    # Back home: thanked, and the referral listed with where it is.
    page.wait_for_url(f"{server.url}/")
    page.get_by_text("Thank you! Greta Geiger was referred; you are credited if they convert.").wait_for()
    row = referred_section(page).get_by_role("row", name=re.compile("Greta Geiger"))
    assert "Boilerworks GmbH" in row.inner_text() and "Lead" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "referral-confirmation.png"), full_page=True)
    greta = Lead.objects.get(email="greta.geiger@boilerworks.example")
    assert (greta.stage, greta.source, greta.referrer, greta.created_by) == (
        Stage.LEAD,
        Source.REFERRAL,
        tech,
        tech,
    )
    created = LeadEvent.objects.get(lead=greta, type=EventType.CREATED)
    assert created.actor == tech and created.data.get("source") == Source.REFERRAL

    # Referring the same person twice creates nothing and says why.
    page.get_by_role("link", name="Refer a lead").first.click()
    page.get_by_label("First name").fill("Greta")
    page.get_by_label("Last name").fill("Geiger")
    page.get_by_label("Email").fill("greta.geiger@boilerworks.example")
    page.get_by_role("button", name="Refer").click()
    assert (
        page.get_by_role("alert")
        .get_by_text("Marketing already knows this person, so no new lead was created.")
        .is_visible()
    )
    assert Lead.objects.filter(email="greta.geiger@boilerworks.example").count() == 1

    # Marketing finds it among the referrals, with the referrer on the lead page.
    marketer = login(browser, server, "marketer")
    marketer.get_by_role("link", name="Leads").click()
    marketer.get_by_text("Any source").click()
    marketer.get_by_label("Employee referral", exact=True).check()
    marketer.get_by_role("button", name="Find").click()
    marketer.get_by_text("1 lead matches").wait_for()
    marketer.get_by_role("link", name="Greta Geiger").click()
    funnel = marketer.locator(
        "section", has=marketer.get_by_role("heading", name="In the funnel")
    ).inner_text()
    assert re.search(r"Referred by\s+Tomas Technik", funnel)
    assert re.search(r"Source\s+Employee referral", funnel)
    assert "source: Employee referral" in marketer.locator("ol.timeline").inner_text()
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
    assert credit.lead == greta and "8400.00" in credit.body
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
    assert row.get_by_text("became a customer worth 8400.00. Thank you!").is_visible()
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

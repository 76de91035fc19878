"""A marketer's journey on the lead page, without a worker: the score receipt explains
the score, the hand-off gate holds a lead back until an engagement is logged (through the
page), the hand-off button gives it to sales; sales' rejection lands in the recycled
queue with the reason and note, and handing it off again asks what changed.

The import with its progress bar is driven by test_import_journey.py (it needs Redis and a
real worker); the inbox and "My hand-offs" after a rejection by test_sales_journey.py."""

from __future__ import annotations

import os
import re

import pytest

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from tests.browser.test_rep_journey import open_action
from tests.browser.test_sales_journey import ARTIFACTS, login
from tests.factories import LeadFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def section(page, heading):
    return page.locator("section", has=page.get_by_role("heading", name=heading))


def receipt_rows(page) -> dict[str, str]:
    """The score receipt as {rule: points}."""
    rows = page.locator("table.receipt tbody tr")
    return {
        rows.nth(i).locator("td").first.inner_text(): rows.nth(i).locator("td").last.inner_text()
        for i in range(rows.count())
    }


def receipt_total(page) -> str:
    return (
        page.locator("table.receipt tfoot")
        .get_by_role("row", name=re.compile("Score"))
        .locator("td")
        .inner_text()
    )


def test_marketer_reads_the_receipt_hands_off_and_works_the_rejection(
    browser, server, org, default_rules, reasons
):
    org.rep.first_name, org.rep.last_name = "Ravi", "Rao"
    org.rep.save()
    nina = LeadFactory(
        first_name="Nina",
        last_name="Nurture",
        email="nina@lindqvist.example",
        company="Lindqvist Pumps",
        job_title="Director of Operations",  # a director, not a CTO: whole words count
        company_size=250,
        country="SE",
    )
    assert nina.stage == Stage.LEAD and nina.score == 30  # senior title + company size
    ARTIFACTS.mkdir(exist_ok=True)

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    login(page, server, "marketer")
    page.get_by_role("link", name="Leads").click()
    page.get_by_label("Search", exact=True).fill("lindqvist")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Nina Nurture").click()

    # The receipt explains the score: which rule gave what, and the total.
    assert receipt_rows(page) == {
        "Senior title (VP, Director, Head of)": "+15",
        "Company of 200 people or more": "+15",
    }
    assert receipt_total(page) == "30"
    assert "(MQL at 60)" in section(page, "In the funnel").inner_text()
    assert (
        "Hand-off gate: still missing at least 1 engagement." in section(page, "In the funnel").inner_text()
    )

    # The gate holds it back, and the form says why before and after trying.
    form = open_action(page, "Hand off to sales")
    assert form.get_by_text("The hand-off gate still needs: at least 1 engagement.").is_visible()
    form.get_by_role("button", name="Hand off", exact=True).click()
    page.get_by_text("The hand-off gate is not met: missing at least 1 engagement.").wait_for()
    assert Lead.objects.get(pk=nina.pk).stage == Stage.LEAD

    # Log what she did through the page: the receipt and the score follow.
    form = open_action(page, "Log an engagement")
    form.get_by_label("What they did").select_option(label="Webinar attended")
    form.get_by_label("Title (e.g. the event or content)").fill("Pump telemetry webinar")
    form.get_by_role("button", name="Log engagement").click()
    page.get_by_text("Engagement logged on Nina Nurture: Webinar attended (+20).").wait_for()
    assert receipt_rows(page)["Webinar attended"] == "+20"
    assert receipt_total(page) == "50"
    assert "Pump telemetry webinar" in section(page, "Engagements").inner_text()
    assert "still missing" not in section(page, "In the funnel").inner_text()
    page.screenshot(path=str(ARTIFACTS / "marketer-score-receipt.png"), full_page=True)

    # Hand off with a note: routing gives it to Ravi.
    form = open_action(page, "Hand off to sales")
    form.get_by_label("Note for sales").fill("Attended the telemetry webinar; budget cycle starts in May.")
    form.get_by_role("button", name="Hand off", exact=True).click()
    page.get_by_text("Handed to sales: Nina Nurture is now an MQL for Ravi Rao.").wait_for()
    assert "budget cycle starts in May" in section(page, "Hand-off packet").inner_text()
    page.screenshot(path=str(ARTIFACTS / "marketer-handoff.png"), full_page=True)
    nina.refresh_from_db()
    assert (nina.stage, nina.owner, nina.qualified_by) == (Stage.MQL, org.rep, org.marketer)
    qualified = LeadEvent.objects.get(lead=nina, type=EventType.QUALIFIED)
    assert qualified.actor == org.marketer and qualified.data["score"] == 50 == nina.score
    assert [line["label"] for line in qualified.data["score_receipt"]] == [
        "Senior title (VP, Director, Head of)",
        "Company of 200 people or more",
        "Webinar attended",
    ]

    # Sales sends it back with a reason and a note.
    services.lead_reject(
        lead_id=nina.pk,
        actor=org.rep,
        reason=reasons.rejection,
        note="Wrong person: ask for the plant manager.",
    )

    # Marketing's home page and the recycled queue show why.
    page.get_by_role("link", name="Home").click()
    recycled = section(page, re.compile("Recycled queue")).get_by_role("row", name=re.compile("Nina Nurture"))
    assert reasons.rejection.label in recycled.inner_text()
    assert "Wrong person: ask for the plant manager." in recycled.inner_text()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    page.get_by_role("navigation", name="Queue lists").get_by_role(
        "link", name=re.compile("^Recycled")
    ).click()
    page.get_by_label("Reason").select_option(
        label=f"{reasons.rejection.get_kind_display()}: {reasons.rejection.label}"
    )
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row", name=re.compile("Nina Nurture"))
    cells = row.get_by_role("cell")
    assert reasons.rejection.label in cells.nth(2).inner_text() and cells.nth(6).inner_text() == "1"
    page.screenshot(path=str(ARTIFACTS / "marketer-recycled.png"), full_page=True)

    # Handing it off again asks what changed; with a note it goes back to sales.
    row.get_by_role("link", name="Nina Nurture").click()
    packet = section(page, "Hand-off packet").inner_text()
    assert "Sent back before:" in packet and reasons.rejection.label in packet
    form = open_action(page, "Hand off to sales")
    form.get_by_role("button", name="Hand off", exact=True).click()
    page.get_by_text("This lead was sent back by sales before: say what changed in a note.").first.wait_for()
    assert Lead.objects.get(pk=nina.pk).stage == Stage.LEAD
    form = page.get_by_role("group").filter(has=page.locator("summary", has_text="Hand off to sales"))
    form.get_by_label("Note for sales").fill("Now talking to Lars, the plant manager; he asked for a call.")
    form.get_by_role("button", name="Hand off", exact=True).click()
    page.get_by_text("Handed to sales: Nina Nurture is now an MQL for Ravi Rao.").wait_for()
    nina.refresh_from_db()
    assert (nina.stage, nina.recycle_count) == (Stage.MQL, 1)
    assert LeadEvent.objects.filter(lead=nina, type=EventType.QUALIFIED).count() == 2

    # "My hand-offs": the first went back with the reason, the second waits for Ravi.
    page.get_by_role("link", name="My hand-offs").click()
    rows = page.get_by_role("row", name=re.compile("Nina Nurture"))
    assert rows.count() == 2
    texts = rows.all_inner_texts()
    assert any("Waiting for sales (Ravi Rao)" in t for t in texts)
    assert any("Rejected" in t and reasons.rejection.label in t for t in texts)
    page.screenshot(path=str(ARTIFACTS / "marketer-handoffs-requalified.png"), full_page=True)

"""Marketing's journey in a real browser with a real Celery worker: import a CSV through
the page, watch the progress bar finish, open a lead, read its score receipt, hand it off."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from smarketing.intake.models import ImportJob, ImportStatus
from tests.browser.test_sales_journey import ARTIFACTS, login

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROWS = 1500


def write_csv(path: Path) -> Path:
    """A HubSpot-style export: one warm lead we will hand off, many others, a few bad rows."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(
            "First Name,Last Name,Email,Company Name,Job Title,Number of Employees,Country/Region,Original Source\n"
        )
        out.write("Vera,Voss,vera.voss@northwind.example,Northwind,VP Revenue,900,Germany,Organic Search\n")
        for i in range(ROWS - 1):
            email = f"person{i}@example.org" if i % 100 else f"broken{i}-at-example.org"
            out.write(f"Pat,Number{i},{email},Company {i},Analyst,20,France,Paid Search\n")
    return path


@pytest.mark.usefixtures("worker")
def test_import_watch_progress_read_receipt_and_hand_off(browser, server, org, default_rules, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page()
    login(page, server, "marketer")
    page.get_by_role("link", name="Import").click()
    page.get_by_label("CSV or Excel (.xlsx) file").set_input_files(
        str(write_csv(tmp_path / "hubspot-contacts.csv"))
    )
    page.get_by_role("button", name="Upload and map columns").click()

    # The mapping was guessed from HubSpot's headers; the preview shows the bad rows.
    page.get_by_role("heading", name="1. Which column is which").wait_for()
    assert page.get_by_label("Email", exact=True).input_value() == "email"
    assert page.get_by_label("Company Name").input_value() == "company"
    preview = page.locator("section", has=page.get_by_role("heading", name="2. Preview")).inner_text()
    assert "Preview of the first 1000 rows" in preview
    assert "990 to create" in preview and "10 with errors" in preview
    page.screenshot(path=str(ARTIFACTS / "import-preview.png"), full_page=True)
    assert Lead.objects.count() == 0

    # Start; the real worker imports while the progress bar moves.
    page.get_by_role("button", name="Start the import").click()
    bar = page.locator("#import-bar")
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if page.get_by_role("heading", name="Done").count():
            break
        if bar.count():
            seen.append(int(bar.get_attribute("value") or 0))
        page.wait_for_timeout(300)
    page.get_by_role("heading", name="Done").wait_for()
    assert seen and min(seen) < 100, f"never saw the import in progress: {seen}"
    assert page.locator("#import-bar").get_attribute("value") == "100"
    page.screenshot(path=str(ARTIFACTS / "import-done.png"), full_page=True)
    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.failed_count) == (ImportStatus.DONE, 1485, 15)
    failed = page.locator("section", has=page.get_by_role("heading", name="Failed rows")).inner_text()
    assert "broken0-at-example.org" in failed and "not a valid email address" in failed

    # Open the warm lead and read its score receipt.
    page.goto(f"{server.url}/leads/?q=vera.voss")
    page.get_by_role("link", name="Vera Voss").click()
    receipt = page.locator("table.receipt").inner_text()
    assert "Senior title (VP, Director, Head of)" in receipt and "+15" in receipt
    assert "Company of 200 people or more" in receipt and "Target market" in receipt
    vera = Lead.objects.get(email="vera.voss@northwind.example")
    assert f"Score\t{vera.score}" in receipt.replace("  ", "\t") or str(vera.score) in receipt

    # It needs an engagement before the gate opens; hand it off once it has one.
    from smarketing.org.models import EngagementType

    services.engagement_log(
        lead_id=vera.pk, actor=org.marketer, type=EngagementType.DEMO_REQUEST, title="Demo form"
    )
    page.reload()
    assert "Demo request" in page.locator("table.receipt").inner_text()
    page.get_by_text("Hand off to sales").click()
    page.get_by_label("Note for sales").fill("Imported from the Q4 list; asked for a demo.")
    page.get_by_role("button", name="Hand off", exact=True).click()
    page.get_by_text("Handed to sales: Vera Voss is now an MQL").wait_for()
    page.screenshot(path=str(ARTIFACTS / "import-handoff.png"), full_page=True)
    vera.refresh_from_db()
    assert (vera.stage, vera.owner) == (Stage.MQL, org.rep)
    event = LeadEvent.objects.get(lead=vera, type=EventType.QUALIFIED)
    assert event.data["score"] == vera.score and event.data["scoring_version"] >= 1

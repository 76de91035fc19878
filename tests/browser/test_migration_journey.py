"""A manager moves the team over in a real browser with a real Celery worker: upload a
HubSpot export with history (bad rows in it), read what each value becomes, start, watch
it finish, read the refused rows, then see the migrated weeks on the dashboard — the same
figures an independent recomputation from the file gives (tests/intake/migration_oracle.py)
— and a lead's timeline saying where each step came from."""

from __future__ import annotations

import csv
import io
import os
import time

import pytest
from django.utils import timezone

from leads.models import Lead
from smarketing.intake.models import ImportJob, ImportStatus
from tests.browser.conftest import open_as
from tests.browser.test_sales_journey import ARTIFACTS
from tests.intake import migration_oracle as oracle
from tests.intake.migration_files import csv_bytes, hubspot_contacts
from tests.intake.test_migration_replay import TZ, crm  # noqa: F401 - the organisation fixture

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROWS = 600


@pytest.mark.usefixtures("worker")
def test_a_manager_migrates_hubspot_and_the_dashboard_shows_the_past(browser, server, crm, tmp_path):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    now = timezone.now()
    export = hubspot_contacts(ROWS, seed=7, now=now, owners=crm.owners)
    expected = oracle.expected_import(
        oracle.HUBSPOT, export.header, export.rows, people=crm.owners, now=now, tz=TZ
    )
    path = tmp_path / "hubspot-contacts-all-properties.csv"
    path.write_bytes(csv_bytes(export.header, export.rows))

    page = open_as(browser, server, crm.marketing_manager.username, landing="/reports/")
    page.get_by_role("link", name="Migrate").click()
    page.get_by_role("heading", name="Bring your history from HubSpot or Salesforce").wait_for()
    page.get_by_label("Export file (CSV or .xlsx)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check the mapping").click()

    # The columns and the values, each with what it becomes, before anything is written.
    page.get_by_role(
        "heading", name="Migration from HubSpot of hubspot-contacts-all-properties.csv"
    ).wait_for()
    assert page.get_by_label("Lifecycle Stage", exact=True).input_value() == "lifecycle_stage"
    assert page.get_by_label("Contact owner", exact=True).input_value() == "owner"
    values = page.locator("section", has=page.get_by_role("heading", name="2. What each value becomes"))
    stages = values.locator("table", has=page.get_by_role("columnheader", name="Value in the file")).first
    assert "Marketing Qualified Lead" in stages.inner_text()
    mql = values.get_by_label("Marketing Qualified Lead", exact=True)
    assert mql.locator("option:checked").inner_text() == "MQL"
    rep = crm.rep.get_full_name()
    assert values.get_by_label(rep, exact=True).first.locator("option:checked").inner_text() == rep
    preview = page.locator("section", has=page.get_by_role("heading", name="3. Preview")).inner_text()
    assert "with errors" in preview and "ends as" in preview.lower() and "to update" not in preview
    page.screenshot(path=str(ARTIFACTS / "migration-mapping.png"), full_page=True)
    values.locator("table").first.screenshot(path=str(ARTIFACTS / "migration-values.png"))
    assert Lead.objects.count() == 0

    page.get_by_role("button", name="Start the migration").click()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not page.get_by_role("heading", name="Done").count():
        page.wait_for_timeout(300)
    page.get_by_role("heading", name="Done").wait_for()
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE
    counts = oracle.counts(expected)
    assert (job.created_count, job.failed_count, job.skipped_count) == (
        counts["created"],
        counts["failed"],
        counts["skipped"],
    )
    failed = page.locator("section", has=page.get_by_role("heading", name="Failed rows")).inner_text()
    first_bad = min(n for n, bad in export.bad.items() if bad.outcome == "failed")
    assert f"\n{first_bad}\t" in f"\n{failed}" or str(first_bad) in failed
    page.screenshot(path=str(ARTIFACTS / "migration-done.png"), full_page=True)

    # The dashboard covers the migrated weeks: its weekly export, from the page, equals the
    # recomputation from the file.
    mondays = oracle.last_mondays(now, TZ)
    page.goto(f"{server.url}/reports/?week={mondays[0]}&week_to={mondays[-1]}")
    page.get_by_role("heading", name="Week by week", exact=False).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "migration-dashboard.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("a[href*='/reports/export/weekly']").first.click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    weeks = oracle.weekly_figures(oracle.created(expected), mondays, go_live=job.started_at, tz=TZ)
    by_week = {row["Week"]: row for row in rows}
    busiest = max(weeks.values(), key=lambda w: w.entered[oracle.MQL])
    assert busiest.entered[oracle.MQL] > 0
    for monday, figures in weeks.items():
        row = by_week.get(monday.isoformat())
        assert row is not None, f"no row for {monday}: {list(by_week)[:3]}"
        assert int(row["MQL"]) == figures.entered[oracle.MQL], monday
        assert int(row["SQL"]) == figures.entered[oracle.SQL], monday
        assert int(row["Customer"]) == figures.entered[oracle.CUSTOMER], monday

    # A migrated customer's timeline says where each step came from.
    won = next(r for r in oracle.created(expected) if r.stage == oracle.CUSTOMER)
    lead = Lead.objects.get(email=won.email.lower())
    page.goto(f"{server.url}/leads/{lead.pk}/")
    timeline = page.locator("ol.timeline").inner_text()
    assert timeline.count(f"migrated from HubSpot (row {won.row} of import {job.pk})") == len(won.steps)
    page.screenshot(path=str(ARTIFACTS / "migration-timeline.png"), full_page=True)

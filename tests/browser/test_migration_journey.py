"""Two managers move the team over in a real browser with a real Celery worker — issue 27's
acceptance: a HubSpot-style and a Salesforce-style file of 10,000 rows each, with bad rows,
import in the browser, and the past twelve weeks of the dashboard equal a recomputation from
the files (tests/intake/migration_oracle.py).

A marketing manager migrates the HubSpot contacts export, then a sales manager the Salesforce
leads report. For each file: the system recognised from the headers, what some columns and
values become, the preview's counts, start, the progress up to the end, the created /
skipped / failed counts on the page, the refused rows on the page and in their download
(each as uploaded, with a message naming its problem), the skipped rows — all against the
oracle. After each file the dashboard API's weekly table equals the recomputation over the
files imported so far; after both, the dashboard page's weekly table, its CSV download, the
API's weekly table and closed loop by source; and migrated leads' timelines say which file
and row each step came from.

The files are test_migration_replay's (same generators and seed; that test imports each
file alone through the API). One Salesforce row names a contact the HubSpot file brought:
it is skipped, and that lead keeps its HubSpot history — the oracle reads the Salesforce
file with the HubSpot file's leads as existing (as do a few addresses the two generated
files happen to share).

SMARKETING_QUICK_TESTS=1 uses 1,500-row files, as test_migration_replay does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import time
from dataclasses import dataclass

import pytest
from django.utils import timezone

from leads.models import Lead, LeadEvent
from reports.models import DirtyLead
from smarketing.intake.models import ImportJob, ImportStatus
from smarketing.org.models import Source
from tests.browser.conftest import open_as
from tests.browser.test_sales_journey import ARTIFACTS
from tests.intake import migration_oracle as oracle
from tests.intake.migration_files import Export, csv_bytes, hubspot_contacts, row_number, salesforce_leads
from tests.intake.test_migration_replay import (  # noqa: F401 - `crm`: the organisation fixture
    ROWS,
    SEED,
    TZ,
    crm,
    distinct,
)
from tests.workers import wait_for

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

IMPORT_TIMEOUT = 150  # seconds per file; 10,000 rows take about 5 s here
ROWS_LISTED = 200  # the done page lists the first 200 failed and skipped rows
SOURCE_LABELS = dict(Source.choices)


@dataclass
class Migration:
    """One file, what the oracle says of it, and (once it ran) its job."""

    system: str
    name: str
    export: Export
    expected: list[oracle.Expected]
    job: ImportJob | None = None

    @property
    def label(self) -> str:
        return {oracle.HUBSPOT: "HubSpot", oracle.SALESFORCE: "Salesforce"}[self.system]

    @property
    def made(self) -> list[oracle.Expected]:
        return oracle.created(self.expected)

    def outcomes(self, outcome: str) -> dict[int, oracle.Expected]:
        return {r.row: r for r in self.expected if r.outcome == outcome}


def test_managers_migrate_hubspot_then_salesforce_and_the_dashboard_shows_the_past(
    browser,
    server,
    crm,  # noqa: F811
    tmp_path,
    start_worker,
):
    start_worker()  # with its beat: it brings the rollups up to date every few seconds
    ARTIFACTS.mkdir(exist_ok=True)
    now = timezone.now()
    mondays = oracle.last_mondays(now, TZ)
    hubspot = Migration(
        oracle.HUBSPOT,
        "hubspot-contacts-all-properties.csv",
        hubspot_contacts(ROWS, seed=SEED, now=now, owners=crm.owners),
        [],
    )
    hubspot.expected = expected(hubspot, crm, now)
    salesforce = Migration(
        oracle.SALESFORCE,
        "salesforce-leads-report.csv",
        salesforce_leads(ROWS, seed=SEED, now=now, owners=crm.owners),
        [],
    )
    # A Salesforce row names a customer the HubSpot file brings (the address in capitals).
    known = next(r for r in hubspot.made if r.stage == oracle.CUSTOMER)
    repeated = plain_row(salesforce.export)
    salesforce.export.rows[repeated][salesforce.export.header.index("Email")] = known.email.upper()
    salesforce.expected = expected(salesforce, crm, now, existing=[r.email for r in hubspot.made])

    # The oracle and the files' own account of their bad rows agree (else fix the files);
    # besides those, only Salesforce rows whose address the HubSpot file brought.
    for migration in (hubspot, salesforce):
        refused = {r.row: r.problem for r in migration.expected if r.outcome != oracle.CREATED}
        here = {n for n, problem in refused.items() if problem == "existing"}
        assert {n: p for n, p in refused.items() if n not in here} == {
            b.row: b.kind for b in migration.export.bad.values()
        }
        if migration is hubspot:
            assert not here
        else:
            assert row_number(repeated) in here
        assert len(migration.export.rows) == ROWS

    # Both managers land on the dashboard: empty before the migration.
    marketing = open_as(browser, server, crm.marketing_manager.username, landing="/reports/")
    sales = open_as(browser, server, crm.sales_manager.username, landing="/reports/")
    assert Lead.objects.count() == 0

    migrate_in_the_browser(marketing, server, hubspot, crm, tmp_path, manager=crm.marketing_manager)
    assert Lead.objects.count() == len(hubspot.made)
    check_weeks_through_the_api(marketing, server, [hubspot], mondays)

    migrate_in_the_browser(sales, server, salesforce, crm, tmp_path, manager=crm.sales_manager)
    assert Lead.objects.count() == len(hubspot.made) + len(salesforce.made)
    both = [hubspot, salesforce]
    check_weeks_through_the_api(sales, server, both, mondays)

    # Once the rollups have caught up with the migrated leads (the beat's next run after the
    # import, ROLLUPS_CATCH_UP_EVERY_SECONDS), the dashboard page: the weekly table, its CSV,
    # and the API again.
    wait_for(lambda: not DirtyLead.objects.exists(), timeout=60, what="the rollups to catch up")
    check_dashboard_page(sales, server, both, mondays)
    check_weeks_through_the_api(sales, server, both, mondays)
    check_attribution_through_the_api(sales, server, both, mondays)

    # Migrated leads' timelines say which file and row each step came from.
    won = next(r for r in hubspot.made if r.stage == oracle.CUSTOMER and len(r.steps) == 4)
    lost = next(r for r in salesforce.made if any(s.type == "lost" for s in r.steps))
    check_timeline(sales, server, hubspot, won)
    check_timeline(sales, server, salesforce, lost)
    sales.screenshot(path=str(ARTIFACTS / "migration-timeline.png"), full_page=True)
    # The leads both files hold kept their HubSpot history: Salesforce changed none of them.
    check_timeline(sales, server, hubspot, known)
    shared = [r.email for r in salesforce.expected if r.problem == "existing"]
    systems = LeadEvent.objects.filter(lead__email__in=shared).values_list(
        "data__migrated__system", flat=True
    )
    assert set(systems) == {oracle.HUBSPOT}
    assert Lead.objects.get(email=known.email).stage == known.stage


def expected(migration: Migration, crm, now: dt.datetime, existing=()) -> list[oracle.Expected]:  # noqa: F811
    export = migration.export
    return oracle.expected_import(
        migration.system, export.header, export.rows, people=crm.owners, now=now, tz=TZ, existing=existing
    )


def plain_row(export: Export) -> int:
    """The index of a valid row that no duplicate row repeats (one to change the email of)."""
    repeated = {hint for bad in export.bad.values() for hint in bad.hints if hint.startswith("row ")}
    return next(
        i
        for i in range(len(export.rows))
        if row_number(i) not in export.bad and f"row {row_number(i)}" not in repeated
    )


# --- one file, in the browser --------------------------------------------------------------------


def expected_mapping(migration: Migration, org) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """What the mapping page shows of the file: (column, the field it is mapped to), and
    (value table, value in the file, what it becomes), as docs/migration.md and the oracle
    read them."""
    rep, former = org.rep.get_full_name(), org.former.get_full_name()
    if migration.system == oracle.HUBSPOT:
        columns = [
            ("Email", "email"),
            ("Lifecycle Stage", "lifecycle_stage"),
            ("Contact owner", "owner"),
            ("Became a Marketing Qualified Lead Date", "mql_at"),
            ("Closed Lost Reason", "loss_reason"),
        ]
        values = [
            ("Lifecycle stage", "Marketing Qualified Lead", "MQL"),
            ("Lifecycle stage", "Customer", "Customer"),
            ("Owner", rep, rep),
            ("Owner", former, f"{former} (left)"),
            ("Source", "Direct Traffic", SOURCE_LABELS[oracle.SOURCES["Direct Traffic"]]),
            ("Source", "Referrals", SOURCE_LABELS[oracle.SOURCES["Referrals"]]),
        ]
        columns_read = ["Lifecycle Stage", "Contact owner", "Original Source"]
    else:
        columns = [
            ("Email", "email"),
            ("Lead Status", "lead_status"),
            ("Lead Owner", "owner"),
            ("Converted", "converted"),
            ("Converted Date", "sql_at"),
            ("Stage", "deal_stage"),
            ("Loss Reason", "loss_reason"),
        ]
        values = [
            ("Lead status", "Open - Not Contacted", "MQL"),
            ("Lead status", "Closed - Not Converted", "Disqualified"),
            ("Deal / opportunity stage", "Closed Won", "Won"),
            ("Deal / opportunity stage", "Closed Lost", "Lost"),
            ("Owner", rep, rep),
            ("Owner", former, f"{former} (left)"),
            ("Source", "Trade Show", SOURCE_LABELS[oracle.SOURCES["Trade Show"]]),
            ("Source", "Employee Referral", SOURCE_LABELS[oracle.SOURCES["Employee Referral"]]),
        ]
        columns_read = ["Lead Status", "Stage", "Lead Owner", "Lead Source"]
    in_file = distinct(migration.export.header, migration.export.rows, columns_read)
    assert {value for _, value, _ in values} <= in_file, "a value checked is not in the file"
    return columns, values


def migrate_in_the_browser(page, server, migration: Migration, org, tmp_path, *, manager) -> None:
    """Upload on the Migrate page, check the mapping page, start, watch the progress, and
    check the done page and the failed rows' download; sets `migration.job`."""
    path = tmp_path / migration.name
    path.write_bytes(csv_bytes(migration.export.header, migration.export.rows))
    leads_before = Lead.objects.count()

    page.get_by_role("link", name="Migrate").click()
    page.get_by_role("heading", name="Bring your history from HubSpot or Salesforce").wait_for()
    page.get_by_label("Export file (CSV or .xlsx)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check the mapping").click()

    # The system recognised from the headers; the columns and the values, each with what
    # it becomes, and the preview, before anything is written.
    page.get_by_role("heading", name=f"Migration from {migration.label} of {migration.name}").wait_for()
    job_id = int(re.search(r"/imports/(\d+)/", page.url).group(1))
    assert page.get_by_label("The export comes from").input_value() == migration.system
    columns, values = expected_mapping(migration, org)
    mapping = page.locator("section", has=page.get_by_role("heading", name="1. Which column is which"))
    for column, field in columns:
        assert mapping.get_by_label(column, exact=True).input_value() == field, column
    section = page.locator("section", has=page.get_by_role("heading", name="2. What each value becomes"))
    for table, value, becomes in values:
        cell = section.get_by_role("table", name=table, exact=True).get_by_label(value, exact=True).first
        assert cell.locator("option:checked").inner_text() == becomes, (table, value)
    check_preview(page, migration)
    page.screenshot(path=str(ARTIFACTS / f"migration-{migration.system}-mapping.png"), full_page=True)
    assert Lead.objects.count() == leads_before, "the upload wrote leads"
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.MAPPING

    # Start, and watch the rows being read until the page says it is done.
    page.get_by_role("button", name="Start the migration").click()
    page.get_by_role("heading", name="Importing").wait_for()
    seen = watch_progress(page)
    job = ImportJob.objects.get(pk=job_id)
    migration.job = job
    assert (job.status, job.system, job.created_by) == (ImportStatus.DONE, migration.system, manager)
    read = [int(n.replace(",", "")) for text in seen for n in re.findall(r"([\d,]+) of about", text)]
    assert read == sorted(read), f"the rows read went back: {seen}"
    if ROWS >= 10_000:  # some 5 s: the page polls every second
        assert any(0 < n < ROWS for n in read), f"no progress shown while it ran: {seen}"

    # The counts, on the page and in the job, equal the oracle's.
    counts = oracle.counts(migration.expected)
    wanted = (counts[oracle.CREATED], 0, counts[oracle.SKIPPED], counts[oracle.FAILED])
    assert (job.created_count, job.updated_count, job.skipped_count, job.failed_count) == wanted
    result = page.locator("section", has=page.get_by_role("heading", name="Done"))
    numbers = [int(d.split()[0].replace(",", "")) for d in result.locator("dd").all_inner_texts()]
    shown = dict(zip(result.locator("dt").all_inner_texts(), numbers, strict=True))
    assert (shown["Created"], shown["Updated"], shown["Skipped as duplicate"], shown["Failed"]) == wanted
    progress = page.locator("#import-progress").inner_text()
    assert f"{ROWS:,} rows read" in progress, progress
    assert Lead.objects.count() - leads_before == counts[oracle.CREATED]
    page.screenshot(path=str(ARTIFACTS / f"migration-{migration.system}-done.png"), full_page=True)
    check_failed_rows(page, migration)
    check_skipped_rows(page, migration)


def check_preview(page, migration: Migration) -> None:
    """The preview of the first rows: its counts equal the oracle's over the same rows."""
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile(r"^3\. Preview")))
    heading = section.get_by_role("heading").first.inner_text()
    first = re.search(r"of the first ([\d,]+) rows", heading)
    rows = int(first.group(1).replace(",", "")) if first else ROWS
    assert rows < ROWS or first is None, heading
    text = section.inner_text()
    assert "ends as" in text.lower() and "to update" not in text, text[:300]
    shown = {
        what: int(n.replace(",", ""))
        for n, what in re.findall(r"([\d,]+) (to create|to skip as duplicate|with errors)", text)
    }
    tally = oracle.counts(migration.expected[:rows])
    assert shown == {
        "to create": tally[oracle.CREATED],
        "to skip as duplicate": tally[oracle.SKIPPED],
        "with errors": tally[oracle.FAILED],
    }, heading


def watch_progress(page) -> list[str]:
    """The progress line, as often as it changes, until the page shows "Done"."""
    seen: list[str] = []
    deadline = time.monotonic() + IMPORT_TIMEOUT
    done = page.get_by_role("heading", name="Done")
    while not done.count():
        assert time.monotonic() < deadline, f"the import did not finish in {IMPORT_TIMEOUT} s: {seen[-3:]}"
        status = page.locator("#import-progress")
        text = status.inner_text() if status.count() else ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        page.wait_for_timeout(250)
    return seen


def check_failed_rows(page, migration: Migration) -> None:
    """The refused rows: the first ones on the page, all of them in the CSV download, each
    as uploaded, with a message naming its problem."""
    failed = migration.outcomes(oracle.FAILED)
    section = page.locator("section", has=page.get_by_role("heading", name="Failed rows"))
    listed = [row.split("\t") for row in section.locator("tbody tr").all_inner_texts()]
    assert [int(number) for number, *_ in listed] == sorted(failed)[:ROWS_LISTED]
    if len(failed) > ROWS_LISTED:
        assert f"The first {ROWS_LISTED} of {len(failed):,}" in section.inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the failed rows as CSV").click()
    assert download.value.suggested_filename == migration.name.replace(".csv", "-failed-rows.csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert [int(row["Row"]) for row in rows] == sorted(failed)
    header = migration.export.header
    for row in rows:
        number = int(row["Row"])
        # As uploaded; a cell a spreadsheet would run as a formula behind an apostrophe.
        uploaded = migration.export.rows[number - 2]
        assert [row[h] for h in header] == [guarded(cell) for cell in uploaded], f"row {number}"
        hints = migration.export.bad[number].hints
        assert any(h.casefold() in row["Error"].casefold() for h in hints), (number, hints, row["Error"])


def guarded(cell: str) -> str:
    """A cell as a download gives it: text a spreadsheet would run as a formula ("+49 89 …")
    behind an apostrophe; a plain number ("-1250.50") as it is."""
    formula = cell[:1] in ("=", "+", "-", "@", "\t", "\r")
    return f"'{cell}" if formula and not re.fullmatch(r"[+-]?\d+(\.\d+)?", cell) else cell


def check_skipped_rows(page, migration: Migration) -> None:
    """The skipped rows: repeats of an earlier row of the file (which they name), and
    addresses already here (the lead they are, linked)."""
    skipped = migration.outcomes(oracle.SKIPPED)
    section = page.locator("section", has=page.get_by_role("heading", name="Skipped as duplicate"))
    listed = {int(row.split("\t")[0]): row for row in section.locator("tbody tr").all_inner_texts()}
    assert sorted(listed) == sorted(skipped)[:ROWS_LISTED]
    for number, text in listed.items():
        if skipped[number].problem == "existing":
            lead = Lead.objects.get(email=skipped[number].email)
            assert f"Already in Smarketing as lead {lead.pk}" in text, text
            link = section.get_by_role("row").filter(has_text=f"lead {lead.pk}").get_by_role("link")
            assert link.get_attribute("href") == f"/leads/{lead.pk}/"
        else:
            hints = migration.export.bad[number].hints
            assert any(h.casefold() in text.casefold() for h in hints), (number, hints, text)


# --- the dashboard -------------------------------------------------------------------------------


def recomputed_weeks(migrations: list[Migration], mondays: list[dt.date]) -> dict[dt.date, dict]:
    """The oracle's weekly table over the leads of every file, each file's rows without a
    date at its own go-live; a lead comes from one file only, so the files' weeks add up."""
    total = {monday: oracle.WeekFigures(monday) for monday in mondays}
    for migration in migrations:
        weeks = oracle.weekly_figures(migration.made, mondays, go_live=migration.job.started_at, tz=TZ)
        for monday, week in weeks.items():
            for stage, count in week.entered.items():
                total[monday].entered[stage] += count
            for name in ("accepted", "rejected", "won", "lost", "responses", "closes", "revenue"):
                setattr(total[monday], name, getattr(total[monday], name) + getattr(week, name))
    return {monday: week.table_row() for monday, week in total.items()}


def check_dashboard_page(page, server, migrations: list[Migration], mondays: list[dt.date]) -> None:
    """The dashboard's weekly table, as the page shows it (every cell) and as its CSV
    download gives it, equals the recomputation for the last twelve weeks; a figure's link
    opens the leads behind it."""
    wanted = recomputed_weeks(migrations, mondays)
    busiest = max(wanted.values(), key=lambda row: row["won"])
    assert busiest[oracle.MQL] > 0 and busiest["won"] > 0 and busiest["lost"] > 0, busiest

    page.goto(f"{server.url}/reports/?week={mondays[0]}&week_to={mondays[-1]}")
    page.get_by_role("heading", name="Week by week", exact=False).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "migration-dashboard.png"), full_page=True)
    weekly = page.locator("table[data-table='weekly']")
    shown = weekly.locator("tbody tr").evaluate_all(
        """rows => rows.map(row => Object.fromEntries(
            [...row.querySelectorAll('[data-key]')].map(cell => [cell.dataset.key, cell.dataset.value])))"""
    )
    assert [row["week"] for row in shown] == [monday.isoformat() for monday in mondays]
    for row in shown:
        monday = dt.date.fromisoformat(row["week"])
        want = {key: "" if value is None else str(value) for key, value in wanted[monday].items()}
        assert {key: row.get(key) for key in want} == want, f"week of {monday} on the page"

    with page.expect_download() as download:
        page.locator("a[href*='/reports/export/weekly']").first.click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert [row["Week"] for row in rows] == [monday.isoformat() for monday in mondays]
    columns = {
        oracle.LEAD: "Lead",
        oracle.MQL: "MQL",
        oracle.SQL: "SQL",
        oracle.CUSTOMER: "Customer",
        oracle.DISQUALIFIED: "Disqualified",
        "accepted": "Accepted",
        "won": "Won",
        "lost": "Lost",
    }
    for row in rows:
        want = wanted[dt.date.fromisoformat(row["Week"])]
        got = {key: int(row[label]) for key, label in columns.items()}
        assert got == {key: want[key] for key in columns}, f"week of {row['Week']} in the CSV"

    # The busiest week's won leads, from the figure's link.
    week = busiest["week"]
    weekly.locator(f"tr:has(th[data-value='{week}']) td[data-key='won'] a").click()
    won = busiest["won"]
    page.get_by_text(re.compile(rf"^{won:,} leads? match")).wait_for()


def api_get(page, server, path: str, mondays: list[dt.date]) -> dict:
    """The dashboard API over the twelve weeks, as the browser's session (a manager) reads it."""
    response = page.request.get(f"{server.url}{path}", params={"week": mondays[0], "week_to": mondays[-1]})
    assert response.ok, (response.status, response.text()[:300])
    return response.json()


def check_weeks_through_the_api(page, server, migrations: list[Migration], mondays: list[dt.date]) -> None:
    """The dashboard API's weekly table (every column: stages entered, responses, outcomes
    and the rates) equals the recomputation over the files imported so far."""
    wanted = recomputed_weeks(migrations, mondays)
    rows = api_get(page, server, "/api/reports/dashboard/weekly/", mondays)["rows"]
    assert [row["week"] for row in rows] == [monday.isoformat() for monday in mondays]
    for row, monday in zip(rows, mondays, strict=True):
        assert {key: row.get(key) for key in wanted[monday]} == wanted[monday], f"week of {monday}"


def check_attribution_through_the_api(page, server, migrations, mondays: list[dt.date]) -> None:
    """The closed loop by first-touch source over the twelve weeks: leads created, how many
    became MQL, SQL and customer, and the revenue — over both files."""
    wanted: dict[str, dict] = {}
    for migration in migrations:
        by_source = oracle.attribution_by_source(
            migration.made, mondays[0], mondays[-1], go_live=migration.job.started_at, tz=TZ
        )
        for source, figures in by_source.items():
            total = wanted.setdefault(SOURCE_LABELS[source], oracle.Attribution())
            for name in ("leads", "mqls", "sqls", "customers", "revenue"):
                setattr(total, name, getattr(total, name) + getattr(figures, name))
    rows = api_get(page, server, "/api/reports/dashboard/attribution-source/", mondays)["rows"]
    names = ("leads", "mqls", "sqls", "customers")
    assert {row["name"]: {k: row[k] for k in (*names, "revenue")} for row in rows} == {
        name: {**{k: getattr(a, k) for k in names}, "revenue": f"{a.revenue:.2f}"}
        for name, a in wanted.items()
    }


def check_timeline(page, server, migration: Migration, expected: oracle.Expected) -> None:
    """The lead's timeline marks each step of its path as migrated from the file's row."""
    lead = Lead.objects.get(email=expected.email)
    assert lead.stage == expected.stage, expected.row
    page.goto(f"{server.url}/leads/{lead.pk}/")
    timeline = page.locator("ol.timeline").inner_text()
    mark = f"migrated from {migration.label} (row {expected.row} of import {migration.job.pk})"
    assert timeline.count(mark) == len(expected.steps), (mark, timeline[:500])
    assert timeline.count("migrated from") == len(expected.steps), timeline[:500]

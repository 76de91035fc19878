"""The demo data, week by week: marketing's commitment, SLA compliance (per week, rep and
team) and the MQL cohorts say the same on the dashboard page (HTML), in the JSON API and in
the CSV exports, and every linked number opens a lead list of exactly that many leads.

The demo is seeded once for the module (tests/demo/test_seed_demo.py's arguments: 300 leads,
four weeks), inside one transaction rolled back at the end. A manager logs in through the
login page, as a person would, and reads each ISO week of the history on its own, then the
whole history as one range.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.db.models import Min
from django.test import Client

from leads.models import Lead
from smarketing.agreement.models import AgreementChange
from smarketing.core.weeks import monday_of, week_range

NOW = dt.datetime.fromisoformat("2026-11-18T15:30:00+01:00")
ARGS = ["--leads", "300", "--weeks", "4", "--seed", "7", "--now", NOW.isoformat(), "--no-logins"]
MANAGER, PASSWORD = "manager.marketing", "smarketing-demo"  # seed_demo's published password
SLUGS = ["commitment", "sla-week", "sla-owner", "sla-team", "cohorts"]
SLA = ["sla-week", "sla-owner", "sla-team"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The seeded demo: its weeks (Mondays, oldest first, the current one last)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", *ARGS, stdout=io.StringIO(), stderr=io.StringIO())
        first = monday_of(Lead.objects.aggregate(first=Min("created_at"))["first"])
        last = monday_of(NOW)
        yield [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
        transaction.set_rollback(True)


@pytest.fixture
def manager(db):
    client = Client()
    with time_machine.travel(NOW, tick=False):
        response = client.post("/login/", {"username": MANAGER, "password": PASSWORD})
    assert response.status_code == 302, "the manager logs in"
    return client


# --- reading the three formats -----------------------------------------------------------------


class TableReader(HTMLParser):
    """The dashboard page's tables: per slug, rows of {column key: (plain value, link)}, read
    from the cells' data-key and data-value and their links."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.table = self.row = self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self.table = self.tables.setdefault(attrs["data-table"], [])
        elif self.table is not None and tag == "tr" and self.row is None:
            self.row = {}
        elif self.row is not None and tag in ("th", "td") and "data-key" in attrs:
            self.cell = attrs["data-key"]
            self.row[self.cell] = (attrs.get("data-value", ""), None)
        elif self.cell is not None and tag == "a":
            self.row[self.cell] = (self.row[self.cell][0], attrs.get("href"))

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:  # the header row has no data cells
                self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None


def text(value) -> str:
    """A plain value as the page's data-value and the CSV cell carry it."""
    return "" if value is None else str(value)


def read_all(client: Client, query: dict) -> tuple[dict, dict, dict]:
    """(page tables, API tables, CSV tables) for the range."""
    page = client.get("/reports/", query)
    assert page.status_code == 200
    reader = TableReader()
    reader.feed(page.content.decode())
    api = client.get("/api/reports/dashboard/", query)
    assert api.status_code == 200, api.content
    tables = {table["slug"]: table for table in api.json()["tables"]}
    exports = {}
    for slug in SLUGS:
        response = client.get(f"/reports/export/{slug}.csv", query)
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        exports[slug] = list(csv.reader(io.StringIO(body)))
    return reader.tables, tables, exports


def listed(client: Client, url: str) -> int:
    """How many leads the lead list shows for a drill-down link (and the API agrees)."""
    page = client.get(url)
    assert page.status_code == 200, url
    shown = page.context["page"]
    assert not shown.count_capped
    query = urlsplit(url).query
    api, cursor_url = 0, f"/api/leads/?{query}&page_size=200"
    while cursor_url:
        response = client.get(cursor_url)
        assert response.status_code == 200, (url, response.content)
        body = response.json()
        api += len(body["results"])
        cursor_url = body["next"]
    assert api == shown.count, f"{url}: the page lists {shown.count} leads, the API {api}"
    return shown.count


# --- the checks --------------------------------------------------------------------------------


def formats_disagree(page: dict, api: dict, exports: dict) -> list[str]:
    found = []
    for slug in SLUGS:
        table = api[slug]
        keys = [column["key"] for column in table["columns"]]
        want = [{key: text(row.get(key)) for key in keys} for row in table["rows"]]
        links = table["links"]
        shown = page.get(slug, [])
        on_page = [{key: value for key, (value, _) in row.items()} for row in shown]
        if on_page != want:
            found.append(f"{slug}: the page shows {on_page}, the API {want}")
        hrefs = [{key: link for key, (_, link) in row.items() if link} for row in shown]
        if hrefs != links:
            found.append(f"{slug}: the page links {hrefs}, the API {links}")
        header, *rows = exports[slug]
        if header != [column["label"] for column in table["columns"]]:
            found.append(f"{slug}: CSV header {header}")
        if rows != [[row[key] for key in keys] for row in want]:
            found.append(f"{slug}: the CSV has {rows}, the API {want}")
    return found


def drilldowns_disagree(client: Client, api: dict) -> list[str]:
    """Each linked number against the length of its list. Every link here is on a count of
    leads (SLA tables link their distinct-leads column, not the clocks)."""
    found = []
    for slug in SLUGS:
        table = api[slug]
        for row, links in zip(table["rows"], table["links"], strict=True):
            for column, url in links.items():
                count = listed(client, url)
                if count != row[column]:
                    found.append(f"{slug} {row} {column}: shows {row[column]}, its list has {count} leads")
        if slug == "cohorts":
            for row, links in zip(table["rows"], table["links"], strict=True):
                unlinked = [
                    c["key"] for c in table["columns"] if c["kind"] == "count" and c["key"] not in links
                ]
                if unlinked:
                    found.append(f"cohorts {row['week']}: {unlinked} not linked")
        if slug in SLA:
            for row, links in zip(table["rows"], table["links"], strict=True):
                if "leads" not in links:
                    found.append(f"{slug} {row}: its leads are not linked")
    return found


def totals_disagree(api: dict) -> list[str]:
    """The SLA tables are one set of clocks cut three ways; cohort columns add up."""
    found = []
    totals = {}
    for slug in SLA:
        rows = api[slug]["rows"]
        totals[slug] = tuple(sum(row[key] for row in rows) for key in ("resolved", "met", "breached"))
        for row in rows:
            if row["resolved"] != row["met"] + row["breached"]:
                found.append(f"{slug} {row}: resolved is not met + breached")
            if row["compliance"] != (round(row["met"] / row["resolved"], 4) if row["resolved"] else None):
                found.append(f"{slug} {row}: compliance is not met ÷ resolved")
    if len(set(totals.values())) != 1:
        found.append(f"SLA totals (resolved, met, breached) differ by table: {totals}")
    states = [c["key"] for c in api["cohorts"]["columns"] if c["key"] not in ("week", "mqls", "converted")]
    for row in api["cohorts"]["rows"]:
        if sum(row[state] for state in states) != row["mqls"]:
            found.append(f"cohorts {row['week']}: the columns do not add up to {row['mqls']}")
    return found


def terms_in_force(monday: dt.date) -> tuple[int, int] | None:
    """The commitment in force at the week's start, from the agreement's audit log."""
    start = week_range(monday)[0]
    changes = AgreementChange.objects.filter(
        summary__startswith="Marketing commitment", occurred_at__lte=start
    ).order_by("occurred_at", "id")
    last = changes.last()
    return (last.after["min_mqls"], last.after["min_acceptance_percent"]) if last else None


def commitment_disagrees(api: dict, weeks: list[dt.date]) -> list[str]:
    """Every week of the range is shown, judged by the terms in force at its start; the
    current week has a pace, no verdict."""
    found = []
    rows = {row["week"]: row for row in api["commitment"]["rows"]}
    for monday in weeks:
        terms = terms_in_force(monday)
        row = rows.get(monday.isoformat())
        if terms is None:
            if row is not None:
                found.append(f"commitment {monday}: judged with no terms in force at its start")
            continue
        if row is None:
            found.append(f"commitment {monday}: not shown")
            continue
        if (row["min_mqls"], round(row["min_acceptance"] * 100)) != terms:
            found.append(
                f"commitment {monday}: judged by {row['min_mqls']}/{row['min_acceptance']}, in force {terms}"
            )
        current = monday == monday_of(NOW)
        if current and row["met"] is not None:
            found.append(f"commitment {monday}: the current week has a verdict ({row['met']})")
        if not current and row["met"] is None:
            found.append(f"commitment {monday}: a finished week has no verdict")
    return found


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_changes_its_commitment_mid_history(demo):
    """What the per-week checks rely on: several weeks, and a change of terms in between."""
    assert len(demo) >= 4
    with time_machine.travel(NOW, tick=False):
        terms = {terms_in_force(monday) for monday in demo}
    assert len(terms - {None}) == 2, terms


@pytest.mark.django_db
@pytest.mark.parametrize("week", range(5), ids=lambda n: f"week{n}")
def test_every_week_agrees_across_page_api_and_csv_and_its_lists(demo, manager, week):
    if week >= len(demo):
        pytest.skip("the demo has fewer weeks")
    monday = demo[week]
    query = {"week": monday.isoformat(), "week_to": monday.isoformat()}
    with time_machine.travel(NOW, tick=False):
        page, api, exports = read_all(manager, query)
        found = formats_disagree(page, api, exports)
        found += totals_disagree(api)
        found += commitment_disagrees(api, [monday])
        found += drilldowns_disagree(manager, api)
    assert api["sla-week"]["rows"] or api["cohorts"]["rows"], "the week has figures to compare"
    assert not found, "\n".join(found)


@pytest.mark.django_db
def test_the_whole_history_agrees_across_page_api_and_csv_and_its_lists(demo, manager):
    query = {"week": demo[0].isoformat(), "week_to": demo[-1].isoformat()}
    with time_machine.travel(NOW, tick=False):
        page, api, exports = read_all(manager, query)
        found = formats_disagree(page, api, exports)
        found += totals_disagree(api)
        found += commitment_disagrees(api, demo)
        found += drilldowns_disagree(manager, api)
    assert len(api["commitment"]["rows"]) >= len(demo) - 1
    assert not found, "\n".join(found)

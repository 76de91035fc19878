"""The dashboard page, its JSON and CSV: the same figures everywhere, every drill-down
listing exactly the leads it was clicked from, a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leads import services
from reports import dashboard
from smarketing.org.models import Source
from tests.reports.history import W1, W2, W3, at

RANGE = {"week": W1.isoformat(), "week_to": W3.isoformat()}
NOW = at(W3, 12, days=2)  # Wednesday of the empty week


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


class Cells(HTMLParser):
    """Every report table cell: slug → rows of {key: (data-value, text, href)}."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.charts: list[str] = []
        self._slug = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self._slug = attrs["data-table"]
            self.tables[self._slug] = []
        elif tag == "tr" and self._slug:
            self.tables[self._slug].append({})
        elif tag in ("td", "th") and self._slug and "data-key" in attrs:
            self._cell = [attrs["data-key"], attrs["data-value"], "", None]
        elif tag == "a" and self._cell is not None:
            self._cell[3] = attrs["href"]
        elif tag == "svg" and "data-chart" in attrs:
            self.charts.append(attrs["data-chart"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            key, value, text, href = self._cell
            self.tables[self._slug][-1][key] = (value, text.strip(), href)
            self._cell = None
        elif tag == "table":
            self._slug = None


def page_cells(client, params=None) -> Cells:
    response = client.get("/reports/", params or RANGE)
    assert response.status_code == 200, response.content[:500]
    parser = Cells()
    parser.feed(response.content.decode())
    for slug in parser.tables:
        parser.tables[slug] = [row for row in parser.tables[slug] if row]  # drop header rows
    return parser


def lead_list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    match = re.search(r"([\d,]+)\+? leads? match", response.content.decode())
    return int(match.group(1).replace(",", "")) if match else 0


def as_text(value) -> str:
    return "" if value is None else str(value)


def test_html_json_and_csv_agree_on_every_figure(client, org, history, frozen_now):
    client.force_login(org.sales_manager)
    html = page_cells(client).tables
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    data = api.get("/api/reports/dashboard/", RANGE).json()
    tables = {table["slug"]: table for table in data["tables"]}
    assert data["range"] == {"first_week": "2026-11-02", "last_week": "2026-11-16", "weeks": 3, "filters": {}}
    assert set(tables) == set(html) | {t for t in tables if not tables[t]["rows"]}
    compared = 0
    for slug, table in tables.items():
        response = client.get(f"/reports/export/{slug}.csv", RANGE)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert rows[0] == [column["label"] for column in table["columns"]]
        assert len(rows) - 1 == len(table["rows"]) == len(html.get(slug, []))
        for csv_row, json_row, html_row in zip(rows[1:], table["rows"], html.get(slug, []), strict=True):
            for column, csv_value in zip(table["columns"], csv_row, strict=True):
                key = column["key"]
                assert csv_value == as_text(json_row[key]) == html_row[key][0], (slug, key)
                compared += 1
    assert compared > 150
    # The page shows people's numbers: 66.7 % where JSON says 0.6667.
    week1 = html["weekly"][0]
    assert (
        week1["acceptance_rate"][1] == "66.7 %" and tables["weekly"]["rows"][0]["acceptance_rate"] == 0.6667
    )


def test_known_figures_on_the_page(client, org, history, frozen_now):
    client.force_login(org.sales_manager)
    html = page_cells(client).tables
    w1, w2, w3 = html["weekly"]
    assert (w1["mql"][1], w1["sql"][1], w1["customer"][1], w1["rejected"][1]) == ("2", "2", "1", "1")
    # D was rejected twice in week 46: one lead, two responses; acceptance 1 of 3.
    assert (w2["rejected"][1], w2["responses"][1], w2["acceptance_rate"][1]) == ("1", "3", "33.3 %")
    assert all(w3[key][1] in ("0", "—") for key in w3 if key != "week")  # the empty week
    assert html["speed"][0]["median_seconds"][1] == "1 h 0 m"


def test_every_linked_count_lists_exactly_its_leads(client, org, history, frozen_now):
    client.force_login(org.sales_manager)
    html = page_cells(client).tables
    checked = 0
    for slug, rows in html.items():
        for row in rows:
            for key, (value, _text, href) in row.items():
                if href is None:
                    continue
                assert href.startswith("/leads/?"), href
                assert lead_list_count(client, href) == int(value), (slug, key, href)
                checked += 1
    assert checked > 60


def test_filters_scope_every_figure_and_their_drill_downs(client, org, make_lead, history, frozen_now):
    with time_machine.travel(at(W2, 9), tick=False):
        make_lead(last_name="F", source=Source.EVENT)
    client.force_login(org.sales_manager)
    html = page_cells(client, {**RANGE, "source": Source.EVENT}).tables
    funnel = {row["stage"][1]: row for row in html["funnel"]}
    assert funnel["Lead"]["leads"][0] == "1"
    value, _, href = funnel["Lead"]["leads"]
    assert "source=event" in href and lead_list_count(client, href) == 1
    assert "mql" not in {row["stage"][1] for row in html["funnel"] if row["leads"][0] != "0"}
    everyone = page_cells(client).tables
    assert {row["stage"][1]: row["leads"][0] for row in everyone["funnel"]}["Lead"] == "6"


def test_the_page_runs_a_fixed_number_of_queries(client, org, make_lead, reasons, history, frozen_now):
    from reports import rollups

    client.force_login(org.sales_manager)
    client.get("/reports/", RANGE)  # warm caches (content types, sessions)

    def count() -> int:
        # Leads changed since the last read are refreshed in the rollups first (a fixed
        # number of statements per batch: tests/reports/test_rollups.py); this counts the read.
        rollups.catch_up()
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/reports/", RANGE).status_code == 200
        return len(queries)

    small = count()
    with time_machine.travel(at(W2, 14), tick=False):
        for n in range(15):
            lead = make_lead(last_name=f"More{n}")
            services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
            if n % 2:
                services.lead_accept(lead_id=lead.pk, actor=org.rep)
            else:
                services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection)
    assert count() == small
    assert small < 45


def test_charts_are_drawn_beside_their_tables(client, org, history, frozen_now):
    client.force_login(org.sales_manager)
    parser = page_cells(client)
    assert {"bar", "line", "pareto"} <= set(parser.charts)
    assert len(parser.charts) >= 8


def test_bad_ranges_are_refused_with_a_reason(client, org):
    client.force_login(org.sales_manager)
    response = client.get("/reports/", {"week": "2026-11-16", "week_to": "2026-11-02"})
    assert response.status_code == 400 and "must not be after" in response.content.decode()
    response = client.get("/reports/", {"week": "not a date"})
    assert response.status_code == 400 and "Enter a valid date" in response.content.decode()
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    body = api.get("/api/reports/dashboard/", {"week": "2020-01-06", "week_to": "2026-11-16"}).json()
    assert body["error"]["code"] == "invalid" and "at most 104 weeks" in body["error"]["message"]


def test_who_may_read_the_dashboard(client, org):
    assert client.get("/reports/").status_code == 302  # to the login page
    for user, expected in (
        (org.sales_manager, 200),
        (org.marketer, 200),
        (org.rep, 200),
        (org.employee, 403),
    ):
        client.force_login(user)
        assert client.get("/reports/").status_code == expected, user
        assert client.get("/reports/export/weekly.csv").status_code == expected, user
        api = APIClient()
        api.force_authenticate(user)
        assert api.get("/api/reports/dashboard/").status_code == expected, user
    assert APIClient().get("/api/reports/dashboard/").status_code == 401
    client.force_login(org.sales_manager)
    assert client.get("/reports/export/nonsense.csv").status_code == 404


def test_funnel_as_of_a_date_with_drill_downs(client, org, history, frozen_now):
    client.force_login(org.sales_manager)
    # End of Tuesday of week 45 (W1 + 1): A is SQL, C customer, D and E leads; B not created yet.
    day = W1 + dt.timedelta(days=1)
    response = client.get("/reports/funnel/", {"as_of": day.isoformat()})
    assert response.status_code == 200
    parser = Cells()
    parser.feed(response.content.decode())
    rows = {row["stage"][1]: row for row in parser.tables["funnel-as-of"] if row}
    assert (rows["Lead"]["then"][0], rows["SQL"]["then"][0], rows["Customer"]["then"][0]) == ("2", "1", "1")
    for row in rows.values():
        for key in ("then", "now"):
            value, _, href = row[key]
            assert lead_list_count(client, href) == int(value), (row["stage"], key)
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    table = api.get("/api/reports/funnel-as-of/", {"as_of": day.isoformat()}).json()
    assert [r["then"] for r in table["rows"]] == [int(rows[r["stage"]]["then"][0]) for r in table["rows"]]
    assert client.get("/reports/funnel/", {"as_of": "2999-01-01"}).status_code == 400


def test_scope_uses_the_lead_lists_own_filters(org, history):
    scope = dashboard.scope_for(W1, W3, {"source": "website", "q": "ignored"})
    assert scope.params == {"source": "website"}
    assert scope.drill_url({"entered": "mql", "week": "2026-11-02"}) == (
        "/leads/?source=website&entered=mql&week=2026-11-02"
    )


def test_commitment_shows_recorded_weeks_and_this_weeks_live_status(org, history):
    from reports.commitments import commitment_update, commitments_close_weeks

    # Agreed on the Friday before W1: W1 is judged by these terms (each week by the terms in
    # force at its start), and W2, still running, shows its pace, not a verdict.
    with time_machine.travel(at(W1, 16, days=-3), tick=False):
        commitment_update(
            actor=org.marketing_manager, team_id=org.marketing.pk, min_mqls=3, min_acceptance_percent=50
        )
    with time_machine.travel(at(W2, 12, days=2), tick=False):  # Wednesday of W2: W1 is recorded, W2 is live
        commitments_close_weeks()
        table = dashboard.build(dashboard.scope_for(W1, W2), {"commitment"})["commitment"]
    # W1: hand-offs A, C and A again (3 of 3 agreed); A rejected, C and A accepted: 2 of 3. Kept.
    # W2 so far: B, D, E and D again: 4 hand-offs; accepted E, rejected D twice: 1 of 3.
    assert [
        (r["week"], r["mqls"], r["min_mqls"], round(r["acceptance"], 4), r["met"], r["status"])
        for r in table.rows
    ] == [
        (W1, 3, 3, 0.6667, True, "kept"),
        (W2, 4, 3, 0.3333, None, "behind"),
    ]

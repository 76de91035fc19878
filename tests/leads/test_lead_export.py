"""The lead list's export (issue 27, "take your data with you"): every lead matching the
list's filters and search — not a page — as CSV and as .xlsx, from the page and the API,
in one query however many leads, with the contract's columns, and showing each person what
the list shows them and no more."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leads import services
from leads.exports import LEAD_EXPORT_COLUMNS
from sla.models import Clock
from smarketing.core.csvs import unguarded
from smarketing.intake.reading import iter_rows, sniff
from smarketing.org.models import Campaign, Source
from tests.factories import LeadFactory

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "Lead ID",
    "Email",
    "First name",
    "Last name",
    "Company",
    "Job title",
    "Phone",
    "Country",
    "Website",
    "Stage",
    "Owner",
    "Owner email",
    "Source",
    "Campaign",
    "Created at",
    "Became an MQL at",
    "Became an SQL at",
    "Became a customer at",
    "Closed on",
    "Deal amount",
    "Recycle count",
    "Score",
    "Consent",
    "Consent at",
    "Consent method",
    "Consent wording",
    "Lawful basis",
    "Referrer email",
    "History",
]
CREATED = dt.datetime(2024, 6, 12, 12, 3, tzinfo=dt.UTC)  # 14:03 in Berlin
QUALIFIED = dt.datetime(2024, 6, 13, 8, 0, tzinfo=dt.UTC)
ACCEPTED = dt.datetime(2024, 6, 14, 9, 30, 15, tzinfo=dt.UTC)
WON = dt.datetime(2024, 6, 20, 15, 0, tzinfo=dt.UTC)


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # a spreadsheet program reads the accents right
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def funnel(org, make_lead, reasons, settings):
    """A customer, an SQL, a recycled lead, a new lead, an employee's referral and a lead
    merged away, at known times."""
    settings.SMARKETING_TIME_ZONE = "Europe/Berlin"
    org.rep.first_name, org.rep.last_name = "Dana", "Sales"
    org.rep.save()
    campaign = Campaign.objects.create(name="June seminar")
    with time_machine.travel(CREATED, tick=False):
        customer = make_lead(
            email="ann@acme.io",
            first_name="Ann",
            last_name="Archer",
            company="Acme",
            phone="+49 30 1234567",
            website="https://acme.io",
            job_title="VP Sales",
            source=Source.WEBINAR,
            campaign=campaign,
        )
        sql = make_lead(email="bob@beta.io", first_name="Bob", last_name="Baker", company="Beta")
        recycled = make_lead(email="cy@gamma.io", first_name="Cy", last_name="Cole", company="Gamma")
        new = make_lead(email="dee@delta.io", first_name="Dee", last_name="Dunn", company="=cmd|x")
        referral = LeadFactory(
            email="eve@epsilon.io", first_name="Eve", phone="+49 40 999", referrer=org.employee
        )
        merged = make_lead(email="ann.archer@acme.io", first_name="Ann", last_name="Archer", company="Acme")
    with time_machine.travel(QUALIFIED, tick=False):
        for lead in (customer, sql, recycled):
            services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    with time_machine.travel(ACCEPTED, tick=False):
        for lead in (customer, sql):
            services.lead_accept(lead_id=lead.pk, actor=org.rep)
        services.lead_reject(lead_id=recycled.pk, actor=org.rep, reason=reasons.rejection)
    with time_machine.travel(WON, tick=False):
        services.lead_win(
            lead_id=customer.pk, actor=org.rep, amount="12500.00", closed_on=dt.date(2024, 6, 20)
        )
        services.lead_merge(survivor_id=customer.pk, other_id=merged.pk, actor=org.sales_manager)
    for lead in (customer, sql, recycled, new, referral, merged):
        lead.refresh_from_db()
    return {
        "customer": customer,
        "sql": sql,
        "recycled": recycled,
        "new": new,
        "referral": referral,
        "merged": merged,
        "campaign": campaign,
    }


def test_the_columns_are_the_contract():
    assert list(LEAD_EXPORT_COLUMNS) == HEADER


def test_the_csv_has_every_column_of_every_live_lead(client, org, funnel):
    client.force_login(org.marketer)
    rows = {row["Email"]: row for row in csv_rows(client.get("/leads/export.csv"))}
    assert set(rows) == {"ann@acme.io", "bob@beta.io", "cy@gamma.io", "dee@delta.io", "eve@epsilon.io"}
    customer = funnel["customer"]
    history = json.loads(rows["ann@acme.io"].pop("History"))
    assert rows["ann@acme.io"] == {
        "Lead ID": str(customer.pk),
        "Email": "ann@acme.io",
        "First name": "Ann",
        "Last name": "Archer",
        "Company": "Acme",
        "Job title": "VP Sales",
        "Phone": "'+49 30 1234567",  # guarded (a spreadsheet would run "+…"); imports take it off
        "Country": "DE",
        "Website": "https://acme.io",
        "Stage": "customer",
        "Owner": "Dana Sales",
        "Owner email": "rep@smarketing.test",
        "Source": "webinar",
        "Campaign": "June seminar",
        "Created at": "2024-06-12T14:03:00+02:00",
        "Became an MQL at": "2024-06-13T10:00:00+02:00",
        "Became an SQL at": "2024-06-14T11:30:15+02:00",
        "Became a customer at": "2024-06-20T17:00:00+02:00",
        "Closed on": "2024-06-20",
        "Deal amount": "12500.00",
        "Recycle count": "0",
        "Score": str(customer.score),
        # No answer on marketing contact recorded: blank (tests/leads/test_consent_pages.py).
        "Consent": "",
        "Consent at": "",
        "Consent method": "",
        "Consent wording": "",
        "Lawful basis": "",
        "Referrer email": "",
    }
    # Its whole path, exact, with who made each move and whom it gave the lead to.
    assert history["created"] == "2024-06-12T12:03:00+00:00"
    assert [(e["type"], e["at"], e["to"], e["by"]) for e in history["events"]] == [
        ("qualified", "2024-06-13T08:00:00+00:00", "mql", "marketer@smarketing.test"),
        ("accepted", "2024-06-14T09:30:15+00:00", "sql", "rep@smarketing.test"),
        ("won", "2024-06-20T15:00:00+00:00", "customer", "rep@smarketing.test"),
    ]
    assert history["events"][0]["owner"] == "rep@smarketing.test"
    assert history["events"][2]["data"] == {"amount": "12500.00", "closed_on": "2024-06-20"}
    response = next(c for c in history["clocks"] if c["obligation"] == "response")
    clock = Clock.objects.get(lead=customer, obligation="response")
    assert (response["owner"], response["met"], response["breached"]) == (
        "rep@smarketing.test",
        "2024-06-14T09:30:15+00:00",
        clock.breached_at and clock.breached_at.isoformat(),
    )
    rejected = json.loads(rows["cy@gamma.io"]["History"])["events"][-1]
    assert (rejected["type"], rejected["to"]) == ("rejected", "lead") and rejected["reason"]
    assert (rows["bob@beta.io"]["Stage"], rows["bob@beta.io"]["Became an SQL at"]) == (
        "sql",
        "2024-06-14T11:30:15+02:00",
    )
    assert rows["bob@beta.io"]["Became a customer at"] == rows["bob@beta.io"]["Deal amount"] == ""
    # Sent back by sales: stage lead again, once recycled, handed off once (its MQL time kept).
    cy = rows["cy@gamma.io"]
    assert (cy["Stage"], cy["Recycle count"], cy["Became an SQL at"]) == ("lead", "1", "")
    assert cy["Became an MQL at"] == "2024-06-13T10:00:00+02:00"
    dee = rows["dee@delta.io"]
    assert (dee["Owner"], dee["Owner email"], dee["Became an MQL at"], dee["Campaign"]) == ("", "", "", "")
    assert dee["Company"] == "'=cmd|x"  # guarded, as every CSV the product writes


def test_the_workbook_has_the_same_rows_typed(client, org, funnel):
    client.force_login(org.sales_manager)
    response = client.get("/leads/export.xlsx")
    assert 'filename="smarketing-leads-' in response["Content-Disposition"]
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows = {row["Email"]: row for row in xlsx_rows(response)}
    ann = rows["ann@acme.io"]
    assert ann["Lead ID"] == funnel["customer"].pk
    assert ann["Created at"] == dt.datetime(2024, 6, 12, 14, 3)  # a date cell, the org's wall clock
    assert ann["Became an SQL at"] == dt.datetime(2024, 6, 14, 11, 30, 15)
    assert ann["Became a customer at"] == dt.datetime(2024, 6, 20, 17, 0)
    assert ann["Closed on"] == dt.datetime(2024, 6, 20)
    assert Decimal(str(ann["Deal amount"])) == Decimal("12500")  # a number, to sum
    assert (ann["Recycle count"], ann["Score"]) == (0, funnel["customer"].score)
    assert rows["dee@delta.io"]["Company"] == "'=cmd|x"
    assert rows["dee@delta.io"]["Owner"] is None
    # The CSV and the workbook agree on every lead and column (the CSV as text).
    csv_by_email = {row["Email"]: row for row in csv_rows(client.get("/leads/export.csv"))}
    assert set(csv_by_email) == set(rows)
    assert {email: row["Stage"] for email, row in rows.items()} == {
        email: row["Stage"] for email, row in csv_by_email.items()
    }


def test_the_export_follows_the_lists_filters_and_search_and_not_its_page(client, org, make_lead, funnel):
    client.force_login(org.marketer)
    stages = {
        row["Email"]: row["Stage"]
        for row in csv_rows(client.get("/leads/export.csv?stage=sql&stage=customer"))
    }
    assert stages == {"ann@acme.io": "customer", "bob@beta.io": "sql"}
    found = csv_rows(client.get("/leads/export.csv", {"q": "gamma"}))
    assert [row["Email"] for row in found] == ["cy@gamma.io"]
    by_campaign = xlsx_rows(client.get("/leads/export.xlsx", {"campaign": funnel["campaign"].pk}))
    assert [row["Email"] for row in by_campaign] == ["ann@acme.io"]

    # More leads than a page of the list (50): the export has them all, in the list's order.
    for n in range(55):
        LeadFactory(email=f"bulk{n:02d}@bulk.example", source=Source.EVENT)
    page = client.get("/leads/", {"source": "event"}).content.decode()
    assert page.count("@bulk.example") == 50 and "Next page" in page
    assert (
        'href="/leads/export.csv?source=event"' in page and 'href="/leads/export.xlsx?source=event"' in page
    )
    rows = csv_rows(client.get("/leads/export.csv", {"source": "event", "sort": "oldest"}))
    assert [row["Email"] for row in rows] == [f"bulk{n:02d}@bulk.example" for n in range(55)]


def test_filters_the_list_refuses_are_refused_not_exported_as_everything(client, org, funnel):
    client.force_login(org.marketer)
    response = client.get("/leads/export.csv", {"stage": "nonsense"})
    assert response.status_code == 400
    assert "These filters cannot be exported" in response.content.decode()


def test_what_the_list_hides_from_an_employee_the_export_leaves_blank(client, org, funnel):
    client.force_login(org.employee)  # no product role: reads where leads are, not who they are
    rows = {row["First name"]: row for row in csv_rows(client.get("/leads/export.csv"))}
    assert set(rows) == {"Ann", "Bob", "Cy", "Dee", "Eve"}
    ann = rows["Ann"]
    assert (ann["Email"], ann["Phone"], ann["Deal amount"], ann["Owner email"]) == ("", "", "", "")
    assert (ann["Stage"], ann["Owner"], ann["Company"], ann["Became a customer at"]) == (
        "customer",
        "Dana Sales",
        "Acme",
        "2024-06-20T17:00:00+02:00",
    )
    # Their own referral: its contact details, as the list shows them.
    assert (rows["Eve"]["Email"], rows["Eve"]["Phone"]) == ("eve@epsilon.io", "'+49 40 999")
    # Its referrer and every lead's history name colleagues by email: blank for them.
    assert {(row["Referrer email"], row["History"]) for row in rows.values()} == {("", "")}
    book = {row["First name"]: row for row in xlsx_rows(client.get("/leads/export.xlsx"))}
    assert (book["Ann"]["Email"], book["Ann"]["Phone"], book["Ann"]["Deal amount"]) == (None, None, None)
    assert book["Eve"]["Email"] == "eve@epsilon.io"
    # The list page shows this person the same.
    page = client.get("/leads/").content.decode()
    assert "ann@acme.io" not in page and "eve@epsilon.io" in page


def test_anonymous_people_are_sent_to_log_in(client, funnel):
    response = client.get("/leads/export.xlsx")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_one_query_reads_the_leads_however_many(
    client, org, make_lead, funnel, django_assert_max_num_queries
):
    client.force_login(org.marketer)

    def queries(fmt: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/leads/export.{fmt}", {"q": "acme.io"} if fmt == "csv" else {})
            b"".join(response.streaming_content)
        return len(captured)

    before = {fmt: queries(fmt) for fmt in ("csv", "xlsx")}
    for n in range(12):
        lead = make_lead(email=f"more{n}@acme.io", campaign=funnel["campaign"])
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    assert {fmt: queries(fmt) for fmt in ("csv", "xlsx")} == before
    # The session and user, the leads, the users' emails and the reasons' codes once, and
    # per 2,000 leads their events and clocks (the History column).
    with django_assert_max_num_queries(10):
        b"".join(client.get("/leads/export.xlsx").streaming_content)


# --- the API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(org):
    client = APIClient()
    client.force_authenticate(org.rep)
    return client


def test_the_api_exports_with_the_lists_filters_as_csv_or_xlsx(api, org, funnel):
    rows = csv_rows(api.get("/api/leads/export/", {"stage": "customer"}))
    assert [(row["Email"], row["Deal amount"]) for row in rows] == [("ann@acme.io", "12500.00")]
    book = xlsx_rows(api.get("/api/leads/export/", {"format": "xlsx", "source": "webinar"}))
    assert [(row["Email"], row["Campaign"]) for row in book] == [("ann@acme.io", "June seminar")]
    # The same leads as GET /api/leads/ for the same filters, in its order.
    listed = [lead["email"] for lead in api.get("/api/leads/", {"ordering": "last_name"}).json()["results"]]
    exported = [row["Email"] for row in csv_rows(api.get("/api/leads/export/", {"ordering": "last_name"}))]
    assert exported == listed and len(exported) == 5


def test_the_api_export_hides_what_the_api_list_hides(org, funnel):
    employee = APIClient()
    employee.force_authenticate(org.employee)
    rows = {row["First name"]: row for row in csv_rows(employee.get("/api/leads/export/"))}
    listed = {lead["first_name"]: lead for lead in employee.get("/api/leads/").json()["results"]}
    for name, row in rows.items():
        assert row["Email"] == (listed[name]["email"] or "")
        assert unguarded(row["Phone"]) == (listed[name]["phone"] or "")
    assert rows["Ann"]["Email"] == "" and rows["Eve"]["Email"] == "eve@epsilon.io"


def test_the_api_export_refuses_bad_input_in_the_error_format(api, funnel):
    unknown = api.get("/api/leads/export/", {"format": "pdf"})
    assert unknown.status_code == 400 and unknown["Content-Type"] == "application/json"
    assert unknown.json()["error"]["fields"] == {"format": ["format is one of csv, xlsx."]}
    bad_filter = api.get("/api/leads/export/", {"format": "xlsx", "stage": "nonsense"})
    assert bad_filter.status_code == 400 and "stage" in bad_filter.json()["error"]["fields"]
    # An Accept header for a file is not refused: the export is the file.
    assert api.get("/api/leads/export/", HTTP_ACCEPT="text/csv").status_code == 200


def test_the_api_export_needs_a_login(funnel):
    response = APIClient().get("/api/leads/export/", {"format": "xlsx"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_an_exported_file_reads_back_through_the_import_reader_with_the_values_as_they_were(
    client, org, funnel, tmp_path
):
    """The columns are read back by imports (the migration import): both files give the
    same text for every cell, the guard taken off."""
    client.force_login(org.marketer)
    read = {}
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"leads.{fmt}"
        path.write_bytes(b"".join(client.get(f"/leads/export.{fmt}").streaming_content))
        file_format = sniff(path)
        assert file_format.headers == HEADER
        read[fmt] = {values["Email"]: values for _, values in iter_rows(path, file_format)}
    ann = read["xlsx"]["ann@acme.io"]
    assert (ann["Phone"], ann["Stage"], ann["Deal amount"], ann["Closed on"]) == (
        "+49 30 1234567",
        "customer",
        "12500",
        "2024-06-20",
    )
    assert ann["Created at"] == "2024-06-12 14:03:00"  # wall clock in the org's zone
    assert read["csv"]["ann@acme.io"]["Created at"] == "2024-06-12T14:03:00+02:00"
    assert read["csv"]["dee@delta.io"]["Company"] == read["xlsx"]["dee@delta.io"]["Company"] == "=cmd|x"
    for email, values in read["csv"].items():
        for column in ("Lead ID", "First name", "Phone", "Stage", "Owner", "Owner email", "Source", "Score"):
            assert read["xlsx"][email][column] == values[column], (email, column)

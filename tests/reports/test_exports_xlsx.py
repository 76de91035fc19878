"""Every report table is offered as CSV and as .xlsx: the workbook holds the CSV's figures
(the same labels, the same rows), typed — counts and rates as numbers, weeks as dates,
money as a number — and is refused to whoever may not read the reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from rest_framework.test import APIClient

from smarketing.org.models import Campaign
from tests.reports.history import W1, W3, at

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RANGE = {"week": W1.isoformat(), "week_to": W3.isoformat()}


@pytest.fixture
def frozen_now():
    with time_machine.travel(at(W3, 12, days=2), tick=False):
        yield


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def sheet_of(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX_TYPE
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


def as_csv_text(value) -> str:
    """A workbook cell as the CSV writes the same figure."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_dashboard_table_as_xlsx_holds_the_csvs_figures_typed(client, org, history, frozen_now):
    client.force_login(org.sales_manager)
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    slugs = [table["slug"] for table in api.get("/api/reports/dashboard/", RANGE).json()["tables"]]
    compared = 0
    for slug in slugs:
        csv_rows = csv_of(client.get(f"/reports/export/{slug}.csv", RANGE))
        response = client.get(f"/reports/export/{slug}.xlsx", RANGE)
        assert f'filename="smarketing-{slug}-{W1}-{W3}.xlsx"' in response["Content-Disposition"]
        rows = list(sheet_of(response).iter_rows(values_only=True))
        assert list(rows[0]) == csv_rows[0], slug
        assert len(rows) == len(csv_rows), slug
        for xlsx_row, csv_row in zip(rows[1:], csv_rows[1:], strict=True):
            for value, text in zip(xlsx_row, csv_row, strict=True):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    assert Decimal(str(value)) == Decimal(text), (slug, value, text)
                else:
                    assert as_csv_text(value) == text, (slug, value, text)
                compared += 1
    assert compared > 150


def test_weeks_are_dates_and_rates_numbers_in_the_workbook(client, org, history, frozen_now):
    client.force_login(org.marketer)
    sheet = sheet_of(client.get("/reports/export/weekly.xlsx", RANGE))
    header = [cell.value for cell in sheet[1]]
    first_week = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    week_cell = sheet.cell(row=2, column=1)
    assert week_cell.is_date and week_cell.value == dt.datetime(2026, 11, 2)
    rate_label = next(label for label in header if "ccept" in label and "rate" in label.lower())
    assert first_week[rate_label] == pytest.approx(0.6667)  # a number a spreadsheet can format


def test_money_is_a_number_and_a_campaign_named_as_a_formula_is_guarded(client, org, make_lead):
    campaign = Campaign.objects.create(name="=1+2")
    make_lead(campaign=campaign)
    client.force_login(org.marketing_manager)
    sheet = sheet_of(client.get("/reports/export/attribution-campaign.xlsx"))
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'=1+2" in names
    cell = next(row[0] for row in sheet.iter_rows(min_row=2) if row[0].value == "'=1+2")
    assert cell.data_type == "s"
    assert sheet.title  # named after the table
    kinds = {type(value) for row in sheet.iter_rows(min_row=2, values_only=True) for value in row[1:]}
    assert str not in kinds  # figures and money are numbers, not text


def test_the_funnel_as_of_a_date_as_xlsx(client, org, history, frozen_now):
    client.force_login(org.rep)
    query = {**RANGE, "as_of": (W1 + dt.timedelta(days=4)).isoformat()}
    csv_rows = csv_of(client.get("/reports/funnel/export.csv", query))
    response = client.get("/reports/funnel/export.xlsx", query)
    assert 'filename="smarketing-funnel-as-of-2026-11-06.xlsx"' in response["Content-Disposition"]
    rows = [[as_csv_text(value) for value in row] for row in sheet_of(response).iter_rows(values_only=True)]
    assert rows == csv_rows


def test_the_pages_offer_both_files_for_the_same_range(client, org, history, frozen_now):
    client.force_login(org.sales_manager)
    page = client.get("/reports/", RANGE).content.decode()
    query = f"week={W1}&amp;week_to={W3}"
    assert f'href="/reports/export/funnel.csv?{query}"' in page
    assert f'href="/reports/export/funnel.xlsx?{query}"' in page and "Download Excel (.xlsx)" in page
    funnel = client.get("/reports/funnel/", {**RANGE, "as_of": W1.isoformat()}).content.decode()
    assert 'href="/reports/funnel/export.xlsx?' in funnel


def test_the_workbooks_are_refused_like_the_reports(client, org):
    client.force_login(org.employee)
    for url in ("/reports/export/funnel.xlsx", "/reports/funnel/export.xlsx"):
        response = client.get(url)
        assert response.status_code == 403
        assert "The funnel dashboard is for marketing, sales and their managers." in response.content.decode()
    client.force_login(org.marketer)
    assert client.get("/reports/export/no-such-table.xlsx").status_code == 404
    assert client.get("/reports/export/funnel.xlsx", {"week": "not a date"}).status_code == 400
    client.logout()
    assert client.get("/reports/export/funnel.xlsx")["Location"].startswith("/login/")

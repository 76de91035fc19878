"""A sales manager runs the weekly meeting from the dashboard, on the demo organisation:
the charts are drawn, a filter narrows every figure, a number opens exactly its leads."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from smarketing.org.models import Source
from tests.browser.conftest import log_in
from tests.browser.test_sales_journey import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shown_count(page) -> int:
    text = page.get_by_text(re.compile(r"[\d,]+\+? leads? match")).inner_text()
    return int(re.match(r"([\d,]+)", text).group(1).replace(",", ""))


def test_manager_reads_filters_and_drills_down_on_demo_data(browser, server, product_setup, default_rules):
    call_command("seed_demo", "--leads", "400", "--weeks", "6", "--seed", "11", stdout=io.StringIO())
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log_in(page, server, "manager.sales", landing="/reports/", password="smarketing-demo")
    page.wait_for_url(f"{server.url}/reports/")  # a manager's landing page

    # The charts are drawn (server-side SVG, with their values as text) beside their tables.
    charts = page.locator("svg[data-chart]")
    assert charts.count() >= 8
    funnel_chart = page.locator("#funnel svg[data-chart='bar']")
    assert funnel_chart.locator("rect").count() >= 4 and funnel_chart.bounding_box()["height"] > 100
    assert (
        page.locator(
            "#rejections svg[data-chart='pareto'] polyline, #rejections svg[data-chart='pareto'] path"
        ).count()
        >= 1
    )
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=False)

    all_mqls = int(
        page.locator("table[data-table='funnel'] tr:nth-child(2) td[data-key='leads']").get_attribute(
            "data-value"
        )
    )

    # Filter: only webinar leads. Every figure narrows, the range stays the last 12 weeks.
    page.get_by_label("Source", exact=True).select_option(Source.WEBINAR)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"source=webinar"))
    mql_cell = page.locator("table[data-table='funnel'] tr:nth-child(2) td[data-key='leads']")
    webinar_mqls = int(mql_cell.get_attribute("data-value"))
    assert 0 < webinar_mqls < all_mqls

    # Drill down: the number opens the lead list with exactly those leads.
    mql_cell.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/leads/\?.*entered=mql"))
    assert "source=webinar" in page.url
    assert page.get_by_text("Report drill-down: leads that entered MQL").is_visible()
    assert shown_count(page) == webinar_mqls
    page.screenshot(path=str(ARTIFACTS / "dashboard-drill-down.png"), full_page=False)

    # Back on the dashboard, a week's rejections open the same number of leads.
    page.go_back()
    weekly = page.locator("table[data-table='weekly'] td[data-key='rejected'] a").first
    rejected = int(weekly.inner_text())
    weekly.click()
    page.wait_for_url(re.compile(r"outcome=rejected"))
    assert shown_count(page) == rejected

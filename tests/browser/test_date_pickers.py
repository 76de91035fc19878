"""Date fields show the product's one date style ("Mon 01 Jun 2026"), not the browser's
mm/dd/yyyy (issue 22): picked from a calendar or typed, on a phone too; the form still
submits the ISO date, and the label still names the field a person types in."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import open_as

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_list_dates_are_picked_and_typed_in_the_product_style(browser, server, org):
    page = open_as(browser, server, "marketer", width=390, height=844)
    page.goto(f"{server.url}/leads/")
    created_from = page.get_by_label("Created from")
    # The label names the field a person sees and types in (not the hidden ISO value).
    assert created_from.is_visible() and created_from.get_attribute("type") == "text"
    assert page.locator("input[name=created_after]").get_attribute("type") == "hidden"

    # Typed as ISO, read on leaving the field: shown in the product's style.
    created_from.fill("2026-06-01")
    created_from.press("Tab")
    assert created_from.input_value() == "Mon 01 Jun 2026"
    assert page.locator("input[name=created_after]").input_value() == "2026-06-01"

    # Picked from the calendar, which fits the phone's width and starts its weeks on Monday.
    page.get_by_label("Created until").click()
    calendar = page.locator(".flatpickr-calendar.open")
    calendar.wait_for()
    box = calendar.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert calendar.locator(".flatpickr-weekday").first.inner_text().strip() == "Mon"
    calendar.locator(".flatpickr-next-month").click()  # from this month to the next
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)").nth(14).click()
    until = page.get_by_label("Created until").input_value()
    assert re.fullmatch(r"[A-Z][a-z]{2} 15 [A-Z][a-z]{2} \d{4}", until), until
    iso_until = page.locator("input[name=created_before]").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-15", iso_until), iso_until

    # Submitted: the filter applies the ISO dates, and the page shows them in the same style again.
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(rf"created_after=2026-06-01.*created_before={iso_until}"))
    assert page.get_by_label("Created from").input_value() == "Mon 01 Jun 2026"
    assert page.get_by_label("Created until").input_value() == until
    assert "/" not in page.get_by_label("Created from").input_value()  # never mm/dd/yyyy


def test_a_date_in_words_and_a_date_time_are_read_too(browser, server, org):
    page = open_as(browser, server, "mmanager", landing="/reports/", width=1300)

    # The dashboard's week: typed in the product's own words.
    page.goto(f"{server.url}/reports/")
    week = page.get_by_label("From week")
    week.fill("Mon 04 May 2026")
    week.press("Tab")
    assert page.locator("input[name=week]").input_value() == "2026-05-04"
    assert week.input_value() == "Mon 04 May 2026"

    # A date and time (the calendars' deadline preview): shown with the time, sent as ISO.
    page.goto(f"{server.url}/agreement/calendars/")
    at = page.get_by_label("A lead handed off at")
    at.fill("2026-06-03 14:30")
    at.press("Tab")
    assert at.input_value() == "Wed 03 Jun 2026 14:30"
    page.get_by_role("button", name="Show deadlines").click()
    page.wait_for_url(re.compile(r"at=2026-06-03T14(%3A|:)30"))
    assert page.get_by_label("A lead handed off at").input_value() == "Wed 03 Jun 2026 14:30"
    assert page.get_by_text(re.compile(r"Handed off Wed 03 Jun 2026 14:30")).first.is_visible()

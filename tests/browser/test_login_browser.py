"""Headless Chromium logs in as each kind of user and sees their home page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "username,heading",
    [
        ("rep", "My MQLs awaiting response"),
        ("marketer", "Recycled queue"),
        ("smanager", "Clocks at risk now"),
    ],
)
def test_each_role_logs_in_and_sees_its_home(browser, server, org, make_mql, username, heading):
    make_mql(first_name="Browser", last_name="Lead")
    page = browser.new_page()
    page.goto(f"{server.url}/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pass-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    if username == "smanager":  # managers land on the funnel dashboard; their team's list is at /team/
        page.wait_for_url(f"{server.url}/reports/")
        assert page.get_by_role("heading", name="Funnel dashboard").first.is_visible()
        page.get_by_role("link", name="My team").click()
    else:
        page.wait_for_url(f"{server.url}/")
    assert page.get_by_role("heading", name=heading).is_visible()
    if username == "rep":
        assert page.get_by_role("link", name="Browser Lead").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"home-{username}.png"), full_page=True)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")

"""The closed loop in a real browser: a rep responds to two MQLs from the queue; the
marketer who handed them off sees the notification, the reason, and both steps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leads.models import Lead, Stage
from tests.browser.conftest import log_in as login

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_accepts_and_rejects_then_marketer_sees_the_loop(browser, server, org, make_mql, reasons):
    keep = make_mql(first_name="Kara", last_name="Keeper")
    bounce = make_mql(first_name="Bo", last_name="Bounced")
    ARTIFACTS.mkdir(exist_ok=True)

    # The rep works the queue in place
    page = browser.new_page()
    login(page, server, "rep")
    page.get_by_role("button", name="Accept Kara Keeper").click()
    page.get_by_text("Accepted: Kara Keeper is now your SQL.").wait_for()
    page.get_by_label("Rejection reason for Bo Bounced").select_option(label=reasons.rejection.label)
    page.get_by_role("button", name="Reject Bo Bounced").click()
    page.get_by_text("Rejected: Bo Bounced went back to marketing").wait_for()
    page.screenshot(path=str(ARTIFACTS / "rep-queue-after-actions.png"), full_page=True)
    page.get_by_role("button", name="Log out").click()
    assert Lead.objects.get(pk=keep.pk).stage == Stage.SQL
    assert Lead.objects.get(pk=bounce.pk).stage == Stage.LEAD

    # The marketer who qualified them sees the notification and the reason
    login(page, server, "marketer")
    page.get_by_role("link", name="Inbox").click()
    page.get_by_text("MQL rejected: Bo Bounced").wait_for()
    page.get_by_role("link", name="My hand-offs").click()
    row = page.get_by_role("row").filter(has_text="Bo Bounced")
    assert "Rejected" in row.inner_text() and reasons.rejection.label in row.inner_text()
    assert "Accepted" in page.get_by_role("row").filter(has_text="Kara Keeper").inner_text()
    page.screenshot(path=str(ARTIFACTS / "marketer-handoffs.png"), full_page=True)

    # and the lead's timeline shows both steps
    row.get_by_role("link", name="Bo Bounced").click()
    timeline = page.locator("ol.timeline").inner_text()
    assert "Qualified (handed to sales)" in timeline and "Rejected by sales" in timeline
    assert reasons.rejection.label in timeline
    page.screenshot(path=str(ARTIFACTS / "lead-timeline.png"), full_page=True)

"""Every page fits a phone (390 px) and a laptop (1300 px) (issue 22): no page scrolls
sideways — a wide table scrolls inside its own box — and on a laptop the menu is one row.
Measured in Chromium on the demo organisation, as each persona."""

from __future__ import annotations

import io
import os

import pytest
from django.core.management import call_command

from leads.models import Lead, Stage
from smarketing.agreement.models import AgreementVersion
from smarketing.org.models import Campaign, Team
from tests.browser.conftest import log_in

# The test's own database reads run beside Playwright's event loop, as in the journeys.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHARED = [
    "/",
    "/leads/",
    "/leads/{lead}/",
    "/inbox/",
    "/agreement/",
    "/agreement/versions/",
    "/refer/",
    "/no-such-page/",
]
PAGES = {
    "rep": [*SHARED, "/reports/", "/campaigns/", "/campaigns/{campaign}/"],
    "marketer": [
        *SHARED,
        "/reports/",
        "/reports/funnel/",
        "/leads/new/",
        "/leads/{lead}/edit/",
        "/recycled/",
        "/queue/",
        "/queue/?tab=referral",
        "/handoffs/",
        "/imports/",
        "/campaigns/",
        "/campaigns/new/",
        "/campaigns/{campaign}/",
        "/campaigns/{campaign}/edit/",
        "/agreement/scoring/",
        "/agreement/reasons/",
        "/agreement/handoff/",
        "/agreement/versions/{version}/",
    ],
    "manager.sales": [
        "/reports/",
        "/team/",
        "/sla/",
        "/leads/",
        "/leads/{lead}/",
        "/leads/{lead}/merge/",
        "/agreement/sla/",
        "/agreement/calendars/",
        "/agreement/routing/",
        "/agreement/inbound/",
        "/agreement/goal/",
        "/agreement/versions/compare/",
        "/migrations/",
        "/privacy/",
        "/privacy/people/{lead}/",
        "/privacy/retention/run/",
    ],
    "technician": ["/", "/refer/", "/inbox/", "/agreement/"],
}
MENU_ONE_ROW = 60  # px: the header's height when the menu fits on one line


def test_no_page_scrolls_sideways_on_a_phone_and_the_menu_fits_a_laptop(
    browser, server, product_setup, default_rules
):
    call_command("seed_demo", "--leads", "150", "--weeks", "3", "--seed", "5", stdout=io.StringIO())
    lead = Lead.objects.filter(stage=Stage.SQL).first() or Lead.objects.first()
    version = AgreementVersion.objects.order_by("number").first()
    campaign = Campaign.objects.order_by("pk").first()
    assert Team.objects.exists() and lead and version and campaign
    wide, tall = [], []
    for width in (390, 1300):
        for username, paths in PAGES.items():
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            log_in(page, server, username, landing=page_landing(username), password="smarketing-demo")
            for path in paths:
                path = path.format(lead=lead.pk, version=version.number, campaign=campaign.pk)
                page.goto(f"{server.url}{path}")
                page.wait_for_load_state()
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    wide.append(f"{username} {path} at {width} px: {scroll} px wide")
                header = page.evaluate(
                    "Math.round(document.querySelector('header.top').getBoundingClientRect().height)"
                )
                if width == 1300 and header > MENU_ONE_ROW:
                    tall.append(f"{username} {path}: the menu takes {header} px")
            page.context.close()
    assert not wide, wide
    assert not tall, tall


def page_landing(username: str) -> str:
    return "/reports/" if username.startswith("manager.") else "/"

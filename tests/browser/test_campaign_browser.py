"""A marketer plans "June Customer Seminar" on the campaign pages: a wrong end date is told
and saves nothing; the campaign is created with its channel, dates, budget, cost and
owner, found by the month it runs in, and its page shows its funnel and ROI. A rep reads
it, with no edit link, and is refused the edit page."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.utils import timezone

from leads import services
from smarketing.org.models import Campaign, CampaignChange, Channel
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import CampaignFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YEAR = timezone.localdate().year


def _date(page, label: str, iso: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(iso)
    field.press("Tab")  # the date picker reads what was typed when the field loses focus


def test_marketer_plans_the_june_seminar_and_a_rep_reads_it(browser, server, org, make_lead):
    org.marketer.first_name, org.marketer.last_name = "Mia", "Marketer"
    org.marketer.save()
    CampaignFactory(
        name="May newsletter",
        channel=Channel.EMAIL,
        starts_on=dt.date(YEAR, 5, 1),
        ends_on=dt.date(YEAR, 5, 31),
    )

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    log_in(page, server, "marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()

    # The end before the start: told next to the field, nothing saved, what was typed kept.
    page.get_by_label("Name", exact=True).fill("June Customer Seminar")
    page.get_by_label("Channel").select_option("event")
    _date(page, "Starts on", f"{YEAR}-06-18")
    _date(page, "Ends on", f"{YEAR}-06-17")
    page.get_by_label("Budget (planned spend)").fill("5000")
    page.get_by_label("Actual cost").fill("4000")
    page.get_by_label("Owner").select_option(label="Mia Marketer")
    page.get_by_role("button", name="Create campaign").click()
    assert (
        "A campaign cannot end before it starts"
        in page.locator("#id_ends_on-errors, .errorlist").first.inner_text()
    )
    assert page.get_by_label("Name", exact=True).input_value() == "June Customer Seminar"
    assert not Campaign.objects.filter(name="June Customer Seminar").exists()
    assert not CampaignChange.objects.exists()

    _date(page, "Ends on", f"{YEAR}-06-19")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(f"{server.url}/campaigns/*/")
    seminar = Campaign.objects.get(name="June Customer Seminar")
    assert (seminar.channel, seminar.starts_on, seminar.ends_on) == (
        "event",
        dt.date(YEAR, 6, 18),
        dt.date(YEAR, 6, 19),
    )
    assert (seminar.budget, seminar.cost, seminar.owner) == (
        Decimal("5000.00"),
        Decimal("4000.00"),
        org.marketer,
    )

    # Leads come from it; one becomes a customer worth 10,000.
    won, other = make_lead(campaign=seminar), make_lead(campaign=seminar)
    services.lead_qualify(lead_id=won.pk, actor=org.marketer)
    services.lead_accept(lead_id=won.pk, actor=org.rep)
    services.lead_win(lead_id=won.pk, actor=org.rep, amount="10000", closed_on=timezone.localdate())

    # Found by the month it runs in.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_label("Running in (month)").select_option(label=f"June {YEAR}")
    page.get_by_role("button", name="Find").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and "June Customer Seminar" in rows.first.inner_text()
    page.get_by_role("link", name="June Customer Seminar").click()

    # Its funnel and ROI, each count a link to its leads.
    funnel = page.locator("[data-funnel]")
    assert funnel.locator('[data-key="leads"] .n').inner_text() == "2"
    assert funnel.locator('[data-key="customers"] .n').inner_text() == "1"
    assert page.locator('td[data-key="roi"]').inner_text() == "150 %"  # (10,000 − 4,000) ÷ 4,000
    assert "4,000" in page.locator('td[data-key="cost_per_customer"]').inner_text()
    page.screenshot(path=str(ARTIFACTS / "campaign.png"), full_page=True)
    funnel.locator('[data-key="customers"] a').click()
    page.wait_for_url(f"{server.url}/leads/*")
    assert page.locator(f'a[href="/leads/{won.pk}/"]').count() >= 1
    assert page.locator(f'a[href="/leads/{other.pk}/"]').count() == 0
    page.context.close()

    # A rep reads it: no edit link, and the edit page is refused.
    rep = browser.new_page(viewport={"width": 390, "height": 900})
    log_in(rep, server, "rep")
    rep.goto(f"{server.url}/campaigns/{seminar.pk}/")
    assert rep.get_by_role("heading", name="June Customer Seminar").is_visible()
    assert rep.get_by_role("link", name="Edit campaign").count() == 0
    response = rep.goto(f"{server.url}/campaigns/{seminar.pk}/edit/")
    assert response.status == 403
    assert "Only marketing can create or edit campaigns." in rep.content()
    assert Campaign.objects.get(pk=seminar.pk).version == 1
    rep.context.close()
